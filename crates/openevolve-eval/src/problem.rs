//! A problem as a user lays it out.
//!
//! A problem folder holds the initial program, an evaluator (`evaluator.rs`,
//! or an evaluator crate folder with `Cargo.toml` and `src/main.rs`) and, when
//! candidates use crates, `candidate.toml`. [`ProblemFiles::discover`] finds
//! and checks them; `factory.rs` turns them into the executor the config
//! asks for.

use std::path::{Path, PathBuf};

/// The candidates' dependency manifest, looked for beside the program and
/// then in the problem folder.
pub const CANDIDATE_MANIFEST: &str = "candidate.toml";

/// Where a problem's files are.
#[derive(Debug, Clone, PartialEq)]
pub struct ProblemFiles {
    /// `evaluator.rs`, or an evaluator crate folder.
    pub evaluator: PathBuf,
    /// `candidate.toml`: the candidates' `[dependencies]`, if any.
    pub candidate_manifest: Option<PathBuf>,
}

/// A problem's files are missing or not what they should be.
#[derive(Debug, thiserror::Error)]
pub enum ProblemError {
    #[error("evaluator {0}: an evaluator crate folder needs Cargo.toml and src/main.rs")]
    IncompleteEvaluatorCrate(PathBuf),
    #[error("evaluator {0}: expected a Rust file such as evaluator.rs, or an evaluator crate folder")]
    NotAnEvaluator(PathBuf),
    #[error("candidate manifest {0}: no such file")]
    NoManifest(PathBuf),
}

impl ProblemFiles {
    /// The files of the problem that `program` belongs to, evaluated by
    /// `evaluator`. The manifest is `manifest` when given, else
    /// `candidate.toml` beside the program, else beside the evaluator (the
    /// problem folder, for an `evaluator.rs` and a crate folder alike).
    pub fn discover(program: &Path, evaluator: &Path, manifest: Option<&Path>) -> Result<Self, ProblemError> {
        if evaluator.is_dir() {
            if !(evaluator.join("Cargo.toml").is_file() && evaluator.join("src/main.rs").is_file()) {
                return Err(ProblemError::IncompleteEvaluatorCrate(evaluator.to_path_buf()));
            }
        } else if !(evaluator.is_file() && evaluator.extension().is_some_and(|e| e == "rs")) {
            return Err(ProblemError::NotAnEvaluator(evaluator.to_path_buf()));
        }
        let candidate_manifest = match manifest {
            Some(path) if path.is_file() => Some(path.to_path_buf()),
            Some(path) => return Err(ProblemError::NoManifest(path.to_path_buf())),
            None => Self::beside(program, evaluator, CANDIDATE_MANIFEST),
        };
        Ok(Self { evaluator: evaluator.to_path_buf(), candidate_manifest })
    }

    /// The problem's file `name`: beside the program, else beside the
    /// evaluator (the problem folder), if either holds it.
    pub fn beside(program: &Path, evaluator: &Path, name: &str) -> Option<PathBuf> {
        [program, evaluator].iter().map(|p| folder_of(p).join(name)).find(|f| f.is_file())
    }
}

/// The folder holding `path` (`.` for a bare file name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `$XDG_CACHE_HOME/openevolve`, else `~/.cache/openevolve`, else the temp
/// directory's `openevolve`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("openevolve");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h).join(".cache").join("openevolve");
    }
    std::env::temp_dir().join("openevolve")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_finds_the_manifest_beside_the_program_then_the_evaluator_and_refuses_bad_evaluators() {
        let dir = tempfile::tempdir().unwrap();
        let problem = dir.path().join("problem");
        let variants = dir.path().join("variants");
        std::fs::create_dir_all(&problem).unwrap();
        std::fs::create_dir_all(&variants).unwrap();
        let evaluator = problem.join("evaluator.rs");
        std::fs::write(&evaluator, "fn main() {}").unwrap();
        std::fs::write(problem.join(CANDIDATE_MANIFEST), "[dependencies]\n").unwrap();
        let program = variants.join("fast.rs");

        // Not beside the program: the problem folder's.
        let found = ProblemFiles::discover(&program, &evaluator, None).unwrap();
        assert_eq!(found.candidate_manifest, Some(problem.join(CANDIDATE_MANIFEST)));
        // Beside the program wins.
        std::fs::write(variants.join(CANDIDATE_MANIFEST), "[dependencies]\n").unwrap();
        let found = ProblemFiles::discover(&program, &evaluator, None).unwrap();
        assert_eq!(found.candidate_manifest, Some(variants.join(CANDIDATE_MANIFEST)));

        let missing = dir.path().join("nowhere.toml");
        let err = ProblemFiles::discover(&program, &evaluator, Some(&missing)).unwrap_err();
        assert!(err.to_string().contains("nowhere.toml"), "{err}");

        let crate_dir = problem.join("evaluator");
        std::fs::create_dir_all(&crate_dir).unwrap();
        std::fs::write(crate_dir.join("Cargo.toml"), "[package]\n").unwrap();
        let err = ProblemFiles::discover(&program, &crate_dir, None).unwrap_err();
        assert!(matches!(err, ProblemError::IncompleteEvaluatorCrate(_)), "{err}");
        let err = ProblemFiles::discover(&program, &problem.join("evaluator.py"), None).unwrap_err();
        assert!(err.to_string().contains("evaluator.rs"), "{err}");
    }
}
