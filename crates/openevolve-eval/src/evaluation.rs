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
    /// Waiting for an evaluation slot (`parallel_evaluations`), before
    /// `evaluate` began.
    #[serde(default)]
    pub slot_wait: Duration,
    /// Slurm: the job's time in the cluster's queue, apart from `evaluate`.
    #[serde(default)]
    pub queue: Duration,
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

    /// The SDK's fitness of the metrics, with `excluded` (the grid's
    /// feature dimensions) left out of the mean.
    pub fn score(&self, excluded: &[String]) -> Option<f64> {
        openevolve_sdk::fitness(&self.metrics, excluded)
    }
}

/// One evaluation standing for several of the same program: each metric is
/// the mean of the samples, with its standard error as `<metric>_stderr`:
/// from the evaluator's own standard errors where it gave them (the root of
/// their summed squares over the number of samples), else from the spread
/// of the samples, when there are two or more. Artifacts, behaviour and
/// stage come from the first sample; times add up. The samples must all
/// have succeeded; a single one is returned as it is.
pub fn merge_samples(samples: &[Evaluation]) -> Evaluation {
    let [first, rest @ ..] = samples else { return Evaluation::default() };
    if rest.is_empty() {
        return first.clone();
    }
    let n = samples.len() as f64;
    let suffix = openevolve_sdk::STDERR_SUFFIX;
    let mut merged = Evaluation { metrics: BTreeMap::new(), ..first.clone() };
    for name in first.metrics.keys().filter(|k| !k.ends_with(suffix)) {
        let values: Vec<f64> = samples.iter().filter_map(|s| s.metrics.get(name).copied()).collect();
        if values.len() != samples.len() {
            continue;
        }
        let mean = values.iter().sum::<f64>() / n;
        let declared: Vec<f64> =
            samples.iter().filter_map(|s| s.metrics.get(&format!("{name}{suffix}")).copied()).collect();
        let stderr = if declared.len() == samples.len() {
            declared.iter().map(|e| e * e).sum::<f64>().sqrt() / n
        } else {
            let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
            (variance / n).sqrt()
        };
        merged.metrics.insert(name.clone(), mean);
        if stderr > 0.0 {
            merged.metrics.insert(format!("{name}{suffix}"), stderr);
        }
    }
    for sample in rest {
        merged.timings.build = add(merged.timings.build, sample.timings.build);
        merged.timings.evaluate += sample.timings.evaluate;
    }
    merged
}

fn add(a: Option<std::time::Duration>, b: Option<std::time::Duration>) -> Option<std::time::Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(pairs: &[(&str, f64)]) -> Evaluation {
        Evaluation {
            metrics: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ..Evaluation::default()
        }
    }

    #[test]
    fn merged_samples_are_means_with_standard_errors() {
        // From the spread: 1 and 3 have a sample deviation of sqrt 2, so a
        // standard error of sqrt 2 / sqrt 2 = 1.
        let merged = merge_samples(&[sample(&[("speed", 1.0)]), sample(&[("speed", 3.0)])]);
        assert_eq!(merged.metrics["speed"], 2.0);
        assert!((merged.metrics["speed_stderr"] - 1.0).abs() < 1e-12);
        // Declared by the evaluator: sqrt(0.3^2 + 0.4^2) / 2 = 0.25.
        let merged = merge_samples(&[
            sample(&[("speed", 1.0), ("speed_stderr", 0.3)]),
            sample(&[("speed", 2.0), ("speed_stderr", 0.4)]),
        ]);
        assert_eq!(merged.metrics["speed"], 1.5);
        assert!((merged.metrics["speed_stderr"] - 0.25).abs() < 1e-12);
        // Identical samples: no spread, no standard error.
        let merged = merge_samples(&[sample(&[("speed", 2.0)]), sample(&[("speed", 2.0)])]);
        assert!(!merged.metrics.contains_key("speed_stderr"));
        let one = sample(&[("speed", 4.0)]);
        assert_eq!(merge_samples(std::slice::from_ref(&one)), one);
    }
}
