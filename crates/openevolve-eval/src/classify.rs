//! Reading a stage's outcome from the worker's exit, its stderr and its
//! result file.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::evaluation::{Failure, FailureReason};
use crate::worker::{Ending, WorkerRun};

/// Metrics and artifacts of one successful stage.
pub(crate) type StageReport = (BTreeMap<String, f64>, BTreeMap<String, String>);

#[derive(Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum ResultFile {
    Ok { metrics: BTreeMap<String, Option<f64>>, artifacts: BTreeMap<String, String> },
    EvaluatorError { message: String },
    CandidateRejected { message: String },
}

/// Parses the JSON an evaluator writes (worker file or in-process sink).
pub(crate) fn parse_result(json: &str) -> Result<StageReport, Failure> {
    let parsed: ResultFile = serde_json::from_str(json).map_err(|e| Failure {
        reason: FailureReason::WorkerFailed,
        message: format!("unreadable result from the evaluator: {e}"),
    })?;
    match parsed {
        ResultFile::Ok { metrics, artifacts } => {
            Ok((metrics.into_iter().map(|(k, v)| (k, v.unwrap_or(f64::NAN))).collect(), artifacts))
        }
        ResultFile::EvaluatorError { message } => {
            Err(Failure { reason: FailureReason::EvaluatorError, message })
        }
        ResultFile::CandidateRejected { message } => {
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
    let stderr = &run.stderr;
    if stderr.contains("has overflowed its stack") {
        return fail(FailureReason::StackOverflow, "the candidate overflowed its stack".into());
    }
    if let Some(line) = stderr.lines().find(|l| l.starts_with("memory allocation of")) {
        return fail(FailureReason::MemoryLimit, format!("out of memory: {line}"));
    }
    use std::os::unix::process::ExitStatusExt;
    let signal = status.signal();
    if signal == Some(libc::SIGXCPU) || (cpu_limited && signal == Some(libc::SIGKILL)) {
        return fail(FailureReason::CpuLimit, "used up its CPU-time limit".into());
    }
    if let Some(message) = panic_message(stderr) {
        return fail(FailureReason::Panicked, message);
    }
    match (signal, status.code()) {
        (Some(libc::SIGABRT), _) => fail(FailureReason::Aborted, "the process aborted (SIGABRT)".into()),
        (Some(sig), _) => {
            fail(FailureReason::Crashed { signal: sig }, format!("killed by {}", signal_name(sig)))
        }
        (None, code) => {
            let code = code.unwrap_or(-1);
            fail(
                FailureReason::ExitedWithoutResult { code },
                format!(
                    "the worker exited with code {code} without a result; stderr: {}",
                    crate::diagnostics::tail(stderr.trim(), 1000)
                ),
            )
        }
    }
}

/// "panicked at <location>:\n<message>" from the default panic hook.
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.find("panicked at")?;
    let text: Vec<&str> = stderr[start..]
        .lines()
        .take_while(|l| !l.starts_with("note: run with `RUST_BACKTRACE"))
        .take(6)
        .collect();
    Some(format!("the candidate {}", text.join("\n").trim_end()))
}

fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGSEGV => "SIGSEGV (segmentation fault)",
        libc::SIGBUS => "SIGBUS (bus error)",
        libc::SIGILL => "SIGILL (illegal instruction)",
        libc::SIGFPE => "SIGFPE (arithmetic fault)",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}
