//! The Slurm executor: each evaluation is one `sbatch` job.
//!
//! The controller builds the candidate here (as the local host does), stages
//! it in the shared directory and submits a batch job that runs
//! `openevolve-slurm-job` ([`job`]) on a compute node; that runner starts
//! the evaluator worker with the local host's containment and writes the
//! [`Evaluation`] as JSON. sbatch rather than srun inside an allocation:
//! every evaluation waits in the queue on its own, so a run needs no
//! long-held allocation and the scheduler shares the cluster as usual.
//!
//! Shared directory layout (`evaluator.slurm.shared_dir`):
//!
//! ```text
//! <shared>/<run key>/              one per run (output directory + evaluation inputs)
//!   bin/evaluator                  the evaluator worker executable
//!   bin/openevolve-slurm-job       the job runner
//!   events.log                     submissions, requeues, cancellations, reuses
//!   <source hash>/                 one per candidate source
//!     source.rs candidate.so spec.json job.sh
//!     job                          "<job id> <attempt>" of the current job
//!     slurm-<job id>.out           the job's own stdout/stderr
//!     result-<job id>.json         written by the runner when it finishes
//!     reported                     the job id whose result was handed out
//!     abandoned                    the job id this executor cancelled on drop
//! ```
//!
//! Outcomes: a result file is the evaluation (completed, including the
//! worker's own timeout and memory limit). Without one, the job's Slurm
//! state decides: TIMEOUT and DEADLINE become `timeout`; OUT_OF_MEMORY, or
//! FAILED where slurmstepd reports the memory limit exceeded, become
//! `memory_limit`; CANCELLED (from outside this run) and FAILED become
//! `worker_failed` with Slurm's state in the message; NODE_FAIL,
//! PREEMPTED, BOOT_FAIL, and a job Slurm no longer knows without a result
//! (lost) are resubmitted up to `max_requeues` times, then fail.
//!
//! Containment: the runner starts the worker exactly as the local host
//! does (own session, RLIMIT_AS/CPU, no core files, Landlock, wall-clock
//! timeout, bounded output, leftover-process sweep) with a clean
//! environment plus only Slurm's device selection (`CUDA_VISIBLE_DEVICES`
//! and the like, for `--gres`). Jobs are submitted with `--export=NONE`
//! and sbatch itself sees only `PATH`, `HOME`, `USER`, `LANG` and Slurm's
//! own variables, so no secret of the controller reaches the cluster.
//! Memory: `memory_limit_mb` (RLIMIT_AS) fails an allocation inside the
//! job on any cluster; `--mem` is Slurm's, enforced by cgroups
//! (OUT_OF_MEMORY) or by sampling (`OverMemoryKill`: FAILED, with the
//! limit named in the job's output); both become `memory_limit`.
//!
//! Polling: one `squeue` call per interval covers every job in flight (a
//! finished or unlisted job is then asked about alone); the result file is
//! looked for on every poll, so a job's end is seen without the scheduler.
//!
//! Resume: a new executor for the same run finds `<source hash>/job`; a
//! result of that job not yet reported is used (logged as reused in
//! `events.log`), a job still queued or running is awaited, not
//! resubmitted. A result is handed out once: after that, the same source
//! is evaluated afresh by a new job.
//!
//! Cancellation: dropping an evaluation (the controller does on Ctrl-C)
//! runs `scancel <id>` for the job this executor submitted for it, and
//! nothing else; a job adopted from an earlier controller is left alone.

pub mod job;
mod scheduler;
mod submit;
mod watch;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

pub use job::{JobError, job_main};
pub use scheduler::SchedulerError;

use crate::PrepareError;
use crate::config::{EvaluatorConfig, ExecutorKind, SlurmConfig};
use crate::deps::hex;
use crate::evaluation::{Evaluation, FailureReason};
use crate::executor::{BoxFuture, Executor};
use crate::host::EvaluatorHost;
use crate::problem::ProblemFiles;
use submit::{JobGuard, JobRecord, copy_if_changed};
use watch::Settled;
use watch::StatePoller;

/// How long Slurm's commands may keep failing before an evaluation gives
/// its job up.
const SCHEDULER_PATIENCE: Duration = Duration::from_secs(300);

/// The job runner's executable name.
pub const JOB_RUNNER: &str = "openevolve-slurm-job";

