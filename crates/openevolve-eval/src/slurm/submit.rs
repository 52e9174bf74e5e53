//! Staging a candidate in the shared directory and submitting its job; the
//! guard that cancels a job whose evaluation was dropped, and the record a
//! later controller finds the job by.

use std::path::{Path, PathBuf};

use super::job::{JobSpec, result_file};
use super::{SlurmExecutor, SlurmPrepareError, io, scheduler};
use crate::evaluation::{Evaluation, FailureReason};

impl SlurmExecutor {
    /// Writes the candidate, spec and job script into the job directory.
    pub(super) fn stage(&self, dir: &Path, library: &Path, source: &str) -> Result<(), String> {
        // For people looking into a job: what it evaluates.
        write_atomic(&dir.join("source.rs"), source)?;
        let candidate = dir.join(format!("candidate{}", std::env::consts::DLL_SUFFIX));
        copy_if_changed(library, &candidate).map_err(|e| e.to_string())?;
        let spec = JobSpec {
            worker: self.worker.clone(),
            candidate,
            stages: self.host.stages().to_vec(),
            config: self.config.clone(),
            fitness_excludes: self.config.fitness_excludes.clone(),
        };
        let spec_path = dir.join("spec.json");
        write_atomic(&spec_path, &serde_json::to_string_pretty(&spec).expect("specs serialize"))?;
        // exec: the runner is the job's only process, so Slurm's signals
        // (time limit, scancel) reach it directly.
        let script = format!(
            "#!/bin/sh\n# An openevolve evaluation; see {}/events.log.\nexec '{}' '{}'\n",
            self.run_dir.display(),
            self.runner.display(),
            spec_path.display()
        );
        write_atomic(&dir.join("job.sh"), &script)
    }

    pub(super) fn sbatch_flags(&self, dir: &Path, hash: &str) -> Vec<String> {
        let s = &self.slurm;
        let mut flags = vec![
            format!("--job-name={}-{}", s.job_name_prefix, &hash[..12]),
            format!("--output={}/slurm-%j.out", dir.display()),
            format!("--chdir={}", dir.display()),
            // The submitter's environment (API keys) stays here.
            "--export=NONE".into(),
            // Requeues are ours to count (max_requeues), under new job ids.
            "--no-requeue".into(),
            "--ntasks=1".into(),
            format!("--cpus-per-task={}", s.cpus_per_task),
            format!("--time={}", self.time_limit()),
        ];
        let optional = [
            ("--partition", s.partition.clone()),
            ("--account", s.account.clone()),
            ("--mem", self.memory()),
            ("--gres", s.gres.clone()),
        ];
        flags.extend(optional.into_iter().filter_map(|(flag, v)| v.map(|v| format!("{flag}={v}"))));
        flags.extend(s.extra_args.iter().cloned());
        flags
    }

    /// `time_limit`, else every stage at its full timeout and retries, plus
    /// a minute for start-up, in whole minutes (Slurm's unit).
    pub(super) fn time_limit(&self) -> String {
        if let Some(t) = &self.slurm.time_limit {
            return t.clone();
        }
        let stages = if self.config.cascade_evaluation { self.host.stages().len().max(1) } else { 1 };
        let secs = self.config.timeout * stages as f64 * f64::from(self.config.max_retries + 1) + 60.0;
        format!("{}", (secs / 60.0).ceil() as u64)
    }

    /// `memory`, else `memory_limit_mb` plus room for the runner.
    pub(super) fn memory(&self) -> Option<String> {
        self.slurm.memory.clone().or_else(|| self.config.memory_limit_mb.map(|mb| format!("{}M", mb + 256)))
    }

    pub(super) async fn submit(&self, dir: &Path, hash: &str, attempt: u32) -> Result<JobGuard, String> {
        let job = scheduler::sbatch(&self.sbatch_flags(dir, hash), &dir.join("job.sh"))
            .await
            .map_err(|e| format!("cannot submit the evaluation job: {e}"))?;
        // Recorded before anything else can fail, so a later controller
        // finds the job. Markers of the previous job no longer apply.
        let _ = std::fs::remove_file(dir.join("abandoned"));
        let _ = std::fs::remove_file(dir.join("reported"));
        let guard = JobGuard { job, dir: dir.to_path_buf(), armed: true };
        write_atomic(&dir.join("job"), &format!("{job} {attempt}\n"))?;
        self.event(&format!("submitted job {job} for {hash} (attempt {attempt})"));
        Ok(guard)
    }
}

/// Cancels the job on drop while armed: an evaluation dropped before its
/// job finished (Ctrl-C) leaves no job behind. Armed only for jobs this
/// executor submitted.
pub(super) struct JobGuard {
    pub(super) job: u64,
    pub(super) dir: PathBuf,
    pub(super) armed: bool,
}

impl JobGuard {
    pub(super) fn adopted(job: u64, dir: PathBuf) -> Self {
        Self { job, dir, armed: false }
    }
}

impl Drop for JobGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // Marked first: a later controller must resubmit, not report the
        // cancellation as the candidate's result.
        let _ = write_atomic(&self.dir.join("abandoned"), &format!("{}\n", self.job));
        let _ = scheduler::scancel_blocking(self.job);
    }
}

/// `<job id> <attempt>` and the markers of one job directory.
pub(super) struct JobRecord {
    pub(super) job: u64,
    pub(super) attempt: u32,
    pub(super) abandoned: bool,
    pub(super) reported: bool,
}

impl JobRecord {
    pub(super) fn load(dir: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(dir.join("job")).ok()?;
        let mut parts = text.split_whitespace();
        let job: u64 = parts.next()?.parse().ok()?;
        let attempt = parts.next().and_then(|a| a.parse().ok()).unwrap_or(1);
        let names =
            |file: &str| std::fs::read_to_string(dir.join(file)).is_ok_and(|t| t.trim() == job.to_string());
        Some(Self { job, attempt, abandoned: names("abandoned"), reported: names("reported") })
    }
}

pub(super) fn read_result(dir: &Path, job: u64) -> Option<Evaluation> {
    let text = std::fs::read_to_string(result_file(dir, &job.to_string())).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|e| {
        Evaluation::failed(FailureReason::WorkerFailed, format!("unreadable result of Slurm job {job}: {e}"))
    }))
}

/// Copies `from` to `to` unless `to` already has the same bytes; through a
/// temporary file, so a node never sees half a binary.
pub(super) fn copy_if_changed(from: &Path, to: &Path) -> Result<(), SlurmPrepareError> {
    let new = std::fs::read(from).map_err(io(from))?;
    if std::fs::read(to).is_ok_and(|old| old == new) {
        return Ok(());
    }
    let tmp = to.with_extension(format!("tmp{}", std::process::id()));
    std::fs::copy(from, &tmp).map_err(io(&tmp))?;
    std::fs::rename(&tmp, to).map_err(io(to))
}

pub(super) fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
