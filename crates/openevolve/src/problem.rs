//! A problem to evolve: the initial program, read and checked, and its
//! evaluator's files ([`openevolve_eval::ProblemFiles`]). Entry points build
//! one with [`Problem::discover`] before anything starts, and the executor
//! with [`openevolve_eval::prepare_executor`].

use std::path::{Path, PathBuf};

use openevolve_eval::{ProblemError, ProblemFiles};

use crate::regions::{RegionError, evolve_regions};

/// A checked problem: its initial program has intact EVOLVE-BLOCK regions
/// and its evaluator exists.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The initial program's source.
    pub initial_program: String,
    pub files: ProblemFiles,
}

/// What is wrong with a problem's files, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum InvalidProblem {
    #[error("cannot read initial program {path}: {source}")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("initial program {path}: {source}")]
    Regions { path: PathBuf, source: RegionError },
    #[error(transparent)]
    Files(#[from] ProblemError),
}

impl Problem {
    /// Reads `initial` and checks its regions, and finds the evaluator's
    /// files ([`ProblemFiles::discover`]; `manifest` overrides the
    /// `candidate.toml` found beside the program or the evaluator).
    pub fn discover(
        initial: &Path,
        evaluator: &Path,
        manifest: Option<&Path>,
    ) -> Result<Self, InvalidProblem> {
        let initial_program = std::fs::read_to_string(initial)
            .map_err(|source| InvalidProblem::Unreadable { path: initial.to_path_buf(), source })?;
        evolve_regions(&initial_program)
            .map_err(|source| InvalidProblem::Regions { path: initial.to_path_buf(), source })?;
        let files = ProblemFiles::discover(initial, evaluator, manifest)?;
        Ok(Self { initial_program, files })
    }
}
