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
    /// `code` is [`FailureReason::code`]; `message` is what the next prompt
    /// shows.
    Failed {
        code: &'static str,
        message: String,
    },
}

pub(super) fn scored(evaluation: Evaluation) -> Scored {
    match evaluation.failure {
        None => Scored::Ok {
            metrics: evaluation.metrics,
            artifacts: evaluation.artifacts.into_iter().map(|(k, v)| (k, Artifact::Text(v))).collect(),
        },
        Some(f) => {
            // A failed child is not stored, so its build errors travel in the
            // message that the next prompt shows.
            let message = match evaluation.artifacts.get("build_errors") {
                Some(errors) if f.reason == FailureReason::BuildFailed => format!("{}\n{errors}", f.message),
                _ => f.message,
            };
            Scored::Failed { code: f.reason.code(), message }
        }
    }
}
