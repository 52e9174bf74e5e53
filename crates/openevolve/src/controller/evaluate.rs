//! From an evaluation to what the database stores: metrics and artifacts of a
//! scored program, or the reason it has no score.

use std::collections::BTreeMap;
use std::sync::Arc;

use openevolve_db::{Artifact, Metrics};
use openevolve_eval::{Evaluation, Executor, FailureReason, KnownBehaviour};

/// Evaluates `code` `repeats` times (`evaluator.repeats`), the first time
/// with the behaviour check: the samples, in order. It stops at the first
/// failure, which is then the last sample, and after a sample without
/// metrics (a known behaviour).
pub(super) async fn evaluate_samples(
    evaluator: Arc<dyn Executor>,
    code: String,
    known: Option<KnownBehaviour>,
    repeats: u32,
) -> Vec<Evaluation> {
    let first = match known {
        Some(known) => Arc::clone(&evaluator).evaluate_unless_known(code.clone(), known).await,
        None => Arc::clone(&evaluator).evaluate(code.clone()).await,
    };
    let mut samples = vec![first];
    while samples.len() < repeats as usize
        && samples.last().is_some_and(|s| s.is_ok() && !s.metrics.is_empty())
    {
        samples.push(Arc::clone(&evaluator).evaluate(code.clone()).await);
    }
    samples
}

/// What a child's samples come to: their mean ([`openevolve_eval::merge_samples`]),
/// or the failure of the one that failed.
pub(super) fn combined(samples: &[Evaluation]) -> Evaluation {
    match samples.iter().find(|s| !s.is_ok()) {
        Some(failed) => failed.clone(),
        None => openevolve_eval::merge_samples(samples),
    }
}

/// An evaluation as the controller records it.
pub(super) enum Scored {
    Ok {
        metrics: Metrics,
        artifacts: BTreeMap<String, Artifact>,
    },
    /// `message` is what the next prompt shows.
    Failed {
        reason: FailureReason,
        message: String,
    },
}

pub(super) fn scored(evaluation: Evaluation) -> Scored {
    if let Some(message) = build_failure(&evaluation) {
        return Scored::Failed { reason: FailureReason::BuildFailed, message };
    }
    match evaluation.failure {
        None => Scored::Ok {
            metrics: evaluation.metrics,
            artifacts: evaluation.artifacts.into_iter().map(|(k, v)| (k, Artifact::Text(v))).collect(),
        },
        Some(f) => Scored::Failed { reason: f.reason, message: f.message },
    }
}

/// Why the child did not build, with the compiler's errors, if it did not.
/// A failed child is not stored, so its build errors travel in this message,
/// which the next prompt or the repair turn shows.
pub(super) fn build_failure(evaluation: &Evaluation) -> Option<String> {
    let f = evaluation.failure.as_ref().filter(|f| f.reason == FailureReason::BuildFailed)?;
    Some(match evaluation.artifacts.get("build_errors") {
        Some(errors) => format!("{}\n{errors}", f.message),
        None => f.message.clone(),
    })
}
