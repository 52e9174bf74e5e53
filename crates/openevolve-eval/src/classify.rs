//! Reading a stage's outcome from the worker's exit, its stderr and its
//! result file.

use std::collections::BTreeMap;

use openevolve_sdk::{Exit, FailureKind, StageOutcome, classify_death};

use crate::evaluation::{Failure, FailureReason};
use crate::worker::{Ending, WorkerRun};

/// Metrics and artifacts of one successful stage.
pub(crate) type StageReport = (BTreeMap<String, f64>, BTreeMap<String, String>);

/// The host's name for a failure the judge saw in a candidate process.
fn reason_of(kind: FailureKind) -> FailureReason {
    match kind {
        FailureKind::Crashed { signal } => FailureReason::Crashed { signal },
        FailureKind::Panicked => FailureReason::Panicked,
        FailureKind::Aborted => FailureReason::Aborted,
        FailureKind::StackOverflow => FailureReason::StackOverflow,
        FailureKind::MemoryLimit => FailureReason::MemoryLimit,
        FailureKind::CpuLimit => FailureReason::CpuLimit,
        FailureKind::ExitedEarly { code } => FailureReason::ExitedWithoutResult { code },
        FailureKind::ChildProcessLeft => FailureReason::ChildProcessLeft,
        FailureKind::Protocol => FailureReason::CandidateProtocol,
    }
}

/// Reads the verdict an evaluator writes (the judge's fd 3, or the
/// in-process sink), in the SDK's format.
pub(crate) fn parse_result(json: &str) -> Result<StageReport, Failure> {
    let outcome = openevolve_sdk::verdict::decode(json).map_err(|e| Failure {
        reason: FailureReason::WorkerFailed,
        message: format!("unreadable result from the evaluator: {e}"),
    })?;
    match outcome {
        StageOutcome::Ok(result) => {
            // A score is a number: a metric the judge could not give one
            // for fails the evaluation rather than sort anywhere.
            if let Some((name, _)) = result.metrics.iter().find(|(_, v)| !v.is_finite()) {
                return Err(Failure {
                    reason: FailureReason::EvaluatorError,
                    message: format!("the evaluator reported metric `{name}` as NaN or infinite"),
                });
            }
            Ok((result.metrics, result.artifacts))
        }
        StageOutcome::CandidateFailed(failure) => {
            Err(Failure { reason: reason_of(failure.kind), message: failure.message })
        }
        StageOutcome::EvaluatorError(message) => {
            Err(Failure { reason: FailureReason::EvaluatorError, message })
        }
        StageOutcome::CandidateRejected(message) => {
            let reason = if message.starts_with("ABI mismatch") {
                FailureReason::AbiMismatch
            } else {
                FailureReason::CandidateRejected
            };
            Err(Failure { reason, message })
        }
    }
}

/// The outcome of one worker run.
pub(crate) fn classify(
    run: &WorkerRun,
    timeout_secs: f64,
    max_output: usize,
    cpu_limited: bool,
) -> Result<StageReport, Failure> {
    let fail = |reason, message: String| Err(Failure { reason, message });
    let status = match &run.ending {
        Ending::TimedOut => {
            return fail(
                FailureReason::Timeout,
                format!("killed after the {timeout_secs} s wall-clock timeout"),
            );
        }
        Ending::OutputLimit { stream } => {
            return fail(
                FailureReason::OutputLimit,
                format!("printed more than {max_output} bytes on {stream}; killed"),
            );
        }
        Ending::Exited(status) => status,
    };
    if let Some(json) = &run.result {
        let report = parse_result(json)?;
        if run.leftover_processes {
            return fail(
                FailureReason::ChildProcessLeft,
                "the candidate left a process running after the evaluation; it was killed".into(),
            );
        }
        return Ok(report);
    }
    // The judge died without a verdict. Evaluators that map the candidate
    // themselves (`unsealed_fn!`) die of the candidate's faults, so the
    // same rules read its exit.
    use std::os::unix::process::ExitStatusExt;
    let exit = match status.signal() {
        Some(signal) => Exit::Signal(signal),
        None => Exit::Code(status.code().unwrap_or(-1)),
    };
    match classify_death(exit, &run.stderr, cpu_limited) {
        Some(failure) => Err(Failure { reason: reason_of(failure.kind), message: failure.message }),
        None => {
            fail(FailureReason::ExitedWithoutResult { code: 0 }, "the judge exited without a verdict".into())
        }
    }
}
