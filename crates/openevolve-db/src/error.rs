//! Everything that can go wrong in the program database.

use std::path::PathBuf;

use crate::ProgramId;

/// An error of the program database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("artifact file {path}: {source}")]
    ArtifactFile { path: PathBuf, source: std::io::Error },
    #[error("stored JSON ({what}) is unreadable: {source}")]
    Json { what: &'static str, source: serde_json::Error },
    #[error("invalid database config: {0}")]
    InvalidConfig(String),
    #[error(
        "database file has schema version {found}, newer than this build knows ({known}); use a newer openevolve"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error(
        "config changes `{key}` of an existing database (stored {stored}, given {given}); grid cells would no longer mean the same, start a new database"
    )]
    ConfigMismatch { key: &'static str, stored: String, given: String },
    #[error(
        "feature dimension `{dimension}` is neither built in (complexity, diversity, score) nor a metric the evaluator returned (got: {available})"
    )]
    MissingFeatureMetric { dimension: String, available: String },
    #[error("island {island} does not exist (num_islands is {num_islands})")]
    NoSuchIsland { island: usize, num_islands: usize },
    #[error("program {0} is not in the database")]
    NoSuchProgram(ProgramId),
    #[error("the database holds no programs yet")]
    Empty,
}

impl DbError {
    /// Whether a table the read needs is not there yet: the writer has
    /// created the file but not its schema.
    pub fn is_missing_table(&self) -> bool {
        matches!(self, DbError::Sqlite(rusqlite::Error::SqliteFailure(_, Some(message)))
            if message.starts_with("no such table"))
    }
}
