//! Consistent copies of a database, for checkpoints: SQLite's online backup
//! API for the file, and hard links (copies where linking fails) for the
//! large-artifact files, which never change once written.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, MAIN_DB};

use crate::{DbError, ProgramDatabase};

/// Where large artifacts live when `artifacts_base_path` is not set: a folder
/// named after the database file, beside it.
pub(crate) fn default_artifacts_dir(db_path: &Path) -> PathBuf {
    beside(db_path, "artifacts")
}

/// The prompt log of the database at `db_path`: a file named after it, beside it.
pub fn prompt_log_path(db_path: &Path) -> PathBuf {
    beside(db_path, "prompts")
}

fn beside(db_path: &Path, suffix: &str) -> PathBuf {
    let name = db_path.file_name().map_or("evolution.db".into(), |n| n.to_string_lossy().into_owned());
    db_path.with_file_name(format!("{name}.{suffix}"))
}

impl ProgramDatabase {
    /// Writes a consistent copy of the database to `path` (which must not
    /// exist), with its large artifacts beside it as the default layout
    /// expects. The copy reflects every insert that returned before the call.
    /// The prompt log is not copied: it is not needed to continue a run, and
    /// copying it at every checkpoint would make checkpoints grow with the
    /// square of the run's length.
    pub fn snapshot_to(&self, path: impl AsRef<Path>) -> Result<(), DbError> {
        let path = path.as_ref();
        self.conn.backup(MAIN_DB, path, None::<fn(rusqlite::backup::Progress)>)?;
        let files: Vec<String> = self
            .conn
            .prepare("SELECT DISTINCT file FROM artifacts WHERE file IS NOT NULL")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let target_dir = default_artifacts_dir(path);
        for relative in files {
            link_or_copy(&self.artifacts_dir.join(&relative), &target_dir.join(&relative))?;
        }
        Ok(())
    }

    /// Copies snapshot `snapshot` (made by [`ProgramDatabase::snapshot_to`])
    /// to `target`, which must not exist yet, with its artifacts.
    pub fn restore_snapshot(snapshot: impl AsRef<Path>, target: impl AsRef<Path>) -> Result<(), DbError> {
        let (snapshot, target) = (snapshot.as_ref(), target.as_ref());
        let source = Connection::open_with_flags(snapshot, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        source.backup(MAIN_DB, target, None::<fn(rusqlite::backup::Progress)>)?;
        let files: Vec<String> = source
            .prepare("SELECT DISTINCT file FROM artifacts WHERE file IS NOT NULL")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let (from_dir, to_dir) = (default_artifacts_dir(snapshot), default_artifacts_dir(target));
        for relative in files {
            link_or_copy(&from_dir.join(&relative), &to_dir.join(&relative))?;
        }
        Ok(())
    }
}

impl ProgramDatabase {
    /// Copies from the prompt log at `log` the exchanges of iterations and
    /// the prompts of programs this database holds (a run resumed from a
    /// checkpoint takes them from the run the checkpoint belongs to).
    /// Returns how many were copied.
    pub fn import_prompts(&self, log: &Path) -> Result<usize, DbError> {
        self.conn.execute("ATTACH DATABASE ?1 AS source", [log.to_string_lossy()])?;
        let copied = (|| -> Result<usize, DbError> {
            let has_exchanges: bool = self.conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM source.sqlite_master WHERE name = 'exchanges')",
                [],
                |r| r.get(0),
            )?;
            let mut copied = self.conn.execute(
                "INSERT OR IGNORE INTO log.prompts (program_id, prompt) \
                 SELECT program_id, prompt FROM source.prompts WHERE program_id IN (SELECT id FROM main.programs)",
                [],
            )?;
            if has_exchanges {
                copied += self.conn.execute(
                    "INSERT OR IGNORE INTO log.exchanges (iteration, exchange) \
                     SELECT iteration, exchange FROM source.exchanges \
                     WHERE iteration IN (SELECT iteration FROM main.iterations)",
                    [],
                )?;
            }
            Ok(copied)
        })();
        self.conn.execute("DETACH DATABASE source", [])?;
        copied
    }
}

fn link_or_copy(from: &Path, to: &Path) -> Result<(), DbError> {
    let io = |source| DbError::ArtifactFile { path: to.to_path_buf(), source };
    std::fs::create_dir_all(to.parent().expect("artifact files sit in a folder")).map_err(io)?;
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map_err(io)?;
    }
    Ok(())
}
