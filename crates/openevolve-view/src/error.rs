//! What can go wrong while opening a run or answering a request.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("{0} does not exist")]
    NoSuchPath(PathBuf),
    #[error("{0} holds no evolution.db: give a run directory, a checkpoint directory or a database file")]
    NoDatabase(PathBuf),
    #[error("cannot open the run database {path} read-only: {source}")]
    Open { path: PathBuf, source: openevolve_db::DbError },
    #[error("the run database has no tables yet (the run is starting); try again in a moment")]
    NotReady,
    #[error("no program {0}")]
    NoSuchProgram(i64),
    #[error("no iteration {0} is recorded")]
    NoSuchIteration(i64),
    #[error("program {id} has no artifact `{name}`")]
    NoSuchArtifact { id: i64, name: String },
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("{0}")]
    Db(#[from] openevolve_db::DbError),
    #[error("{what} is not valid JSON: {source}")]
    Json { what: String, source: serde_json::Error },
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("a background task failed: {0}")]
    Task(String),
}
