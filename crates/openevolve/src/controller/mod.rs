//! The evolution loop: ties the database, prompts, LLMs, diff engine and
//! evaluator into `openevolve run`.
//!
//! Iterations are started in order and committed in order. With the start
//! window `W` ([`crate::Config::start_window`]), iteration `i` starts right
//! after iteration `i - W` is committed, so every parent is sampled from a
//! database at most `W - 1` commits behind its child, and the state each
//! iteration sees does not depend on timing: the same seed, the same LLM
//! answers and the same `W` give the same run at any parallelism. A slow
//! evaluation holds back the commits of the iterations after it, and the
//! starts of those `W` after it; the executor runs at most
//! `evaluator.parallel_evaluations` evaluations at once.

mod checkpoint;
mod engine;
mod evaluate;
mod exchange;
mod failpoint;
mod layout;
mod pipeline;
mod progress;
mod stopping;
mod trace;

use std::path::PathBuf;
use std::sync::Arc;

pub use openevolve_db::BestProgram;
use openevolve_db::{DbError, Outcome};
use openevolve_llm::UsageSnapshot;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

pub use layout::{RunLayout, is_checkpoint};
pub use stopping::MAX_CONSECUTIVE_LLM_FAILURES;

use crate::Config;

/// What a run is given.
pub struct RunOptions {
    /// The program evolution starts from (its full source).
    pub initial_program: String,
    pub config: Config,
    /// Where the run keeps its state; created if missing.
    pub layout: RunLayout,
    /// A checkpoint directory to start from; its database is copied into
    /// `layout`, which must not hold one yet. To continue a run in place
    /// (after a crash, say) leave this empty and point `layout` at the run.
    pub resume_from: Option<PathBuf>,
    /// Stop once the best program's fitness reaches this.
    pub target_score: Option<f64>,
    /// Draw a progress bar on stderr.
    pub show_progress: bool,
    /// Evolution, or one of the simple baselines it is measured against.
    pub strategy: SearchStrategy,
}

/// How each iteration picks its parent and what its prompt shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchStrategy {
    /// MAP-Elites islands: a sampled parent, top and diverse programs,
    /// inspirations and recent attempts (the configured search).
    #[default]
    Evolution,
    /// A baseline: every child is a fresh rewrite of the initial program,
    /// shown alone; the best of all children counts.
    IndependentSampling,
    /// A baseline: every child rewrites the best program so far (of the
    /// whole run), shown with the island's recent attempts and last failure,
    /// nothing else.
    SequentialRefinement,
}

impl SearchStrategy {
    pub const ALL: [SearchStrategy; 3] =
        [Self::Evolution, Self::IndependentSampling, Self::SequentialRefinement];

    /// The name used in files and tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Evolution => "evolution",
            Self::IndependentSampling => "independent_sampling",
            Self::SequentialRefinement => "sequential_refinement",
        }
    }
}

/// A signal that asks the run to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Interrupt {
    /// Ctrl-C (SIGINT).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

/// Why a run ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StopReason {
    MaxIterations,
    TargetScore {
        target: f64,
    },
    EarlyStopping {
        patience: i64,
    },
    BudgetExhausted {
        message: String,
    },
    /// Every recent LLM call failed; the endpoint looks down or misconfigured.
    LlmUnavailable {
        message: String,
    },
    Interrupted {
        signal: Interrupt,
    },
}

impl StopReason {
    /// Whether the run ended as asked (a success) rather than by a failure.
    pub fn is_success(&self) -> bool {
        !matches!(self, StopReason::LlmUnavailable { .. } | StopReason::Interrupted { .. })
    }
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub stop_reason: StopReason,
    /// Iterations committed in this process.
    pub iterations_run: u64,
    /// The last committed iteration (the run's total so far).
    pub last_iteration: u64,
    /// Committed iterations of this process per outcome (`stored`,
    /// `improved`, `duplicate`, `not_applied`, `llm_failed`, ...).
    pub outcomes: std::collections::BTreeMap<Outcome, u64>,
    pub best: Option<BestProgram>,
    pub programs_stored: usize,
    /// Evaluations skipped: a child with the same code as a stored program,
    /// or a behaviour fingerprint already known, counted for each child,
    /// including those a repair turn followed.
    pub evaluations_saved: u64,
    /// Extra evaluations spent confirming children whose win was within the
    /// noise (`evaluator.max_confirmations`, `evaluator.confirmation_budget`).
    pub confirmations: u64,
    /// Children that did not build at first and built after a repair turn
    /// (`repair_turns`).
    pub builds_repaired: u64,
    /// With `llm.model_selection: ucb`: each model's share of the requests
    /// the bandit chose, where it learned to put its trust.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_shares: Option<std::collections::BTreeMap<String, f64>>,
    /// MAP-Elites cells holding an elite, over all islands: how far the
    /// search spread.
    pub cells_occupied: usize,
    pub llm_usage: UsageSnapshot,
    pub output_dir: PathBuf,
    pub wall_seconds: f64,
    /// How busy this process kept its evaluation slots.
    pub throughput: Throughput,
}

/// How busy a run kept its evaluation slots, over this process's
/// iterations (from the first start to the end).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Throughput {
    /// `evaluator.parallel_evaluations`.
    pub slots: u64,
    /// Iterations that could be under way at once ([`crate::Config::start_window`]).
    pub start_window: u64,
    pub iterations_per_minute: f64,
    /// The share of the slots' time spent evaluating (0 to 1).
    pub slot_utilisation: f64,
    /// The iterations' phases added up (the model's turns as one).
    pub phases: openevolve_db::IterationPhases,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Prompt(#[from] crate::prompt::PromptError),
    #[error("{what} {}: {source}", path.display())]
    Io { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error("the initial program could not be evaluated ({kind}): {message}")]
    InitialProgramFailed { kind: String, message: String },
    #[error("{0}")]
    Resume(String),
    #[error("LLM set-up failed: {0}")]
    Llm(String),
}

impl RunError {
    pub(crate) fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> RunError {
        let path = path.into();
        move |source| RunError::Io { what, path, source }
    }
}

/// Runs an evolution to its end: `max_iterations`, a stop rule, or a signal
/// on `shutdown`. Every committed iteration is in the database when this
/// returns, and a final checkpoint is written.
pub async fn run_evolution(
    options: RunOptions,
    evaluator: Arc<dyn openevolve_eval::Executor>,
    shutdown: watch::Receiver<Option<Interrupt>>,
) -> Result<RunSummary, RunError> {
    engine::Controller::open(options, evaluator)?.run(shutdown).await
}
