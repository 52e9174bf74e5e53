//! The program database: every program a run has seen, the MAP-Elites grid of
//! each island, the elite archive and the run's own bookkeeping, in one SQLite
//! file.

mod config;

pub use config::{DatabaseConfig, FeatureBins};
