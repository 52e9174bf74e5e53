//! Waiting for a job: its state from one shared `squeue` call per poll,
//! its result file, and what a job that ended without one settles as.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::scheduler::{self, JobState, SchedulerError};
use super::submit::{JobGuard, read_result, write_atomic};
use super::{SCHEDULER_PATIENCE, SlurmExecutor};
use crate::evaluation::{Evaluation, FailureReason};

/// Answers "what state is job N in" for every evaluation from one shared
/// `squeue` call per poll interval; a job squeue does not list (purged, or
/// an older Slurm) is asked about alone (scontrol, then sacct).
#[derive(Default)]
pub(super) struct StatePoller {
    inner: tokio::sync::Mutex<PollCache>,
}

#[derive(Default)]
pub(super) struct PollCache {
    fetched: Option<Instant>,
    states: HashMap<u64, JobState>,
    /// Jobs asked about recently: the next squeue call covers them all.
    watched: HashMap<u64, Instant>,
}

impl StatePoller {
    pub(super) async fn state(
        &self,
        job: u64,
        max_age: Duration,
    ) -> Result<Option<JobState>, SchedulerError> {
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
    /// Waits for the job's result or end; resubmits lost jobs (with the
    /// staged job script) while attempts remain.
    pub(super) async fn watch(
        &self,
        dir: &Path,
        mut guard: JobGuard,
        mut attempt: u32,
        hash: &str,
    ) -> Evaluation {
        let poll = self.poll();
        let mut failing_since: Option<Instant> = None;
        // The job's time in the cluster's queue: until a poll first sees it
        // other than PENDING.
        let mut queue = Queue { submitted: Instant::now(), left: None };
        loop {
            let job = guard.job;
            if let Some(evaluation) = read_result(dir, job) {
                guard.armed = false;
                return self.report(dir, job, queue.timed(evaluation));
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
                    if s.state != "PENDING" {
                        queue.left.get_or_insert_with(|| queue.submitted.elapsed());
                    }
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
                Settled::Done(evaluation) => return self.report(dir, job, queue.timed(evaluation)),
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
                    queue = Queue { submitted: Instant::now(), left: None };
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
    pub(super) async fn finished_without_result(
        &self,
        dir: &Path,
        job: u64,
        state: &JobState,
    ) -> Option<Settled> {
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
    pub(super) async fn wait_for_result(&self, dir: &Path, job: u64) -> Option<Evaluation> {
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

    pub(super) fn unreported_result(&self, dir: &Path, job: u64) -> Option<Evaluation> {
        let reported = std::fs::read_to_string(dir.join("reported")).ok();
        if reported.is_some_and(|r| r.trim() == job.to_string()) {
            return None;
        }
        read_result(dir, job)
    }

    /// Marks the job's result as handed out, then hands it out.
    pub(super) fn report(&self, dir: &Path, job: u64, evaluation: Evaluation) -> Evaluation {
        let _ = write_atomic(&dir.join("reported"), &format!("{job}\n"));
        evaluation
    }
}

/// When a job was submitted (or, for one an earlier controller submitted,
/// first watched), and how long it had waited when it left the queue.
struct Queue {
    submitted: Instant,
    left: Option<Duration>,
}

impl Queue {
    /// `evaluation` with its queue time: as seen by the polls, or, for a job
    /// that ended before a poll saw it run, its whole time less the
    /// evaluation's own.
    fn timed(&self, mut evaluation: Evaluation) -> Evaluation {
        let whole = self.submitted.elapsed();
        evaluation.timings.queue =
            self.left.unwrap_or_else(|| whole.saturating_sub(evaluation.timings.evaluate));
        evaluation
    }
}

/// How a finished job settles.
pub(super) enum Settled {
    Done(Evaluation),
    /// Worth another attempt (node failure, preemption, lost).
    Lost(String),
}