/// Why a Slurm executor could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum SlurmPrepareError {
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    #[error("invalid evaluator config: {0}")]
    Config(String),
    #[error(
        "cannot find the job runner `{JOB_RUNNER}` (beside {0} or on PATH); set evaluator.slurm.job_runner"
    )]
    NoJobRunner(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the Slurm controller does not answer: {0}")]
    Scheduler(#[from] SchedulerError),
}

fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SlurmPrepareError {
    let path = path.into();
    move |source| SlurmPrepareError::Io { path, source }
}

/// Evaluates candidates as Slurm jobs. Implements [`Executor`].
pub struct SlurmExecutor {
    /// Builds candidates and the evaluator, locally and cached.
    host: EvaluatorHost,
    config: EvaluatorConfig,
    slurm: SlurmConfig,
    run_dir: PathBuf,
    worker: PathBuf,
    runner: PathBuf,
    /// Jobs in flight, bounded by `parallel_evaluations`.
    slots: Semaphore,
    /// One evaluation per source at a time: a second waits and then sees
    /// the first one's job instead of submitting another.
    sources: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    states: StatePoller,
}

impl SlurmExecutor {
    /// Builds the evaluator and the candidates' dependencies (locally, as
    /// the local host does), stages the evaluator and the job runner in
    /// `<shared_dir>/<run key>/bin/`, and checks that Slurm answers.
    /// `scope` names the run (its output directory): jobs of the same
    /// scope and evaluation inputs are found again on resume.
    pub async fn prepare(
        problem: &ProblemFiles,
        config: &EvaluatorConfig,
        cache_dir: &Path,
        scope: &str,
    ) -> Result<Self, SlurmPrepareError> {
        let mut problems = config.validate();
        if config.executor != ExecutorKind::Slurm {
            problems.push(("executor".into(), "must be `slurm` for the Slurm executor".into()));
        }
        if !problems.is_empty() {
            let text: Vec<String> = problems.iter().map(|(k, m)| format!("evaluator.{k} {m}")).collect();
            return Err(SlurmPrepareError::Config(text.join("; ")));
        }
        let slurm = config.slurm.clone();
        let shared = PathBuf::from(slurm.shared_dir.clone().expect("validated"));
        let runner_src = find_job_runner(slurm.job_runner.as_deref())?;
        scheduler::ping().await?;

        let host = EvaluatorHost::prepare(problem, config, cache_dir).await?;
        let worker_src = host.worker().to_path_buf();

        let key = run_key(scope, &worker_src, config, host.stages())?;
        let run_dir = shared.join(format!("run-{key}"));
        let bin = run_dir.join("bin");
        std::fs::create_dir_all(&bin).map_err(io(&bin))?;
        let worker = bin.join("evaluator");
        let runner = bin.join(JOB_RUNNER);
        copy_if_changed(&worker_src, &worker)?;
        copy_if_changed(&runner_src, &runner)?;
        Ok(Self {
            slots: Semaphore::new(config.parallel_evaluations),
            host,
            config: config.clone(),
            slurm,
            run_dir,
            worker,
            runner,
            sources: Mutex::new(HashMap::new()),
            states: StatePoller::default(),
        })
    }

    fn poll(&self) -> Duration {
        Duration::from_secs_f64(self.slurm.poll_interval)
    }

    /// `<shared_dir>/run-<key>`: this run's jobs.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// The job directory of a source: `<run dir>/<source hash>`.
    pub fn job_dir(&self, source: &str) -> PathBuf {
        self.run_dir.join(source_hash(source))
    }

    async fn evaluate_source(self: Arc<Self>, source: String) -> Evaluation {
        let hash = source_hash(&source);
        let lock = self.sources.lock().expect("not poisoned").entry(hash.clone()).or_default().clone();
        let _one_at_a_time = lock.lock().await;
        let dir = self.run_dir.join(&hash);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return Evaluation::failed(
                FailureReason::WorkerFailed,
                format!("cannot create {}: {e}", dir.display()),
            );
        }
        let record = JobRecord::load(&dir);

        // A result an earlier controller never handed out: use it.
        if let Some(r) = &record
            && let Some(evaluation) = self.unreported_result(&dir, r.job)
        {
            self.event(&format!("reused job {} for {hash}: it finished while no controller watched", r.job));
            return self.report(&dir, r.job, evaluation);
        }
        let waiting = std::time::Instant::now();
        let _slot = self.slots.acquire().await.expect("never closed");
        let waited = waiting.elapsed();
        // A job an earlier controller submitted: await it while it runs; use
        // how it ended if it ended while no controller watched.
        if let Some(r) = record.filter(|r| !r.abandoned && !r.reported)
            && let Ok(Some(state)) = self.states.state(r.job, self.poll()).await
        {
            if !state.is_finished() {
                self.event(&format!("awaiting job {} for {hash}, submitted by an earlier controller", r.job));
                let guard = JobGuard::adopted(r.job, dir.clone());
                return self.watch(&dir, guard, r.attempt, &hash).await;
            }
            if let Some(Settled::Done(evaluation)) = self.finished_without_result(&dir, r.job, &state).await {
                self.event(&format!(
                    "reused job {} for {hash}: it ended {} while no controller watched",
                    r.job, state.state
                ));
                return self.report(&dir, r.job, evaluation);
            }
        }

        let built = match self.host.build_candidate(&source).await {
            Ok(built) => built,
            Err(failure) => return crate::host::build_failed(failure),
        };
        if let Err(e) = self.stage(&dir, &built.library, &source) {
            return Evaluation::failed(FailureReason::WorkerFailed, e);
        }
        let guard = match self.submit(&dir, &hash, 1).await {
            Ok(guard) => guard,
            Err(e) => return Evaluation::failed(FailureReason::WorkerFailed, e),
        };
        let mut evaluation = self.watch(&dir, guard, 1, &hash).await;
        evaluation.timings.build = Some(built.build_time);
        evaluation.timings.slot_wait = waited;
        evaluation
    }

    /// Appends a line to `events.log` (best effort: it is for people).
    fn event(&self, line: &str) {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if let Ok(mut f) =
            std::fs::OpenOptions::new().create(true).append(true).open(self.run_dir.join("events.log"))
        {
            let _ = writeln!(f, "{stamp} pid {} {line}", std::process::id());
        }
    }
}

