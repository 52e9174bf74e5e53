//! The run being viewed: where its database is, and read-only connections to
//! it that never take a lock the writer waits on.
//!
//! Each connection is opened with `SQLITE_OPEN_READ_ONLY`; in WAL mode a reader
//! sees the last commit and never blocks the run's writer. Every query is one
//! short statement (or a few), so no read snapshot is held between requests
//! and the writer's checkpoints can always reach the end of the log. A
//! checkpoint directory never changes and may sit on a read-only path, so it
//! is opened with `immutable=1`, which needs neither a `-shm` nor a `-wal` file;
//! any database that cannot be opened the ordinary read-only way (a read-only
//! folder without a `-shm` file) falls back to the same.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use crate::ViewError;

/// Name of the database file in a run directory and in each checkpoint.
const DATABASE_FILE: &str = "evolution.db";
/// What marks a checkpoint directory (beside its database).
const STATE_FILE: &str = "state.json";
/// Connections kept for reuse; more may be open at once under load.
const POOL_SIZE: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// An output directory of `openevolve run` (finished or still running).
    Run,
    /// `checkpoints/checkpoint_N/`: a snapshot that never changes.
    Checkpoint,
    /// A database file given directly.
    Database,
}

/// A feature dimension of the MAP-Elites grid.
#[derive(Debug, Clone, Serialize)]
pub struct Dimension {
    pub name: String,
    pub bins: u32,
    /// What the bins split now: fixed, or the values seen so far (`None`
    /// before the first). Filled per request: observed ranges widen.
    pub range: Option<[f64; 2]>,
}

/// The grid's shape and the settings a viewer needs from `db.config`.
#[derive(Debug, Clone, Serialize)]
pub struct GridSpace {
    pub dimensions: Vec<Dimension>,
    pub num_islands: usize,
    #[serde(skip)]
    pub artifacts_base_path: Option<PathBuf>,
}

impl GridSpace {
    /// Reads the stored `database:` config. Unknown keys are ignored, so a
    /// database written by a newer build still shows.
    fn from_config(value: &serde_json::Value) -> Result<Self, ViewError> {
        #[derive(serde::Deserialize)]
        #[serde(default)]
        struct Stored {
            feature_dimensions: Vec<String>,
            feature_bins: openevolve_db::FeatureBins,
            feature_ranges: std::collections::BTreeMap<String, [f64; 2]>,
            num_islands: usize,
            artifacts_base_path: Option<String>,
        }
        impl Default for Stored {
            fn default() -> Self {
                let d = openevolve_db::DatabaseConfig::default();
                Self {
                    feature_dimensions: d.feature_dimensions,
                    feature_bins: d.feature_bins,
                    feature_ranges: d.feature_ranges,
                    num_islands: d.num_islands,
                    artifacts_base_path: d.artifacts_base_path,
                }
            }
        }
        let stored: Stored = serde_json::from_value(value.clone()).map_err(|source| ViewError::Json {
            what: "the stored database config (meta db.config)".into(),
            source,
        })?;
        // The database crate's own rule for bins.
        let config = openevolve_db::DatabaseConfig {
            feature_dimensions: stored.feature_dimensions.clone(),
            feature_bins: stored.feature_bins.clone(),
            feature_ranges: stored.feature_ranges.clone(),
            ..Default::default()
        };
        let dimensions = stored
            .feature_dimensions
            .iter()
            .map(|name| Dimension {
                name: name.clone(),
                bins: config.feature_bins.for_dimension(name).max(1),
                range: None,
            })
            .collect();
        Ok(Self {
            dimensions,
            num_islands: stored.num_islands.max(1),
            artifacts_base_path: stored.artifacts_base_path.map(PathBuf::from),
        })
    }

