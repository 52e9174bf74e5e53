//! The compute-node side of a Slurm evaluation: `openevolve-slurm-job
//! <spec.json>` runs the evaluator worker on the staged candidate with the
//! same containment as the local host (its own session, rlimits, Landlock,
//! a clean environment, the wall-clock timeout, bounded output), runs the
//! cascade, and writes the [`Evaluation`] to `result-<job id>.json`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cascade::{StageRun, run_cascade, run_stage_in_worker};
use crate::config::EvaluatorConfig;
use crate::evaluation::{Evaluation, FailureReason};

/// What one job evaluates; written by the controller as `spec.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct JobSpec {
    /// The evaluator worker executable (staged in the shared directory).
    pub worker: PathBuf,
    /// The candidate plugin (staged beside this spec).
    pub candidate: PathBuf,
    /// The evaluator's cascade stages.
    pub stages: Vec<u8>,
    pub config: EvaluatorConfig,
    /// `config.fitness_excludes`, which is no config key and so not
    /// serialized with it.
    #[serde(default)]
    pub fitness_excludes: Vec<String>,
}

/// Slurm's GPU and accelerator selection: the worker's clean environment
/// keeps these, so an evaluation uses the devices its `--gres` granted.
const DEVICE_VARS: &[&str] = &[
    "CUDA_VISIBLE_DEVICES",
    "ROCR_VISIBLE_DEVICES",
    "HIP_VISIBLE_DEVICES",
    "GPU_DEVICE_ORDINAL",
    "ZE_AFFINITY_MASK",
];

/// The result file of one job.
pub(crate) fn result_file(dir: &Path, job: &str) -> PathBuf {
    dir.join(format!("result-{job}.json"))
}

/// Errors of the job runner itself (not of the candidate).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("usage: openevolve-slurm-job <spec.json>")]
    Usage,
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a job spec: {source}")]
    Spec { path: PathBuf, source: serde_json::Error },
}

/// `main` of `openevolve-slurm-job`: evaluates the spec named by the first
/// argument and writes the result beside it. The exit status is the
/// runner's own (a failed candidate is a result, not an error).
pub fn job_main() -> Result<(), JobError> {
    let mut args = std::env::args_os().skip(1);
    let (Some(spec_path), None) = (args.next(), args.next()) else { return Err(JobError::Usage) };
    let spec_path = PathBuf::from(spec_path);
    let text = std::fs::read_to_string(&spec_path)
        .map_err(|source| JobError::Io { path: spec_path.clone(), source })?;
    let spec: JobSpec =
        serde_json::from_str(&text).map_err(|source| JobError::Spec { path: spec_path.clone(), source })?;
    let dir = spec_path.parent().unwrap_or(Path::new(".")).to_path_buf();
    // Run by hand (not by Slurm), the result is `result-manual.json`.
    let job = std::env::var("SLURM_JOB_ID").unwrap_or_else(|_| "manual".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| JobError::Io { path: "tokio runtime".into(), source })?;
    let evaluation = runtime.block_on(evaluate(&spec, &dir.join(format!("scratch-{job}"))));
    let json = serde_json::to_string(&evaluation).expect("evaluations serialize");
    let path = result_file(&dir, &job);
    // Written whole, then renamed: the controller never reads half a result.
    let tmp = dir.join(format!(".result-{job}.tmp"));
    std::fs::write(&tmp, json).map_err(|source| JobError::Io { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, &path).map_err(|source| JobError::Io { path, source })?;
    Ok(())
}

/// The host's evaluation (the shared cascade, see `crate::cascade`), run on
/// the node.
async fn evaluate(spec: &JobSpec, scratch: &Path) -> Evaluation {
    let config = &EvaluatorConfig { fitness_excludes: spec.fitness_excludes.clone(), ..spec.config.clone() };
    if let Err(e) = std::fs::create_dir_all(scratch) {
        return Evaluation::failed(
            FailureReason::WorkerFailed,
            format!("cannot create {}: {e}", scratch.display()),
        );
    }
    let evaluation = run_cascade(config, &spec.stages, |stage| run_stage(spec, stage, scratch)).await;
    let _ = std::fs::remove_dir_all(scratch);
    evaluation
}

async fn run_stage(spec: &JobSpec, stage: u8, scratch: &Path) -> StageRun {
    let config = &spec.config;
    let mut args: Vec<OsString> = Vec::new();
    // run_worker hands the worker a clean environment; `env NAME=value`
    // adds back only the device selection Slurm made for this job.
    let devices: Vec<OsString> = DEVICE_VARS
        .iter()
        .filter_map(|k| std::env::var_os(k).map(|v| (k, v)))
        .map(|(k, v)| {
            let mut a = OsString::from(format!("{k}="));
            a.push(v);
            a
        })
        .collect();
    let program: PathBuf = if devices.is_empty() {
        spec.worker.clone()
    } else {
        args.extend(devices);
        args.push(spec.worker.clone().into_os_string());
        PathBuf::from("env")
    };
    run_stage_in_worker(&program, args, &spec.candidate, stage, config, scratch).await
}
