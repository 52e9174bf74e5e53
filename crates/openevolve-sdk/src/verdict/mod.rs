//! The judge protocol's two ends, owned here so that the judge and the host
//! agree by construction: how the host starts a judge for one stage
//! ([`JudgeCall`]: the arguments of `<evaluator> judge ...`), and the verdict
//! the judge writes to its fd 3 ([`encode`]) and the host reads back
//! ([`decode`]).
//!
//! A verdict is one JSON object:
//!
//! ```text
//! {"status":"ok","metrics":{"name":1.5,"nan":null},"artifacts":{"name":"text"}}
//! {"status":"evaluator_error","message":"..."}
//! {"status":"candidate_rejected","message":"..."}
//! {"status":"candidate_failed","reason":"<FailureKind::code>","message":"..."}
//! ```

mod decode;
mod encode;

use std::ffi::OsString;
use std::path::PathBuf;

use crate::confine::Limits;

pub use decode::{VerdictError, decode};
pub use encode::encode;

/// The command line of a judge run: which candidate library, which stage,
/// the limits of the candidate processes, and the evaluator's arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeCall {
    pub candidate: PathBuf,
    pub stage: u32,
    pub limits: Limits,
    /// `evaluator_args` as JSON, when the config gives them.
    pub args: Option<String>,
}

/// The judge's usage, for a command line [`JudgeCall::from_args`] refuses.
pub const JUDGE_USAGE: &str = "judge <candidate.so> <stage> <limits> [args-json]";

impl JudgeCall {
    /// The arguments after the executable: `judge <candidate> <stage>
    /// <limits> [args]`.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "judge".into(),
            self.candidate.as_os_str().into(),
            self.stage.to_string().into(),
            self.limits.to_arg().into(),
        ];
        args.extend(self.args.as_ref().map(OsString::from));
        args
    }

    /// Reads what [`Self::to_args`] wrote (`args` without the executable).
    pub fn from_args(args: &[String]) -> Result<Self, String> {
        let [mode, candidate, stage, limits, rest @ ..] = args else {
            return Err(format!("expected {JUDGE_USAGE}"));
        };
        if mode != "judge" || rest.len() > 1 {
            return Err(format!("expected {JUDGE_USAGE}"));
        }
        let stage = stage.parse().map_err(|_| format!("stage `{stage}` is not a number; {JUDGE_USAGE}"))?;
        Ok(Self {
            candidate: PathBuf::from(candidate),
            stage,
            limits: Limits::from_arg(limits)?,
            args: rest.first().cloned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CandidateFailure, EvaluationResult, FailureKind, StageOutcome};

    #[test]
    fn every_outcome_reads_back_as_written() {
        let outcomes = [
            StageOutcome::Ok(
                EvaluationResult::new()
                    .metric("combined_score", 0.1 + 0.2)
                    .metric("tiny", 1e-300)
                    .metric("neg", -2.5e17)
                    .metric("zero", 0.0)
                    .artifact("quote \"and\" back\\slash", "line\nbreak\ttab \u{1} é ✓ 𝄞"),
            ),
            StageOutcome::Ok(EvaluationResult::new()),
            StageOutcome::EvaluatorError("the evaluator said \"no\"".into()),
            StageOutcome::CandidateRejected("ABI mismatch".into()),
            StageOutcome::CandidateFailed(CandidateFailure {
                kind: FailureKind::Crashed { signal: 11 },
                message: "SIGSEGV".into(),
            }),
            StageOutcome::CandidateFailed(CandidateFailure {
                kind: FailureKind::ExitedEarly { code: -3 },
                message: String::new(),
            }),
        ];
        for outcome in outcomes {
            assert_eq!(decode(&encode(&outcome)), Ok(outcome.clone()), "{}", encode(&outcome));
        }
    }

    #[test]
    fn a_non_finite_metric_is_written_as_null_and_read_as_nan() {
        let outcome = StageOutcome::Ok(EvaluationResult::new().metric("inf", f64::INFINITY));
        let text = encode(&outcome);
        assert!(text.contains("\"inf\":null"), "{text}");
        let StageOutcome::Ok(read) = decode(&text).unwrap() else { panic!("{text}") };
        assert!(read.metrics["inf"].is_nan());
    }

    #[test]
    fn malformed_verdicts_are_refused_with_what_is_wrong() {
        for (text, says) in [
            ("", "end of the verdict"),
            ("{\"status\":\"ok\"", "end of the verdict"),
            ("{\"status\":\"won\",\"message\":\"x\"}", "status `won`"),
            ("{\"status\":\"ok\",\"metrics\":{\"a\":\"1\"},\"artifacts\":{}}", "metric `a`"),
            ("{\"status\":\"candidate_failed\",\"reason\":\"bored\",\"message\":\"\"}", "reason `bored`"),
            ("{\"status\":\"evaluator_error\"}", "`message`"),
            ("{\"status\":\"ok\",\"metrics\":{},\"artifacts\":{}} trailing", "after the verdict"),
            ("{\"status\":\"ok\",\"metrics\":{\"a\":1e},\"artifacts\":{}}", "number"),
            ("{\"status\":\"evaluator_error\",\"message\":\"\\ud800\"}", "escape"),
        ] {
            let err = decode(text).expect_err(text).to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn a_judge_call_reads_back_as_written() {
        let call = JudgeCall {
            candidate: PathBuf::from("/tmp/cand idate.so"),
            stage: 4,
            limits: Limits { memory_mb: Some(512), cpu_seconds: Some(30), ..Limits::default() },
            args: Some("{\"size\":\"tiny\"}".into()),
        };
        let args: Vec<String> = call.to_args().iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(JudgeCall::from_args(&args), Ok(call.clone()));
        let without = JudgeCall { args: None, ..call };
        let args: Vec<String> = without.to_args().iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(JudgeCall::from_args(&args), Ok(without));
        assert!(JudgeCall::from_args(&["judge".into(), "x.so".into(), "one".into(), String::new()]).is_err());
        assert!(JudgeCall::from_args(&["serve".into(), "x.so".into(), "1".into(), String::new()]).is_err());
    }
}