impl Executor for SlurmExecutor {
    fn evaluate(self: Arc<Self>, source: String) -> BoxFuture<'static, Evaluation> {
        Box::pin(self.evaluate_source(source))
    }

    fn candidate_crates(&self) -> Option<Vec<String>> {
        Some(self.host.candidate_crates())
    }
}

fn source_hash(source: &str) -> String {
    hex(&Sha256::digest(source.as_bytes())[..16])
}

/// What makes two runs' results interchangeable: the run's scope, the
/// evaluator build, its stages and the evaluation settings.
fn run_key(
    scope: &str,
    worker: &Path,
    config: &EvaluatorConfig,
    stages: &[u8],
) -> Result<String, SlurmPrepareError> {
    let mut h = Sha256::new();
    h.update(scope.as_bytes());
    h.update([0]);
    h.update(std::fs::read(worker).map_err(io(worker))?);
    h.update(stages);
    h.update(config.fitness_excludes.join("\n").as_bytes());
    // How we talk to Slurm does not change results; resources do.
    let mut inputs = config.clone();
    let defaults = SlurmConfig::default();
    inputs.slurm.poll_interval = defaults.poll_interval;
    inputs.slurm.result_wait = defaults.result_wait;
    inputs.slurm.max_requeues = defaults.max_requeues;
    inputs.slurm.job_runner = None;
    inputs.parallel_evaluations = 1;
    inputs.parallel_builds = 1;
    h.update(serde_json::to_string(&inputs).expect("configs serialize").as_bytes());
    Ok(hex(&h.finalize()[..8]))
}

fn find_job_runner(configured: Option<&str>) -> Result<PathBuf, SlurmPrepareError> {
    if let Some(path) = configured {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(SlurmPrepareError::NoJobRunner(path.display().to_string()))
        };
    }
    let exe = std::env::current_exe().map_err(io("the running executable"))?;
    let beside = exe.with_file_name(JOB_RUNNER);
    if beside.is_file() {
        return Ok(beside);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(JOB_RUNNER))
        .find(|p| p.is_file())
        .ok_or_else(|| SlurmPrepareError::NoJobRunner(exe.display().to_string()))
}
