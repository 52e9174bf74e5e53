//! Building candidates into `cdylib` plugins and evaluating them: the
//! evaluator host, worker processes and their limits, cascades.
//!
//! A problem directory holds `initial.rs` (the candidate), `evaluator.rs`
//! (see `openevolve_sdk::evaluator!`) and optionally `candidate.toml` (the
//! crates candidates may use; see [`deps`]). [`EvaluatorHost::prepare`]
//! builds the dependency set and the evaluator once; then each child is
//! compiled alone with rustc ([`compile`]) and evaluated by the evaluator's
//! judge process, which runs the candidate in candidate processes of its
//! own ([`sandbox`], [`EvaluatorHost::evaluate_built`]); the host reads the
//! verdict from the judge alone.
//!
//! Cache layout (`cache_dir`, e.g. `$XDG_CACHE_HOME/openevolve`, see
//! [`default_cache_dir`]): `deps-<key>/{crate,target,deps.json}`, with
//! `candidates/<hash>/` and `evaluators/<hash>/` inside it, so a changed
//! dependency set never reuses a stale build; `scratch/` holds the workers'
//! private directories while they run.
//!
//! Evaluations run where `evaluator.executor` says: in local worker
//! processes ([`EvaluatorHost`]) or as Slurm jobs ([`SlurmExecutor`]); the
//! controller sees only the [`Executor`] trait.

mod cascade;
mod classify;
pub mod compile;
mod config;
pub mod deps;
pub mod diagnostics;
mod error;
mod evaluation;
mod executor;
mod factory;
pub mod fixes;
mod host;
mod inprocess;
pub mod manifest;
mod problem;
pub mod sdk_source;
pub mod slurm;
pub mod toolchain;
mod worker;

/// The limits of judge and candidate processes; the SDK owns them, since
/// the judge applies them to its candidate processes.
pub use openevolve_sdk::confine as sandbox;

pub use compile::{BuildFailure, BuiltCandidate, Compiler, Output};
pub use config::{EvaluatorConfig, ExecutorKind, SlurmConfig};
pub use deps::DepSet;
pub use error::PrepareError;
pub use evaluation::{
    Behaviour, Evaluation, Failure, FailureReason, KnownBehaviour, Timings, merge_samples, nothing_known,
};
pub use executor::{BoxFuture, Executor};
pub use factory::{ExecutorError, prepare_executor};
pub use host::{EvaluatorHost, FIXED_SOURCE_ARTIFACT};
pub use problem::{CANDIDATE_MANIFEST, ProblemError, ProblemFiles, default_cache_dir};
pub use slurm::SlurmExecutor;
pub use toolchain::Toolchain;
