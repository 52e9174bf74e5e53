//! What the controller needs from evaluation: code in, a scored result or a
//! reason out. The evaluation crate's host implements it for local worker
//! processes; other executors (a cluster) can too.

use std::collections::BTreeMap;

use openevolve_db::{Artifact, Metrics};
use openevolve_llm::BoxFuture;

/// The result of evaluating one program.
#[derive(Debug, Clone, Default)]
pub struct EvaluationOutcome {
    pub metrics: Metrics,
    /// Build errors, captured output, the evaluator's own artifacts.
    pub artifacts: BTreeMap<String, Artifact>,
    /// Why the program has no score (a build error, a crash, a timeout, a
    /// broken limit); `None` when it was scored.
    pub failure: Option<EvaluationFailure>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationFailure {
    /// `build_failed`, `timeout`, `crashed`, … — short, stable, for counting.
    pub kind: String,
    /// What a person (and the next prompt) should read.
    pub message: String,
}

/// Scores programs. Called from many tasks at once; bounding parallelism is
/// the implementation's business.
pub trait ProgramEvaluator: Send + Sync {
    /// Builds and evaluates `code`, the full source of a program.
    fn evaluate(&self, code: String, iteration: u64) -> BoxFuture<'static, EvaluationOutcome>;
}

/// The local evaluator host (worker processes, or in-process when asked),
/// as the controller sees it.
pub struct LocalEvaluator(pub std::sync::Arc<openevolve_eval::EvaluatorHost>);

impl ProgramEvaluator for LocalEvaluator {
    fn evaluate(&self, code: String, _iteration: u64) -> BoxFuture<'static, EvaluationOutcome> {
        let host = std::sync::Arc::clone(&self.0);
        Box::pin(async move { outcome_of(host.evaluate_source(&code).await) })
    }
}

fn outcome_of(evaluation: openevolve_eval::Evaluation) -> EvaluationOutcome {
    use openevolve_eval::FailureReason as R;
    let failure = evaluation.failure.map(|f| {
        let kind = match f.reason {
            R::BuildFailed => "build_failed",
            R::Timeout => "timeout",
            R::MemoryLimit => "memory_limit",
            R::CpuLimit => "cpu_limit",
            R::Crashed { .. } => "crashed",
            R::Panicked => "panicked",
            R::Aborted => "aborted",
            R::StackOverflow => "stack_overflow",
            R::AbiMismatch => "abi_mismatch",
            R::CandidateRejected => "candidate_rejected",
            R::EvaluatorError => "evaluator_error",
            R::OutputLimit => "output_limit",
            R::ChildProcessLeft => "child_process_left",
            R::ExitedWithoutResult { .. } => "exited_without_result",
            R::WorkerFailed => "worker_failed",
        };
        // A failed child is not stored, so its build errors travel in the
        // message that the next prompt shows.
        let message = match evaluation.artifacts.get("build_errors") {
            Some(errors) if f.reason == R::BuildFailed => format!("{}\n{errors}", f.message),
            _ => f.message,
        };
        EvaluationFailure { kind: kind.to_string(), message }
    });
    EvaluationOutcome {
        metrics: evaluation.metrics,
        artifacts: evaluation.artifacts.into_iter().map(|(k, v)| (k, Artifact::Text(v))).collect(),
        failure,
    }
}
