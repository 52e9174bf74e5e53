//! Reading a database file that another process writes (the web view, a
//! script), through the rules this crate owns, without opening it for
//! writing. The schema stays this crate's: callers get typed rows, never
//! SQL.
//!
//! Every function takes a [`Reader`] the caller opened (the view pools
//! them, and opens checkpoints as immutable files) and runs one short
//! statement or a few, so no read snapshot outlives a call and the writer is
//! never held up.
//!
//! - [`grid_shape`] and [`feature_ranges`]: the grid the programs are binned
//!   on, and each cell key unfolded into its bins.
//! - [`programs`]: program rows page by page, one program in full, lineage,
//!   the lineage forest, cells and score points.
//! - [`iterations`]: the iteration log.
//! - [`run_stats`] and [`version`]: the run at a glance, and what changes
//!   when it writes.
//! - [`artifacts`]: a program's artifacts, inline or from their files.
//! - [`logged_prompt`] and [`logged_exchange`]: the prompt log, a second file.

pub mod artifacts;
pub mod iterations;
pub mod programs;
mod run;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use crate::database::META_CONFIG;
use crate::features::FeatureSpace;
use crate::{DatabaseConfig, DbError, FeatureBins, store};

pub use crate::types::BestProgram;
pub use run::{IslandBest, ModelUse, RunStats, RunUsage, Version, run_stats, version};

/// A database file (or its prompt log) opened read-only, for the functions
/// of this module: in WAL mode a reader sees the last commit and never
/// blocks the writer. What it holds is this crate's; a caller cannot run
/// SQL through it.
pub struct Reader {
    pub(crate) conn: Connection,
}

impl Reader {
    /// Opens `path` read-only. `immutable`: the file is taken never to
    /// change (a checkpoint), so SQLite neither locks it nor looks for a log.
    pub fn open(path: &Path, immutable: bool) -> Result<Self, DbError> {
        let uri = format!("file:{}?mode=ro{}", uri_path(path), if immutable { "&immutable=1" } else { "" });
        let flags =
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(uri, flags)?;
        // A writer mid-commit makes a reader wait briefly, never fail.
        conn.busy_timeout(std::time::Duration::from_secs(2))?;
        Ok(Self { conn })
    }

    /// As [`Self::open`], and reads once: the first read is what opens the
    /// `-shm` and `-wal` files, so a file this reader cannot use fails here.
    pub fn open_checked(path: &Path, immutable: bool) -> Result<Self, DbError> {
        let reader = Self::open(path, immutable)?;
        reader.conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))?;
        Ok(reader)
    }
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

/// Each grid dimension's current range, in dimension order: the one the
/// user fixed, or the values seen so far (`None` before the first). Reads
/// the file as it is now; observed ranges widen as programs arrive.
pub fn feature_ranges(reader: &Reader) -> Result<Vec<Option<[f64; 2]>>, DbError> {
    let conn = &reader.conn;
    let Some(stored) = store::meta(conn, META_CONFIG)? else { return Ok(Vec::new()) };
    let config: DatabaseConfig =
        serde_json::from_value(stored).map_err(|source| DbError::Json { what: "stored config", source })?;
    let mut space = FeatureSpace::new(&config, false);
    if !crate::grid::load_ranges(conn, &mut space)? {
        space = FeatureSpace::new(&config, true);
    }
    Ok(space.ranges())
}

/// A dimension of the grid: its name and its number of bins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridDimension {
    pub name: String,
    pub bins: u32,
}

/// The grid's shape and what a reader needs of the stored `database:`
/// settings. It cannot change for the life of a database.
#[derive(Debug, Clone)]
pub struct GridShape {
    pub dimensions: Vec<GridDimension>,
    pub num_islands: usize,
    /// `noise_z`: how many standard errors the best program is ranked by.
    pub noise_z: f64,
    /// `objectives` and `constraints`: the Pareto fronts, where given.
    pub objectives: Vec<crate::Objective>,
    pub constraints: Vec<String>,
    /// `artifacts_base_path` as the run was configured.
    pub artifacts_base_path: Option<PathBuf>,
}

impl GridShape {
    /// The bins of each dimension that `cell_key` folds.
    pub fn coords_of(&self, cell_key: i64) -> Vec<u32> {
        let mut key = cell_key as u64;
        let mut coords = vec![0u32; self.dimensions.len()];
        for (slot, dim) in coords.iter_mut().zip(&self.dimensions).rev() {
            let bins = u64::from(dim.bins.max(1));
            *slot = (key % bins) as u32;
            key /= bins;
        }
        coords
    }
}

