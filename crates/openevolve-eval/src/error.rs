//! Errors of preparing a host (building dependencies and the evaluator).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("cannot use the Rust toolchain: {0}")]
    Toolchain(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("building the candidate dependencies failed:\n{0}")]
    DepsBuild(String),
    #[error("building the evaluator failed:\n{0}")]
    EvaluatorBuild(String),
    #[error("no evaluator at {0} (expected evaluator.rs or an evaluator crate directory)")]
    NoEvaluator(PathBuf),
    #[error("the evaluator misbehaved while describing itself: {0}")]
    EvaluatorDescribe(String),
    #[error("invalid evaluator config: {0}")]
    Config(String),
}

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> PrepareError {
    let path = path.into();
    move |source| PrepareError::Io { path, source }
}
