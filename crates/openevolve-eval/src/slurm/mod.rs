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

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

pub use job::{JobError, job_main};
pub use scheduler::SchedulerError;

use crate::config::{EvaluatorConfig, ExecutorKind, SlurmConfig};
use crate::deps::hex;
use crate::evaluation::{Evaluation, FailureReason};
use crate::executor::{BoxFuture, Executor};
use crate::host::EvaluatorHost;
use crate::problem::ProblemFiles;
use crate::PrepareError;
use job::{JobSpec, result_file};
use scheduler::JobState;

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

/// Answers "what state is job N in" for every evaluation from one shared
/// `squeue` call per poll interval; a job squeue does not list (purged, or
/// an older Slurm) is asked about alone (scontrol, then sacct).
#[derive(Default)]
struct StatePoller {
    inner: tokio::sync::Mutex<PollCache>,
}

#[derive(Default)]
struct PollCache {
    fetched: Option<Instant>,
    states: HashMap<u64, JobState>,
    /// Jobs asked about recently: the next squeue call covers them all.
    watched: HashMap<u64, Instant>,
}

impl StatePoller {
    async fn state(&self, job: u64, max_age: Duration) -> Result<Option<JobState>, SchedulerError> {
        let mut cache = self.inner.lock().await;
        let now = Instant::now();
        cache.watched.insert(job, now);
        let fresh = cache.fetched.is_some_and(|t| now.duration_since(t) < max_age);
        if !(fresh && cache.states.contains_key(&job)) {
            cache
                .watched
                .retain(|_, asked| now.duration_since(*asked) < max_age * 10 + Duration::from_secs(60));
            let jobs: Vec<u64> = cache.watched.keys().copied().collect();
            // A failed squeue leaves every job to the single-job path.
            cache.states = scheduler::job_states(&jobs).await.unwrap_or_default();
            cache.fetched = Some(Instant::now());
        }
        match cache.states.get(&job) {
            Some(state) if !state.is_finished() => Ok(Some(state.clone())),
            // Finished, or not listed: the single-job answer has the exit
            // code and covers purged jobs.
            _ => {
                drop(cache);
                scheduler::job_state(job).await
            }
        }
    }
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
        let _slot = self.slots.acquire().await.expect("never closed");
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
        evaluation
    }

    /// Writes the candidate, spec and job script into the job directory.
    fn stage(&self, dir: &Path, library: &Path, source: &str) -> Result<(), String> {
        // For people looking into a job: what it evaluates.
        write_atomic(&dir.join("source.rs"), source)?;
        let candidate = dir.join(format!("candidate{}", std::env::consts::DLL_SUFFIX));
        copy_if_changed(library, &candidate).map_err(|e| e.to_string())?;
        let spec = JobSpec {
            worker: self.worker.clone(),
            candidate,
            stages: self.host.stages().to_vec(),
            config: self.config.clone(),
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

    fn sbatch_flags(&self, dir: &Path, hash: &str) -> Vec<String> {
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
    fn time_limit(&self) -> String {
        if let Some(t) = &self.slurm.time_limit {
            return t.clone();
        }
        let stages = if self.config.cascade_evaluation { self.host.stages().len().max(1) } else { 1 };
        let secs = self.config.timeout * stages as f64 * f64::from(self.config.max_retries + 1) + 60.0;
        format!("{}", (secs / 60.0).ceil() as u64)
    }

    /// `memory`, else `memory_limit_mb` plus room for the runner.
    fn memory(&self) -> Option<String> {
        self.slurm.memory.clone().or_else(|| self.config.memory_limit_mb.map(|mb| format!("{}M", mb + 256)))
    }

    async fn submit(&self, dir: &Path, hash: &str, attempt: u32) -> Result<JobGuard, String> {
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

    /// Waits for the job's result or end; resubmits lost jobs (with the
    /// staged job script) while attempts remain.
    async fn watch(&self, dir: &Path, mut guard: JobGuard, mut attempt: u32, hash: &str) -> Evaluation {
        let poll = self.poll();
        let mut failing_since: Option<Instant> = None;
        loop {
            let job = guard.job;
            if let Some(evaluation) = read_result(dir, job) {
                guard.armed = false;
                return self.report(dir, job, evaluation);
            }
            let state = match self.states.state(job, poll).await {
                Ok(state) => state,
                Err(e) => {
                    // The controller may be restarting: keep looking a while.
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > SCHEDULER_PATIENCE {
                        guard.armed = false;
                        return Evaluation::failed(
                            FailureReason::WorkerFailed,
                            format!("lost track of Slurm job {job}: {e}"),
                        );
                    }
                    tokio::time::sleep(poll).await;
                    continue;
                }
            };
            failing_since = None;
            let settled = match &state {
                Some(s) if !s.is_finished() => {
                    tokio::time::sleep(poll).await;
                    continue;
                }
                Some(s) => self.finished_without_result(dir, job, s).await,
                None => match self.wait_for_result(dir, job).await {
                    Some(evaluation) => Some(Settled::Done(evaluation)),
                    None => Some(Settled::Lost("Slurm no longer knows the job and it left no result".into())),
                },
            };
            guard.armed = false;
            match settled.expect("a finished job settles") {
                Settled::Done(evaluation) => return self.report(dir, job, evaluation),
                Settled::Lost(why) => {
                    if attempt > self.slurm.max_requeues {
                        self.event(&format!("job {job} lost ({why}); no attempts left"));
                        let _ = write_atomic(&dir.join("reported"), &format!("{job}\n"));
                        return Evaluation::failed(
                            FailureReason::WorkerFailed,
                            format!("Slurm job {job} was lost ({why}) after {attempt} attempt(s)"),
                        );
                    }
                    self.event(&format!("job {job} lost ({why}); resubmitting"));
                    attempt += 1;
                    guard = match self.submit(dir, hash, attempt).await {
                        Ok(g) => g,
                        Err(e) => return Evaluation::failed(FailureReason::WorkerFailed, e),
                    };
                }
            }
        }
    }

    /// What a finished job without a result file (yet) means. `None` only
    /// for a job that is not finished.
    async fn finished_without_result(&self, dir: &Path, job: u64, state: &JobState) -> Option<Settled> {
        if !state.is_finished() {
            return None;
        }
        if let Some(evaluation) = self.wait_for_result(dir, job).await {
            return Some(Settled::Done(evaluation));
        }
        let log = std::fs::read_to_string(dir.join(format!("slurm-{job}.out"))).unwrap_or_default();
        let s = &state.state;
        let failed = |reason, message: String| Some(Settled::Done(Evaluation::failed(reason, message)));
        let memory_exceeded =
            log.contains("exceeded memory limit") || log.contains("Exceeded job memory limit");
        match s.as_str() {
            "TIMEOUT" | "DEADLINE" => failed(
                FailureReason::Timeout,
                format!(
                    "Slurm job {job} ran past its time limit (--time={}) and was killed ({s})",
                    self.time_limit()
                ),
            ),
            "OUT_OF_MEMORY" => failed(
                FailureReason::MemoryLimit,
                format!(
                    "Slurm job {job} ran out of memory ({s}, --mem={})",
                    self.memory().unwrap_or_default()
                ),
            ),
            "FAILED" if memory_exceeded => failed(
                FailureReason::MemoryLimit,
                format!(
                    "Slurm killed job {job} for exceeding its memory (--mem={})",
                    self.memory().unwrap_or_else(|| "the partition default".into())
                ),
            ),
            "CANCELLED" => failed(
                FailureReason::WorkerFailed,
                format!("Slurm job {job} was cancelled outside this run (scancel or an administrator; {s})"),
            ),
            "NODE_FAIL" | "PREEMPTED" | "BOOT_FAIL" => {
                Some(Settled::Lost(format!("{s}, reason {}", state.reason)))
            }
            _ => failed(
                FailureReason::WorkerFailed,
                format!(
                    "Slurm job {job} ended {s} (exit code {}, reason {}) without a result: {}",
                    state.exit_code,
                    state.reason,
                    crate::diagnostics::tail(log.trim(), 1000)
                ),
            ),
        }
    }

    /// The result file, allowing `result_wait` for the shared file system
    /// to show it.
    async fn wait_for_result(&self, dir: &Path, job: u64) -> Option<Evaluation> {
        let deadline = Instant::now() + Duration::from_secs_f64(self.slurm.result_wait);
        let poll = Duration::from_secs_f64(self.slurm.poll_interval.min(1.0));
        loop {
            if let Some(e) = read_result(dir, job) {
                return Some(e);
            }
            // A job that wrote nothing: only a completed runner should have.
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(poll).await;
        }
    }

    fn unreported_result(&self, dir: &Path, job: u64) -> Option<Evaluation> {
        let reported = std::fs::read_to_string(dir.join("reported")).ok();
        if reported.is_some_and(|r| r.trim() == job.to_string()) {
            return None;
        }
        read_result(dir, job)
    }

    /// Marks the job's result as handed out, then hands it out.
    fn report(&self, dir: &Path, job: u64, evaluation: Evaluation) -> Evaluation {
        let _ = write_atomic(&dir.join("reported"), &format!("{job}\n"));
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
}

/// How a finished job settles.
enum Settled {
    Done(Evaluation),
    /// Worth another attempt (node failure, preemption, lost).
    Lost(String),
}

/// Cancels the job on drop while armed: an evaluation dropped before its
/// job finished (Ctrl-C) leaves no job behind. Armed only for jobs this
/// executor submitted.
struct JobGuard {
    job: u64,
    dir: PathBuf,
    armed: bool,
}

impl JobGuard {
    fn adopted(job: u64, dir: PathBuf) -> Self {
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
struct JobRecord {
    job: u64,
    attempt: u32,
    abandoned: bool,
    reported: bool,
}

impl JobRecord {
    fn load(dir: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(dir.join("job")).ok()?;
        let mut parts = text.split_whitespace();
        let job: u64 = parts.next()?.parse().ok()?;
        let attempt = parts.next().and_then(|a| a.parse().ok()).unwrap_or(1);
        let names =
            |file: &str| std::fs::read_to_string(dir.join(file)).is_ok_and(|t| t.trim() == job.to_string());
        Some(Self { job, attempt, abandoned: names("abandoned"), reported: names("reported") })
    }
}

fn read_result(dir: &Path, job: u64) -> Option<Evaluation> {
    let text = std::fs::read_to_string(result_file(dir, &job.to_string())).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|e| {
        Evaluation::failed(FailureReason::WorkerFailed, format!("unreadable result of Slurm job {job}: {e}"))
    }))
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

/// Copies `from` to `to` unless `to` already has the same bytes; through a
/// temporary file, so a node never sees half a binary.
fn copy_if_changed(from: &Path, to: &Path) -> Result<(), SlurmPrepareError> {
    let new = std::fs::read(from).map_err(io(from))?;
    if std::fs::read(to).is_ok_and(|old| old == new) {
        return Ok(());
    }
    let tmp = to.with_extension(format!("tmp{}", std::process::id()));
    std::fs::copy(from, &tmp).map_err(io(&tmp))?;
    std::fs::rename(&tmp, to).map_err(io(to))
}

fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