    /// The per-dimension bins folded into `cell_key` (mixed radix, first
    /// dimension most significant), as the database crate folds them.
    pub fn coords_of(&self, key: i64) -> Vec<u32> {
        let mut key = key as u64;
        let mut coords = vec![0u32; self.dimensions.len()];
        for (slot, dim) in coords.iter_mut().zip(&self.dimensions).rev() {
            *slot = (key % dim.bins as u64) as u32;
            key /= dim.bins as u64;
        }
        coords
    }
}

/// The run being viewed.
pub struct RunSource {
    /// The directory shown (run, checkpoint, or the database's folder).
    pub dir: PathBuf,
    pub db_path: PathBuf,
    pub kind: RunKind,
    /// Opened with `immutable=1`: the file is taken never to change.
    pub immutable: bool,
    pool: Mutex<Vec<Connection>>,
    space: OnceLock<Arc<GridSpace>>,
}

impl RunSource {
    /// Finds the database of `path` (a run directory, a checkpoint directory
    /// or a database file) and checks that it opens read-only.
    pub fn open(path: &Path) -> Result<Self, ViewError> {
        if !path.exists() {
            return Err(ViewError::NoSuchPath(path.to_path_buf()));
        }
        let (dir, db_path, kind) = if path.is_dir() {
            let db = path.join(DATABASE_FILE);
            if !db.is_file() {
                return Err(ViewError::NoDatabase(path.to_path_buf()));
            }
            let kind = if path.join(STATE_FILE).is_file() { RunKind::Checkpoint } else { RunKind::Run };
            (path.to_path_buf(), db, kind)
        } else {
            let dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            (dir, path.to_path_buf(), RunKind::Database)
        };
        let wal = with_suffix(&db_path, "-wal");
        // A snapshot with a pending log is read the ordinary way, log included.
        let prefer_immutable = kind == RunKind::Checkpoint && !wal.exists();
        let open_checked = |immutable: bool| -> Result<Connection, rusqlite::Error> {
            let conn = open_connection(&db_path, immutable)?;
            // The first read is what opens the -shm and -wal files.
            conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))?;
            Ok(conn)
        };
        let (conn, immutable) = if prefer_immutable {
            (open_checked(true).map_err(|source| ViewError::Open { path: db_path.clone(), source })?, true)
        } else {
            match open_checked(false) {
                Ok(conn) => (conn, false),
                Err(first) => match open_checked(true) {
                    Ok(conn) => {
                        tracing::info!("{} opened as immutable: {first}", db_path.display());
                        (conn, true)
                    }
                    Err(_) => return Err(ViewError::Open { path: db_path, source: first }),
                },
            }
        };
        Ok(Self { dir, db_path, kind, immutable, pool: Mutex::new(vec![conn]), space: OnceLock::new() })
    }

    /// Runs `f` on a pooled read-only connection.
    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, ViewError>) -> Result<T, ViewError> {
        let pooled = self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => open_connection(&self.db_path, self.immutable)
                .map_err(|source| ViewError::Open { path: self.db_path.clone(), source })?,
        };
        let result = f(&conn).map_err(not_ready);
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < POOL_SIZE {
            pool.push(conn);
        }
        result
    }

    /// The grid's shape, read once from the stored config (it cannot change
    /// for the life of a database).
    pub fn space(&self, conn: &Connection) -> Result<Arc<GridSpace>, ViewError> {
        if let Some(space) = self.space.get() {
            return Ok(Arc::clone(space));
        }
        let text: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'db.config'", [], |r| r.get(0))
            .optional()
            .map_err(|e| not_ready(e.into()))?;
        let Some(text) = text else { return Err(ViewError::NotReady) };
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|source| ViewError::Json { what: "meta db.config".into(), source })?;
        let space = Arc::new(GridSpace::from_config(&value)?);
        Ok(Arc::clone(self.space.get_or_init(|| space)))
    }

    /// A program's prompt from the prompt log, a second SQLite file beside
    /// the database (`evolution.db.prompts`), in files written before each
    /// iteration's exchange was logged.
    pub fn logged_prompt(&self, id: i64) -> Result<Option<String>, ViewError> {
        self.read_prompt_log("SELECT prompt FROM prompts WHERE program_id = ?1", id)
    }

    /// An iteration's exchange with the LLM, from the prompt log.
    pub fn logged_exchange(&self, iteration: i64) -> Result<Option<String>, ViewError> {
        self.read_prompt_log("SELECT exchange FROM exchanges WHERE iteration = ?1", iteration)
    }

    /// One text from the prompt log. A checkpoint has no log of its own;
    /// its run's log, two folders up, holds the same iterations.
    fn read_prompt_log(&self, sql: &str, key: i64) -> Result<Option<String>, ViewError> {
        let own = with_suffix(&self.db_path, ".prompts");
        let candidates = match self.kind {
            RunKind::Checkpoint => {
                let run = self
                    .dir
                    .parent()
                    .and_then(Path::parent)
                    .map(|run| run.join(format!("{DATABASE_FILE}.prompts")));
                vec![Some(own), run]
            }
            _ => vec![Some(own)],
        };
        let read =
            |conn: &rusqlite::Connection| conn.query_row(sql, [key], |r| r.get::<_, String>(0)).optional();
        for path in candidates.into_iter().flatten().filter(|p| p.is_file()) {
            let conn = match open_connection(&path, false) {
                Ok(conn) => conn,
                Err(_) => open_connection(&path, true)
                    .map_err(|source| ViewError::Open { path: path.clone(), source })?,
            };
            match read(&conn) {
                Ok(Some(text)) => return Ok(Some(text)),
                Ok(None) => {}
                // A log without its table yet, or one the read-only open cannot
                // map: try it as an immutable file before giving up on it.
                Err(_) => {
                    if let Ok(conn) = open_connection(&path, true)
                        && let Ok(Some(text)) = read(&conn)
                    {
                        return Ok(Some(text));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Where large artifacts live: `artifacts_base_path`, else the folder
    /// named after the database file, beside it.
    pub fn artifacts_dir(&self, space: &GridSpace) -> PathBuf {
        match &space.artifacts_base_path {
            Some(dir) if self.kind == RunKind::Run => dir.clone(),
            _ => with_suffix(&self.db_path, ".artifacts"),
        }
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// A missing table means the writer has created the file but not its schema.
fn not_ready(err: ViewError) -> ViewError {
    match &err {
        ViewError::Sqlite(rusqlite::Error::SqliteFailure(_, Some(msg)))
            if msg.starts_with("no such table") =>
        {
            ViewError::NotReady
        }
        _ => err,
    }
}

fn open_connection(path: &Path, immutable: bool) -> Result<Connection, rusqlite::Error> {
    let uri = format!("file:{}?mode=ro{}", uri_path(path), if immutable { "&immutable=1" } else { "" });
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // A writer mid-commit makes a reader wait briefly, never fail.
    conn.busy_timeout(std::time::Duration::from_secs(2))?;
    Ok(conn)
}

/// A path as the path part of an SQLite `file:` URI: bytes other than
/// unreserved characters and `/` percent-encoded.
fn uri_path(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = String::new();
    for &b in absolute.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_paths_escape_what_sqlite_would_read_as_query() {
        assert_eq!(uri_path(Path::new("/a b/c?d#e%.db")), "/a%20b/c%3Fd%23e%25.db");
    }

    #[test]
    fn coords_unfold_the_mixed_radix_key() {
        let space = GridSpace {
            dimensions: vec![
                Dimension { name: "a".into(), bins: 3, range: None },
                Dimension { name: "b".into(), bins: 5, range: None },
            ],
            num_islands: 1,
            artifacts_base_path: None,
        };
        // key = a * 5 + b
        assert_eq!(space.coords_of(2 * 5 + 4), vec![2, 4]);
        assert_eq!(space.coords_of(0), vec![0, 0]);
    }
}
