//! From an evaluation to what the database stores: metrics and artifacts of a
//! scored program, or the reason it has no score.

use std::collections::BTreeMap;

use openevolve_db::{Artifact, Metrics};
use openevolve_eval::{Evaluation, FailureReason};

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
