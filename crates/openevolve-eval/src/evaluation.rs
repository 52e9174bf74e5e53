//! What the host hands the controller for one evaluation.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why an evaluation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FailureReason {
    /// rustc refused the candidate; the trimmed errors are the
    /// `build_errors` artifact.
    BuildFailed,
    /// Ran past `evaluator.timeout`; the process group was killed.
    Timeout,
    /// An allocation failed under `memory_limit_mb`.
    MemoryLimit,
    /// Used more CPU time than `cpu_limit`.
    CpuLimit,
    /// Killed by a signal not covered below (SIGSEGV, SIGBUS, SIGILL, ...).
    Crashed {
        signal: i32,
    },
    /// The candidate panicked (the message is kept).
    Panicked,
    /// The process aborted (SIGABRT) without a panic or allocation failure.
    Aborted,
    StackOverflow,
    /// The candidate was built by another SDK, compiler or dependency set.
    AbiMismatch,
    /// The candidate lacks an entry point or declares another type for it.
    CandidateRejected,
    /// The evaluator returned an error or panicked; retried up to
    /// `max_retries`.
    EvaluatorError,
    /// Printed more than `max_output_bytes` on stdout or stderr.
    OutputLimit,
    /// A process the candidate started was still running after the worker
    /// ended (it has been killed).
    ChildProcessLeft,
    /// The worker exited without writing a result (e.g. `process::exit`).
    ExitedWithoutResult {
        code: i32,
    },
    /// The worker could not be started or its result not read.
    WorkerFailed,
    /// A candidate process sent the judge something that is not an answer.
    CandidateProtocol,
}

impl FailureReason {
    /// A short stable name, for counting and for logs: `build_failed`,
    /// `timeout`, `crashed`, ...
    pub fn code(self) -> &'static str {
        match self {
            Self::BuildFailed => "build_failed",
            Self::Timeout => "timeout",
            Self::MemoryLimit => "memory_limit",
            Self::CpuLimit => "cpu_limit",
            Self::Crashed { .. } => "crashed",
            Self::Panicked => "panicked",
            Self::Aborted => "aborted",
            Self::StackOverflow => "stack_overflow",
            Self::AbiMismatch => "abi_mismatch",
            Self::CandidateRejected => "candidate_rejected",
            Self::EvaluatorError => "evaluator_error",
            Self::OutputLimit => "output_limit",
            Self::ChildProcessLeft => "child_process_left",
            Self::ExitedWithoutResult { .. } => "exited_without_result",
            Self::WorkerFailed => "worker_failed",
            Self::CandidateProtocol => "candidate_protocol",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub reason: FailureReason,
    pub message: String,
}

/// Wall times of the parts of one evaluation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub build: Option<Duration>,
    pub evaluate: Duration,
}

/// One candidate's evaluation. `metrics` holds what the stages that ran
/// reported (later stages override earlier keys), even when a later stage
/// failed; `artifacts` the evaluator's artifacts plus `stdout`, `stderr`
/// (bounded) and `build_errors`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub metrics: BTreeMap<String, f64>,
    pub artifacts: BTreeMap<String, String>,
    pub failure: Option<Failure>,
    /// The last cascade stage run (1-3), or `None` when `evaluate` ran alone.
    pub stage_reached: Option<u8>,
    /// Attempts of the last stage (more than 1 after evaluator errors).
    pub attempts: u32,
    pub timings: Timings,
    /// The evaluator's behaviour fingerprint of the candidate, where it
    /// offers one (see [`Behaviour`]).
    pub behaviour: Option<Behaviour>,
}

/// What an evaluator's behaviour stage said of a candidate: a cheap
/// fingerprint of what it does, taken before the full evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Behaviour {
    pub fingerprint: String,
    /// A stored program already had this fingerprint, so the evaluation was
    /// skipped: no metrics, no failure.
    pub known: bool,
}

/// Tells whether a fingerprint belongs to a stored program; the caller's
/// view of its database when the evaluation started.
pub type KnownBehaviour = std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Nothing stored yet: the fingerprint, where offered, is taken and kept.
pub fn nothing_known() -> KnownBehaviour {
    std::sync::Arc::new(|_: &str| false)
}

impl Evaluation {
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }

    pub(crate) fn failed(reason: FailureReason, message: impl Into<String>) -> Self {
        Self { failure: Some(Failure { reason, message: message.into() }), ..Self::default() }
    }

    /// `combined_score` if reported, else the mean of the finite metrics
    /// (OpenEvolve's rule), used for cascade thresholds.
    pub fn score(&self) -> Option<f64> {
        score_of(&self.metrics)
    }
}

pub(crate) fn score_of(metrics: &BTreeMap<String, f64>) -> Option<f64> {
    if let Some(s) = metrics.get("combined_score") {
        return Some(*s);
    }
    let finite: Vec<f64> = metrics.values().copied().filter(|v| v.is_finite()).collect();
    (!finite.is_empty()).then(|| finite.iter().sum::<f64>() / finite.len() as f64)
}
