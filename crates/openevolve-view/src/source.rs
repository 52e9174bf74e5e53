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

use openevolve_db::read::{self, GridShape, Reader};
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

/// A feature dimension of the MAP-Elites grid, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Dimension {
    pub name: String,
    pub bins: u32,
    /// What the bins split now: fixed, or the values seen so far (`None`
    /// before the first). Filled per request: observed ranges widen.
    pub range: Option<[f64; 2]>,
}

/// The grid's shape (the database crate's [`GridShape`]), and its
/// dimensions as the API shows them.
#[derive(Debug, Clone)]
pub struct GridSpace {
    pub shape: GridShape,
    pub dimensions: Vec<Dimension>,
}

impl GridSpace {
    fn new(shape: GridShape) -> Self {
        let dimensions = shape
            .dimensions
            .iter()
            .map(|d| Dimension { name: d.name.clone(), bins: d.bins, range: None })
            .collect();
        Self { shape, dimensions }
    }

    pub fn num_islands(&self) -> usize {
        self.shape.num_islands
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
    pool: Mutex<Vec<Reader>>,
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
        let open_checked = |immutable: bool| Reader::open_checked(&db_path, immutable);
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
    pub fn with<T>(&self, f: impl FnOnce(&Reader) -> Result<T, ViewError>) -> Result<T, ViewError> {
        let pooled = self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => Reader::open(&self.db_path, self.immutable)
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
    pub fn space(&self, reader: &Reader) -> Result<Arc<GridSpace>, ViewError> {
        if let Some(space) = self.space.get() {
            return Ok(Arc::clone(space));
        }
        let shape = read::grid_shape(reader).map_err(|e| not_ready(e.into()))?.ok_or(ViewError::NotReady)?;
        Ok(Arc::clone(self.space.get_or_init(|| Arc::new(GridSpace::new(shape)))))
    }

    /// A program's prompt from the prompt log, a second SQLite file beside
    /// the database (`evolution.db.prompts`), in files written before each
    /// iteration's exchange was logged.
    pub fn logged_prompt(&self, id: i64) -> Result<Option<String>, ViewError> {
        self.read_prompt_log(|log| read::logged_prompt(log, id))
    }

    /// An iteration's exchange with the LLM, from the prompt log.
    pub fn logged_exchange(&self, iteration: i64) -> Result<Option<String>, ViewError> {
        self.read_prompt_log(|log| read::logged_exchange(log, iteration))
    }

    /// One text from the prompt log. A checkpoint has no log of its own;
    /// its run's log, two folders up, holds the same iterations.
    fn read_prompt_log(
        &self,
        read: impl Fn(&Reader) -> Result<Option<String>, openevolve_db::DbError>,
    ) -> Result<Option<String>, ViewError> {
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
        for path in candidates.into_iter().flatten().filter(|p| p.is_file()) {
            let conn = match Reader::open(&path, false) {
                Ok(conn) => conn,
                Err(_) => Reader::open(&path, true)
                    .map_err(|source| ViewError::Open { path: path.clone(), source })?,
            };
            match read(&conn) {
                Ok(Some(text)) => return Ok(Some(text)),
                Ok(None) => {}
                // A log without its table yet, or one the read-only open cannot
                // map: try it as an immutable file before giving up on it.
                Err(_) => {
                    if let Ok(conn) = Reader::open(&path, true)
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
        match &space.shape.artifacts_base_path {
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
        ViewError::Db(db) if db.is_missing_table() => ViewError::NotReady,
        _ => err,
    }
}
