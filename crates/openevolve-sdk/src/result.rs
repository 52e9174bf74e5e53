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

    /// Adds (or replaces) a noisy metric: its value and the standard error
    /// of that value (for a mean over trials, their spread over the root
    /// of their number). A run then lets a program displace another only
    /// by more than the noise, and evaluates a close newcomer again before
    /// it does (`evaluator.max_confirmations`).
    pub fn metric_with_stderr(self, name: impl Into<String>, value: f64, stderr: f64) -> Self {
        let name = name.into();
        let stderr_name = format!("{name}{STDERR_SUFFIX}");
        self.metric(name, value).metric(stderr_name, stderr)
    }

    /// Adds (or replaces) an artifact; builder style.
    pub fn artifact(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.artifacts.insert(name.into(), text.into());
        self
    }

    /// A candidate judged wrong (an invalid answer, a broken rule): a
    /// `combined_score` of 0, with `reason` as the [`REJECTED_ARTIFACT`]
    /// artifact that the next prompt shows. It is a verdict, so it is never
    /// retried; return `Err` only when the evaluator itself cannot judge.
    pub fn rejected(reason: impl Into<String>) -> Self {
        Self::new().metric("combined_score", 0.0).artifact(REJECTED_ARTIFACT, reason)
    }
}

/// The artifact of [`EvaluationResult::rejected`]: why the candidate scored 0.
pub const REJECTED_ARTIFACT: &str = "rejected";

/// Suffix of a metric that gives another metric's standard error:
/// `speed_stderr` is the standard error of `speed`. Such metrics are not
/// graded themselves.
pub const STDERR_SUFFIX: &str = "_stderr";

/// A fitness and its standard error (0 where no metric declares noise).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fitness {
    pub value: f64,
    pub stderr: f64,
}

/// The one fitness rule: `combined_score` when reported, else the mean of
/// the finite metrics other than `excluded` (the grid's feature dimensions,
/// which place a program rather than grade it) and the standard errors;
/// `None` when nothing is left to average. The database ranks programs by it
/// and cascades compare it with their thresholds.
pub fn fitness(metrics: &BTreeMap<String, f64>, excluded: &[String]) -> Option<f64> {
    fitness_with_stderr(metrics, excluded).map(|f| f.value)
}

/// [`fitness`] with its standard error, from the `_stderr` metrics of the
/// metrics it is made of (of a mean of n metrics: the root of the summed
/// squares over n).
pub fn fitness_with_stderr(metrics: &BTreeMap<String, f64>, excluded: &[String]) -> Option<Fitness> {
    let stderr_of = |name: &str| {
        metrics
            .get(&format!("{name}{STDERR_SUFFIX}"))
            .copied()
            .filter(|e| e.is_finite() && *e > 0.0)
            .unwrap_or(0.0)
    };
    if let Some(score) = metrics.get("combined_score") {
        return Some(Fitness { value: *score, stderr: stderr_of("combined_score") });
    }
    let graded = metrics
        .iter()
        .filter(|(name, v)| v.is_finite() && !excluded.contains(name) && !name.ends_with(STDERR_SUFFIX));
    let (sum, squares, count) = graded.fold((0.0, 0.0, 0usize), |(sum, squares, count), (name, v)| {
        (sum + v, squares + stderr_of(name).powi(2), count + 1)
    });
    (count > 0).then(|| Fitness { value: sum / count as f64, stderr: squares.sqrt() / count as f64 })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejected_candidate_scores_zero_and_says_why() {
        let r = EvaluationResult::rejected("the point lies outside the square");
        assert_eq!(fitness(&r.metrics, &[]), Some(0.0));
        assert_eq!(r.artifacts[REJECTED_ARTIFACT], "the point lies outside the square");
        assert!(matches!(Ok::<_, crate::CandidateError>(r).into_outcome(), StageOutcome::Ok(_)));
    }

    #[test]
    fn fitness_is_the_combined_score_else_the_mean_of_graded_finite_metrics() {
        let metrics = |pairs: &[(&str, f64)]| -> BTreeMap<String, f64> {
            pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        let excluded = ["complexity".to_string()];
        assert_eq!(fitness(&metrics(&[("combined_score", 0.25), ("speed", 9.0)]), &excluded), Some(0.25));
        // The feature dimension places the program; it does not grade it.
        assert_eq!(
            fitness(&metrics(&[("speed", 0.5), ("memory", 1.0), ("complexity", 300.0)]), &excluded),
            Some(0.75)
        );
        assert_eq!(fitness(&metrics(&[("speed", 0.5), ("broken", f64::NAN)]), &excluded), Some(0.5));
        assert_eq!(fitness(&metrics(&[("complexity", 3.0)]), &excluded), None);
        // Standard errors are not graded; they make the fitness's own.
        let noisy =
            metrics(&[("speed", 0.5), ("speed_stderr", 0.3), ("memory", 1.0), ("memory_stderr", 0.4)]);
        assert_eq!(fitness_with_stderr(&noisy, &excluded), Some(Fitness { value: 0.75, stderr: 0.25 }));
        let scored =
            EvaluationResult::new().metric_with_stderr("combined_score", 0.8, 0.05).metric("speed", 3.0);
        assert_eq!(fitness_with_stderr(&scored.metrics, &[]), Some(Fitness { value: 0.8, stderr: 0.05 }));
        assert_eq!(fitness(&BTreeMap::new(), &[]), None);
    }
}
