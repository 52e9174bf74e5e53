//! The crate that openevolve-rs candidates and evaluators compile against.
//!
//! * A **candidate** is one Rust source file built as a `cdylib`. Its fixed
//!   part (outside the EVOLVE-BLOCK regions) names its entry points with
//!   [`export_candidate!`], which exports, per entry, a symbol holding the
//!   function pointer and its type as text, and once per candidate the
//!   [`AbiFingerprint`].
//! * An **evaluator** defines `fn evaluate(candidate: &Candidate) ->
//!   EvaluationResult` (optionally `evaluate_stage1/2/3` for cascades) and calls
//!   [`evaluator!`], which generates the `main` of the evaluator's
//!   executable and a C-ABI entry for the opt-in in-process mode. It reaches
//!   the candidate's functions with [`candidate_fn!`], which refuses a type
//!   mismatch.
//!
//! **Sealed evaluation.** `evaluate` runs in a *judge* process that never
//! maps the candidate library. The candidate runs in *candidate processes*
//! the judge starts from its own executable (under the evaluation's memory,
//! CPU and file-system limits, see [`confine`]); a [`candidate_fn!`] proxy
//! encodes the arguments ([`wire`]), crosses a socket pair, and decodes the
//! result. The judge reports its verdict to the host on a descriptor no
//! candidate process inherits. So whatever the candidate does at load
//! time or in a call, it can change only the values it returns, which the
//! evaluator checks, and the time and memory its own processes use, which
//! the judge and the kernel measure.
//!
//! Inside the candidate process, passing a Rust-ABI function pointer across
//! the `cdylib` boundary is sound in practice only when both sides were
//! built by the same compiler against the same SDK and the same dependency
//! set; the fingerprint (SDK version, rustc version, dependency-set hash)
//! is checked before anything is called, and a mismatch is refused with a
//! message naming what differs.
//!
//! ```ignore
//! // initial.rs (a candidate)
//! // EVOLVE-BLOCK-START
//! pub fn search(iterations: usize, seed: u64) -> (f64, f64) { (0.0, 0.0) }
//! // EVOLVE-BLOCK-END
//! openevolve_sdk::export_candidate! { search: fn(usize, u64) -> (f64, f64) }
//!
//! // evaluator.rs
//! use openevolve_sdk::{Candidate, EvaluationResult};
//! fn evaluate(candidate: &Candidate) -> Result<EvaluationResult, openevolve_sdk::CandidateError> {
//!     let search = openevolve_sdk::candidate_fn!(candidate, search: fn(usize, u64) -> (f64, f64))?;
//!     let (x, y) = search(1000, 42);
//!     Ok(EvaluationResult::new().metric("combined_score", 1.0 / (1.0 + x * x + y * y)))
//! }
//! openevolve_sdk::evaluator!(evaluate);
//! ```
//!
//! The SDK has no dependencies: it declares the few Linux calls it makes
//! (`dlopen`, `wait4`, Landlock, rlimits) itself and writes its small JSON
//! by hand.

mod abi;
mod candidate;
pub mod confine;
mod failure;
mod judge;
mod macros;
mod measure;
mod no_spawn;
mod process;
mod result;
mod serve;
mod sys;
pub mod verdict;
pub mod wire;
#[doc(hidden)]
pub mod worker;

pub use abi::{ABI_LAYOUT, AbiFingerprint, AbiStr, CandidateEntry, RUSTC_VERSION, SDK_VERSION, ServeEntry};
pub use candidate::{CandidateError, Library, normalize_type};
pub use failure::{CandidateFailure, FailureKind, classify_death};
pub use judge::{Candidate, ProcessRole};
pub use measure::Paused;
pub use process::{CandidateProcess, ProcessEnd};
pub use result::{
    EvaluationResult, Fitness, IntoEvaluation, REJECTED_ARTIFACT, STDERR_SUFFIX, StageOutcome, fitness,
    fitness_with_stderr,
};
pub use serve::{NO_CANDIDATE, RoutineFn, Routines};
pub use sys::Exit;
pub use wire::{Wire, WireFn};
