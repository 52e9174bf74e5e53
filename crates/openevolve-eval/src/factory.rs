//! The one place that turns a problem into an executor: what the config's
//! `evaluator.executor` asks for, the host's workers or Slurm jobs. Every
//! entry point (a run, a single evaluation, a bench, a library caller) goes
//! through [`prepare_executor`]; neither executor imports this module.

use std::path::Path;
use std::sync::Arc;

use crate::config::{EvaluatorConfig, ExecutorKind};
use crate::error::PrepareError;
use crate::executor::Executor;
use crate::host::EvaluatorHost;
use crate::problem::ProblemFiles;
use crate::slurm::{SlurmExecutor, SlurmPrepareError};

/// Preparing an executor failed.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error("cannot prepare the evaluator: {0}")]
    Local(#[from] PrepareError),
    #[error("cannot prepare the Slurm executor: {0}")]
    Slurm(#[from] SlurmPrepareError),
}

/// The executor `config.executor` names, ready to evaluate `problem`:
/// dependencies and evaluator built (or found in `cache_dir`). `run_scope`
/// names the run (its output folder): the Slurm executor finds the jobs of a
/// resumed run by it.
pub async fn prepare_executor(
    problem: &ProblemFiles,
    config: &EvaluatorConfig,
    cache_dir: &Path,
    run_scope: &Path,
) -> Result<Arc<dyn Executor>, ExecutorError> {
    Ok(match config.executor {
        ExecutorKind::Local => Arc::new(EvaluatorHost::prepare(problem, config, cache_dir).await?),
        ExecutorKind::Slurm => {
            let scope = std::fs::canonicalize(run_scope).unwrap_or_else(|_| run_scope.to_path_buf());
            Arc::new(SlurmExecutor::prepare(problem, config, cache_dir, &scope.to_string_lossy()).await?)
        }
    })
}
