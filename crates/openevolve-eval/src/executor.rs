//! The one interface the controller evaluates through. The local host
//! (worker processes, or in-process) implements it; a cluster executor can
//! too, and the rest of the system does not know which one runs.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{Evaluation, EvaluatorHost, KnownBehaviour};

/// A boxed future that may move between threads.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Builds and evaluates programs. Called from many tasks at once; bounding
/// parallelism is the implementation's business.
pub trait Executor: Send + Sync {
    /// Builds and evaluates `source`, the full source of a program. A build
    /// error or a contained crash is a failed [`Evaluation`], never a panic.
    fn evaluate(self: Arc<Self>, source: String) -> BoxFuture<'static, Evaluation>;

    /// The crates a candidate may use besides the standard library and the
    /// SDK, by the names its code writes (`rand`, `mlx_rs`); `None` where
    /// the executor cannot tell.
    fn candidate_crates(&self) -> Option<Vec<String>> {
        None
    }

    /// Whether [`Self::evaluate_unless_known`] takes fingerprints: when not,
    /// callers need not gather the known ones.
    fn offers_behaviour(&self) -> bool {
        false
    }

    /// As [`Self::evaluate`], but where the evaluator offers a behaviour
    /// fingerprint, takes it first and skips the evaluation when `known`
    /// says a stored program had it. The default evaluates as usual.
    fn evaluate_unless_known(
        self: Arc<Self>,
        source: String,
        known: KnownBehaviour,
    ) -> BoxFuture<'static, Evaluation> {
        let _ = known;
        self.evaluate(source)
    }
}

impl Executor for EvaluatorHost {
    fn evaluate(self: Arc<Self>, source: String) -> BoxFuture<'static, Evaluation> {
        Box::pin(async move { self.evaluate_source(&source).await })
    }

    fn candidate_crates(&self) -> Option<Vec<String>> {
        Some(EvaluatorHost::candidate_crates(self))
    }

    fn offers_behaviour(&self) -> bool {
        EvaluatorHost::offers_behaviour(self)
    }

    fn evaluate_unless_known(
        self: Arc<Self>,
        source: String,
        known: KnownBehaviour,
    ) -> BoxFuture<'static, Evaluation> {
        Box::pin(async move { self.evaluate_source_unless_known(&source, known).await })
    }
}