/// The grid's shape, from the settings the database stored when it was
/// created; `None` while the writer has not stored them yet. Unknown
/// settings are ignored, so a file written by a newer build still reads.
pub fn grid_shape(reader: &Reader) -> Result<Option<GridShape>, DbError> {
    let conn = &reader.conn;
    #[derive(serde::Deserialize)]
    #[serde(default)]
    struct Stored {
        feature_dimensions: Vec<String>,
        feature_bins: FeatureBins,
        num_islands: usize,
        noise_z: f64,
        objectives: Vec<crate::Objective>,
        constraints: Vec<String>,
        artifacts_base_path: Option<String>,
    }
    impl Default for Stored {
        fn default() -> Self {
            let d = DatabaseConfig::default();
            Self {
                feature_dimensions: d.feature_dimensions,
                feature_bins: d.feature_bins,
                num_islands: d.num_islands,
                noise_z: d.noise_z,
                objectives: d.objectives,
                constraints: d.constraints,
                artifacts_base_path: d.artifacts_base_path,
            }
        }
    }
    let Some(value) = store::meta(conn, META_CONFIG)? else { return Ok(None) };
    let stored: Stored =
        serde_json::from_value(value).map_err(|source| DbError::Json { what: "stored config", source })?;
    let dimensions = stored
        .feature_dimensions
        .iter()
        .map(|name| GridDimension {
            name: name.clone(),
            bins: stored.feature_bins.for_dimension(name).max(1),
        })
        .collect();
    Ok(Some(GridShape {
        dimensions,
        num_islands: stored.num_islands.max(1),
        noise_z: stored.noise_z,
        objectives: stored.objectives,
        constraints: stored.constraints,
        artifacts_base_path: stored.artifacts_base_path.map(PathBuf::from),
    }))
}

/// A program's stored metrics; a null (a non-finite value) reads as NaN.
pub(crate) fn metrics_from_json(text: &str) -> Result<crate::Metrics, DbError> {
    let metrics: std::collections::BTreeMap<String, Option<f64>> =
        serde_json::from_str(text).map_err(|source| DbError::Json { what: "metrics", source })?;
    Ok(metrics.into_iter().map(|(k, v)| (k, v.unwrap_or(f64::NAN))).collect())
}

/// Each island's Pareto front by the stored `objectives` (empty without
/// them), computed as the database computes it.
pub fn fronts(reader: &Reader, shape: &GridShape) -> Result<Vec<Vec<crate::FrontMember>>, DbError> {
    let conn = &reader.conn;
    let mut candidates: Vec<Vec<(crate::ProgramId, Vec<f64>)>> = vec![Vec::new(); shape.num_islands];
    if !shape.objectives.is_empty() {
        let mut stmt = conn.prepare("SELECT id, island, metrics FROM programs ORDER BY id")?;
        let rows =
            stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)))?;
        for row in rows {
            let (id, island, metrics) = row?;
            let metrics = metrics_from_json(&metrics)?;
            let point = crate::objective_point(&shape.objectives, &shape.constraints, &metrics);
            if let (Some(point), Some(slot)) = (point, candidates.get_mut(island as usize)) {
                slot.push((id, point));
            }
        }
    }
    Ok(candidates.into_iter().map(|c| crate::front_of(&shape.objectives, c)).collect())
}

/// A program's prompt from the prompt log (`<db>.prompts`), in files
/// written before each iteration's exchange was logged.
pub fn logged_prompt(reader: &Reader, program: i64) -> Result<Option<String>, DbError> {
    let log = &reader.conn;
    Ok(log
        .query_row("SELECT prompt FROM prompts WHERE program_id = ?1", [program], |r| r.get(0))
        .optional()?)
}

/// An iteration's exchange with the LLM, from the prompt log.
pub fn logged_exchange(reader: &Reader, iteration: i64) -> Result<Option<String>, DbError> {
    let log = &reader.conn;
    Ok(log
        .query_row("SELECT exchange FROM exchanges WHERE iteration = ?1", [iteration], |r| r.get(0))
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_paths_escape_what_sqlite_would_read_as_query() {
        assert!(uri_path(Path::new("/a b/c?d#e%.db")).ends_with("/a%20b/c%3Fd%23e%25.db"));
    }

    #[test]
    fn coords_unfold_the_key_the_database_folds() {
        let config = DatabaseConfig {
            feature_dimensions: vec!["complexity".into(), "score".into()],
            feature_bins: FeatureBins::PerDimension([("complexity".into(), 3), ("score".into(), 5)].into()),
            ..DatabaseConfig::default()
        };
        let space = FeatureSpace::new(&config, false);
        let shape = GridShape {
            dimensions: vec![
                GridDimension { name: "complexity".into(), bins: 3 },
                GridDimension { name: "score".into(), bins: 5 },
            ],
            num_islands: 1,
            noise_z: 2.0,
            objectives: Vec::new(),
            constraints: Vec::new(),
            artifacts_base_path: None,
        };
        for coords in [[0, 0], [2, 4], [1, 3]] {
            assert_eq!(shape.coords_of(space.cell_key(&coords) as i64), coords);
        }
    }
}
