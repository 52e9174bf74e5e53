//! The program database: every program a run has seen, the MAP-Elites grid of
//! each island, the elite archive and the run's own bookkeeping, in one SQLite
//! file.
//!
//! - **Durability.** WAL mode with `synchronous=NORMAL`. An iteration is one
//!   transaction, opened and ended by `commit_iteration`: the child's
//!   `insert` joins it (a savepoint), the iteration's record and the
//!   controller's state follow, and an error anywhere rolls all of it back.
//!   Outside an iteration each `insert` commits on its own before it
//!   returns. Killing the process never loses a commit; a power loss may
//!   drop the last few (FULL would fsync each).
//! - **Ids** are SQLite integers in insert order, never reused: the same calls
//!   give the same ids.
//! - **Grid.** Each island has its own MAP-Elites grid over
//!   `feature_dimensions`. A dimension's bins split the range the user fixed
//!   (`feature_ranges`; values outside fall into the edge bins) or else the
//!   range of the values seen so far, saved in the file; when it widens,
//!   every program is re-binned from its stored values and each cell goes
//!   to its fittest program. `diversity` is the mean Jaccard
//!   distance of token bigrams to the fittest `diversity_reference_size`
//!   programs, fixed when the program is stored.
//! - **Replacement.** A program takes its cell when empty or when strictly
//!   fitter than the occupant. A cell emptied by eviction stays empty until
//!   the next program lands there.
//! - **Prompt log.** Each iteration's exchange with the LLM (failed ones
//!   included) goes to a second SQLite file beside the database
//!   (`<name>.prompts`, attached as schema `log`), so that checkpoint
//!   snapshots copy programs, grids and state but not megabytes of prompts.
//!   A program's prompt is the exchange of the iteration that found it.
//! - **Memory.** RAM holds per program only id, island, cell and fitness, in
//!   ordered structures; code, metrics and artifacts stay in the file.
//! - **Determinism.** Sampling draws from a ChaCha8 stream seeded from
//!   `random_seed` (kept in the file with its position), through candidate
//!   lists in id or rank order.

mod config;
mod database;
mod error;
mod features;
mod fenwick;
mod fitness;
mod grid;
mod identity;
mod index;
mod iterations;
mod migration;
mod noise;
mod pareto;
mod placement;
mod queries;
pub mod read;
mod rng;
mod sampling;
mod schema;
mod snapshot;
mod store;
mod types;

pub use config::{DatabaseConfig, FeatureBins};
pub use database::ProgramDatabase;
pub use error::DbError;
pub use fitness::fitness;
pub use grid::META_FEATURE_RANGES;
pub use identity::normalize_code;
pub use iterations::IterationEntry;
pub use pareto::{
    Direction, FrontMember, Objective, crowding_distances, dominates, front_of, non_dominated,
    objective_point,
};
pub use snapshot::prompt_log_path;
pub use types::{
    Artifact, BestProgram, CellChange, CellOccupant, InsertOutcome, IterationPhases, IterationRecord,
    Metrics, MigrationReport, Mutation, NewProgram, Outcome, Program, ProgramId, ShownPrograms,
};
