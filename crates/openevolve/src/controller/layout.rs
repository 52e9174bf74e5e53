//! Where a run keeps its files. One place names them, so the controller, the
//! CLI and the docs agree.

use std::path::{Path, PathBuf};

/// The output directory of a run and the files in it.
#[derive(Debug, Clone)]
pub struct RunLayout {
    pub root: PathBuf,
}

impl RunLayout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The program database (SQLite, WAL mode).
    pub fn database(&self) -> PathBuf {
        self.root.join(DATABASE_FILE)
    }

    /// `best/`: the best program's source and its metrics and lineage.
    pub fn best_dir(&self) -> PathBuf {
        self.root.join("best")
    }

    pub fn checkpoints_dir(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// `checkpoints/checkpoint_N/`, written after iteration N.
    pub fn checkpoint(&self, iteration: u64) -> PathBuf {
        self.checkpoints_dir().join(format!("checkpoint_{iteration}"))
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// A JSON summary of the finished (or interrupted) run.
    pub fn summary(&self) -> PathBuf {
        self.root.join("summary.json")
    }
}

/// Name of the database file in a run directory and in each checkpoint.
pub const DATABASE_FILE: &str = "evolution.db";
/// Files of the best program, in `best/` and in each checkpoint.
pub const BEST_PROGRAM_FILE: &str = "best_program.rs";
pub const BEST_INFO_FILE: &str = "best_program_info.json";
/// The controller's own state in a checkpoint.
pub const STATE_FILE: &str = "state.json";
/// The config the run used, secrets masked.
pub const CONFIG_FILE: &str = "config.yaml";

/// Whether `dir` is a checkpoint (holds a database snapshot and state) rather
/// than a run directory.
pub fn is_checkpoint(dir: &Path) -> bool {
    dir.join(DATABASE_FILE).is_file() && dir.join(STATE_FILE).is_file()
}
