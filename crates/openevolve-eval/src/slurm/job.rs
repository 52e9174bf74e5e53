//! The compute-node side of a Slurm evaluation: `openevolve-slurm-job
//! <spec.json>` runs the evaluator worker on the staged candidate with the
//! same containment as the local host (its own session, rlimits, Landlock,
//! a clean environment, the wall-clock timeout, bounded output), runs the
//! cascade, and writes the [`Evaluation`] to `result-<job id>.json`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::classify::{StageReport, classify};
use crate::config::EvaluatorConfig;
use crate::diagnostics::head;
use crate::evaluation::{Evaluation, Failure, FailureReason, score_of};
use crate::worker::{WorkerLimits, run_worker};

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

/// The host's evaluation loop (see `EvaluatorHost::evaluate`), run on the
/// node: the cascade stages in order while the score stays at or above the
/// thresholds; evaluator errors retried up to `max_retries`.
async fn evaluate(spec: &JobSpec, scratch: &Path) -> Evaluation {
    let start = Instant::now();
    let config = &spec.config;
    if let Err(e) = std::fs::create_dir_all(scratch) {
        return Evaluation::failed(
            FailureReason::WorkerFailed,
            format!("cannot create {}: {e}", scratch.display()),
        );
    }
    let cascade = config.cascade_evaluation && !spec.stages.is_empty();
    let plan: Vec<u8> = if cascade { spec.stages.clone() } else { vec![0] };
    let mut evaluation = Evaluation::default();
    for (i, &stage) in plan.iter().enumerate() {
        if cascade {
            evaluation.stage_reached = Some(stage);
        }
        let mut attempts = 0;
        let outcome = loop {
            attempts += 1;
            let outcome = run_stage(spec, stage, scratch, &mut evaluation).await;
            let retry = matches!(&outcome, Err(f) if f.reason == FailureReason::EvaluatorError);
            if !retry || attempts > config.max_retries {
                break outcome;
            }
        };
        evaluation.attempts = attempts;
        match outcome {
            Ok((metrics, artifacts)) => {
                evaluation.metrics.extend(metrics);
                evaluation.artifacts.extend(artifacts);
            }
            Err(failure) => {
                evaluation.failure = Some(failure);
                break;
            }
        }
        let below = match (config.cascade_thresholds.get(i), score_of(&evaluation.metrics)) {
            (Some(threshold), Some(score)) => score < *threshold,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if cascade && below {
            break;
        }
    }
    let _ = std::fs::remove_dir_all(scratch);
    evaluation.timings.evaluate = start.elapsed();
    bound_artifacts(config, &mut evaluation.artifacts);
    evaluation
}

async fn run_stage(
    spec: &JobSpec,
    stage: u8,
    scratch: &Path,
    evaluation: &mut Evaluation,
) -> Result<StageReport, Failure> {
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
    args.extend([
        "run".into(),
        spec.candidate.clone().into_os_string(),
        stage.to_string().into(),
        "{result}".into(),
    ]);
    if let Some(a) = &config.evaluator_args {
        args.push(serde_json::to_string(a).expect("JSON values serialize").into());
    }
    let limits = WorkerLimits {
        timeout: Duration::from_secs_f64(config.timeout),
        memory_mb: config.memory_limit_mb,
        cpu_seconds: config.cpu_limit.map(|c| c.ceil() as u64),
        max_output_bytes: config.max_output_bytes as usize,
        allow_network: config.allow_network,
    };
    let run = run_worker(&program, &args, &limits, scratch).await.map_err(|e| Failure {
        reason: FailureReason::WorkerFailed,
        message: format!("cannot run the evaluator worker: {e}"),
    })?;
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        if !text.is_empty() {
            evaluation.artifacts.insert(name.into(), text.clone());
        }
    }
    classify(&run, config.timeout, limits.max_output_bytes, limits.cpu_seconds.is_some())
}

/// As the host does: no artifacts when disabled, else each cut to a fair
/// share of `max_artifact_storage`.
fn bound_artifacts(config: &EvaluatorConfig, artifacts: &mut BTreeMap<String, String>) {
    if !config.enable_artifacts {
        artifacts.clear();
        return;
    }
    let share = (config.max_artifact_storage as usize) / artifacts.len().max(1);
    for text in artifacts.values_mut() {
        if text.len() > share {
            *text = head(text, share);
        }
    }
}
