//! What an evaluator returns: named metrics and text artifacts.

use std::collections::BTreeMap;
use std::fmt::Display;

/// Metrics (higher is better by convention; `combined_score` is the fitness
/// when present) and artifacts (text shown to the LLM in the next prompt).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvaluationResult {
    pub metrics: BTreeMap<String, f64>,
    pub artifacts: BTreeMap<String, String>,
}

impl EvaluationResult {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a metric; builder style.
    pub fn metric(mut self, name: impl Into<String>, value: f64) -> Self {
        self.metrics.insert(name.into(), value);
        self
    }

    /// Adds (or replaces) an artifact; builder style.
    pub fn artifact(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.artifacts.insert(name.into(), text.into());
        self
    }
}

/// How one evaluator stage ended, as reported to the host.
#[derive(Debug, Clone, PartialEq)]
pub enum StageOutcome {
    Ok(EvaluationResult),
    /// The evaluator itself failed (returned an error or panicked): retried.
    EvaluatorError(String),
    /// The candidate does not fit: missing entry, wrong type, ABI mismatch.
    CandidateRejected(String),
    /// A candidate process failed: crashed, panicked, exited, ran out of
    /// memory or CPU time, left a process behind, garbled an answer.
    CandidateFailed(crate::CandidateFailure),
}

/// What an evaluate function may return: a result, or a `Result` whose error
/// is reported as an evaluator error (or, for a [`crate::CandidateError`], as
/// a rejected candidate).
pub trait IntoEvaluation {
    fn into_outcome(self) -> StageOutcome;
}

impl IntoEvaluation for EvaluationResult {
    fn into_outcome(self) -> StageOutcome {
        StageOutcome::Ok(self)
    }
}

impl<E: Display + 'static> IntoEvaluation for Result<EvaluationResult, E> {
    fn into_outcome(self) -> StageOutcome {
        match self {
            Ok(r) => StageOutcome::Ok(r),
            Err(e) => {
                let any: &dyn std::any::Any = &e;
                if let Some(failure) = any.downcast_ref::<crate::CandidateFailure>() {
                    StageOutcome::CandidateFailed(failure.clone())
                } else if any.is::<crate::CandidateError>() {
                    StageOutcome::CandidateRejected(e.to_string())
                } else {
                    StageOutcome::EvaluatorError(e.to_string())
                }
            }
        }
    }
}
