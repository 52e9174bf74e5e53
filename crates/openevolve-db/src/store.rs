//! Rows in and out of SQLite: programs, artifacts and meta values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::{Artifact, DbError, Metrics, Mutation, Program, ProgramId};

/// Columns of a program row, in the order `read_program` expects.
/// A program's prompt is the exchange of the iteration that found it, in the
/// attached prompt log (`log.exchanges`); rows written before exchanges
/// were logged keep theirs in `log.prompts` or, older still, `programs.prompt`.
pub(crate) const PROGRAM_COLUMNS: &str = "id, code, code_hash, language, parent_id, island, \
    generation, iteration_found, metrics, fitness, features, cell_key, model, mutation, \
    COALESCE(prompt, (SELECT p.prompt FROM log.prompts p WHERE p.program_id = programs.id), \
    (SELECT e.exchange FROM log.exchanges e WHERE e.iteration = programs.iteration_found \
     AND programs.iteration_found > 0)), \
    migrated_from, created_at_ms, fitness_stderr, samples";

/// A program row to write; `id` and the timestamp are assigned on insert.
pub(crate) struct ProgramRow<'a> {
    pub code: &'a str,
    pub code_hash: &'a str,
    pub language: &'a str,
    pub parent_id: Option<ProgramId>,
    pub island: usize,
    pub generation: u64,
    pub iteration_found: u64,
    pub metrics: &'a Metrics,
    pub fitness: f64,
    pub fitness_stderr: f64,
    pub samples: u32,
    pub features: &'a [f64],
    pub cell_key: u64,
    pub model: Option<&'a str>,
    pub mutation: Mutation,
    pub prompt: Option<&'a str>,
    pub migrated_from: Option<ProgramId>,
    /// The evaluator's behaviour fingerprint (none for migrants: the
    /// program they copy holds it).
    pub behaviour: Option<&'a str>,
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn json<T: serde::Serialize>(value: &T) -> String {
    // Maps of strings to floats and float arrays always serialize.
    serde_json::to_string(value).expect("metrics and features serialize to JSON")
}

pub(crate) fn insert_program(conn: &Connection, row: &ProgramRow) -> Result<ProgramId, DbError> {
    // NaN cannot live in JSON; store it as null and read it back as NaN.
    let metrics: BTreeMap<&String, Option<f64>> =
        row.metrics.iter().map(|(k, v)| (k, (!v.is_nan()).then_some(*v))).collect();
    let features: Vec<Option<f64>> = row.features.iter().map(|v| (!v.is_nan()).then_some(*v)).collect();
    conn.prepare_cached(
        "INSERT INTO programs (code, code_hash, language, parent_id, island, generation, \
         iteration_found, metrics, fitness, features, cell_key, model, mutation, prompt, \
         migrated_from, created_at_ms, behaviour, fitness_stderr, samples) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
    )?
    .execute(params![
        row.code,
        row.code_hash,
        row.language,
        row.parent_id,
        row.island as i64,
        row.generation as i64,
        row.iteration_found as i64,
        json(&metrics),
        (!row.fitness.is_nan()).then_some(row.fitness),
        json(&features),
        row.cell_key as i64,
        row.model,
        row.mutation.as_str(),
        None::<&str>,
        row.migrated_from,
        now_ms(),
        row.behaviour,
        row.fitness_stderr,
        row.samples,
    ])?;
    let id = conn.last_insert_rowid();
    if let Some(prompt) = row.prompt {
        conn.prepare_cached("INSERT INTO log.prompts (program_id, prompt) VALUES (?1, ?2)")?
            .execute(params![id, prompt])?;
    }
    Ok(id)
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str, what: &'static str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            Box::new(DbError::Json { what, source: e }),
        )
    })
}

pub(crate) fn read_program(row: &Row, space: &crate::features::FeatureSpace) -> rusqlite::Result<Program> {
    let metrics: BTreeMap<String, Option<f64>> = parse_json(&row.get::<_, String>(8)?, "metrics")?;
    let features: Vec<Option<f64>> = parse_json(&row.get::<_, String>(10)?, "features")?;
    let mutation: String = row.get(13)?;
    let cell_key: i64 = row.get(11)?;
    Ok(Program {
        id: row.get(0)?,
        code: row.get(1)?,
        code_hash: row.get(2)?,
        language: row.get(3)?,
        parent_id: row.get(4)?,
        island: row.get::<_, i64>(5)? as usize,
        generation: row.get::<_, i64>(6)? as u64,
        iteration_found: row.get::<_, i64>(7)? as u64,
        metrics: metrics.into_iter().map(|(k, v)| (k, v.unwrap_or(f64::NAN))).collect(),
        fitness: row.get::<_, Option<f64>>(9)?.unwrap_or(f64::NAN),
        features: features.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
        cell: space.coords_of(cell_key as u64),
        model: row.get(12)?,
        mutation: Mutation::parse(&mutation).unwrap_or(Mutation::Rewrite),
        prompt: row.get(14)?,
        migrated_from: row.get(15)?,
        created_at_ms: row.get(16)?,
        fitness_stderr: row.get(17)?,
        samples: row.get(18)?,
    })
}

pub(crate) fn load_program(
    conn: &Connection,
    space: &crate::features::FeatureSpace,
    id: ProgramId,
) -> Result<Program, DbError> {
    conn.prepare_cached(&format!("SELECT {PROGRAM_COLUMNS} FROM programs WHERE id = ?1"))?
        .query_row([id], |row| read_program(row, space))
        .optional()?
        .ok_or(DbError::NoSuchProgram(id))
}

pub(crate) fn load_code(conn: &Connection, id: ProgramId) -> Result<String, DbError> {
    conn.prepare_cached("SELECT code FROM programs WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?
        .ok_or(DbError::NoSuchProgram(id))
}

/// Stores artifacts: small ones inline, larger ones as files under `dir`.
/// Returns the files written, so a failed transaction can remove them.
pub(crate) fn insert_artifacts(
    conn: &Connection,
    id: ProgramId,
    artifacts: &BTreeMap<String, Artifact>,
    threshold: usize,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<(), DbError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO artifacts (program_id, name, is_text, inline, file, size) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (n, (name, artifact)) in artifacts.iter().enumerate() {
        let bytes = artifact.as_bytes();
        let is_text = matches!(artifact, Artifact::Text(_));
        if bytes.len() <= threshold {
            stmt.execute(params![id, name, is_text, bytes, None::<String>, bytes.len() as i64])?;
            continue;
        }
        // Numbered file names: artifact names may hold any character.
        let relative = format!("{id}/{n}.bin");
        let path = dir.join(&relative);
        let io = |source| DbError::ArtifactFile { path: path.clone(), source };
        std::fs::create_dir_all(path.parent().expect("artifact path has a folder")).map_err(io)?;
        std::fs::write(&path, bytes).map_err(io)?;
        written.push(path.clone());
        stmt.execute(params![id, name, is_text, None::<Vec<u8>>, relative, bytes.len() as i64])?;
    }
    Ok(())
}

/// Copies a program's artifact rows onto another program (a migrant). Large
/// artifacts share their file; it is removed with the last row naming it.
pub(crate) fn copy_artifacts(conn: &Connection, from: ProgramId, to: ProgramId) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO artifacts (program_id, name, is_text, inline, file, size) \
         SELECT ?2, name, is_text, inline, file, size FROM artifacts WHERE program_id = ?1",
    )?
    .execute([from, to])?;
    Ok(())
}

pub(crate) fn load_artifacts(
    conn: &Connection,
    id: ProgramId,
    dir: &Path,
) -> Result<BTreeMap<String, Artifact>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, is_text, inline, file FROM artifacts WHERE program_id = ?1 ORDER BY name",
    )?;
    let rows = stmt
        .query_map([id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, bool>(1)?,
                row.get::<_, Option<Vec<u8>>>(2)?,
                row.get::<_, Option<String>>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut artifacts = BTreeMap::new();
    for (name, is_text, inline, file) in rows {
        let bytes = match (inline, file) {
            (Some(bytes), _) => bytes,
            (None, Some(relative)) => {
                let path = dir.join(relative);
                std::fs::read(&path).map_err(|source| DbError::ArtifactFile { path, source })?
            }
            (None, None) => Vec::new(),
        };
        let artifact = if is_text {
            Artifact::Text(String::from_utf8_lossy(&bytes).into_owned())
        } else {
            Artifact::Bytes(bytes)
        };
        artifacts.insert(name, artifact);
    }
    Ok(artifacts)
}

/// Deletes a program (its cell, archive place and artifact rows go with it).
/// Returns artifact files no longer referenced, to remove after commit.
pub(crate) fn delete_program(conn: &Connection, id: ProgramId, dir: &Path) -> Result<Vec<PathBuf>, DbError> {
    let files: Vec<String> = conn
        .prepare_cached("SELECT file FROM artifacts WHERE program_id = ?1 AND file IS NOT NULL")?
        .query_map([id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    conn.prepare_cached("DELETE FROM programs WHERE id = ?1")?.execute([id])?;
    conn.prepare_cached("DELETE FROM log.prompts WHERE program_id = ?1")?.execute([id])?;
    let mut orphans = Vec::new();
    for file in files {
        let still_used: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM artifacts WHERE file = ?1)")?
            .query_row([&file], |row| row.get(0))?;
        if !still_used {
            orphans.push(dir.join(file));
        }
    }
    Ok(orphans)
}

pub(crate) fn set_cell(
    conn: &Connection,
    island: usize,
    cell_key: u64,
    id: ProgramId,
) -> Result<(), DbError> {
    conn.prepare_cached("INSERT OR REPLACE INTO cells (island, cell_key, program_id) VALUES (?1, ?2, ?3)")?
        .execute(params![island as i64, cell_key as i64, id])?;
    Ok(())
}

pub(crate) fn archive_insert(conn: &Connection, id: ProgramId) -> Result<(), DbError> {
    conn.prepare_cached("INSERT INTO archive (program_id) VALUES (?1)")?.execute([id])?;
    Ok(())
}

pub(crate) fn archive_remove(conn: &Connection, id: ProgramId) -> Result<(), DbError> {
    conn.prepare_cached("DELETE FROM archive WHERE program_id = ?1")?.execute([id])?;
    Ok(())
}

pub(crate) fn set_meta(conn: &Connection, key: &str, value: &serde_json::Value) -> Result<(), DbError> {
    conn.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
        .execute(params![key, value.to_string()])?;
    Ok(())
}

pub(crate) fn meta(conn: &Connection, key: &str) -> Result<Option<serde_json::Value>, DbError> {
    let text: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()?;
    text.map(|t| serde_json::from_str(&t).map_err(|source| DbError::Json { what: "meta value", source }))
        .transpose()
}

/// Whether `island` already holds a program with exactly this code.
pub(crate) fn island_has_code(
    conn: &Connection,
    island: usize,
    code_hash: &str,
    code: &str,
) -> Result<bool, DbError> {
    let mut stmt = conn.prepare_cached("SELECT code FROM programs WHERE island = ?1 AND code_hash = ?2")?;
    let mut rows = stmt.query(params![island as i64, code_hash])?;
    while let Some(row) = rows.next()? {
        if crate::identity::same_program(&row.get::<_, String>(0)?, code) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Every stored program's raw feature values, by ascending id.
pub(crate) fn all_features(conn: &Connection) -> Result<Vec<(ProgramId, Vec<f64>)>, DbError> {
    let mut stmt = conn.prepare_cached("SELECT id, features FROM programs ORDER BY id")?;
    let rows = stmt.query_map([], |row| {
        let features: Vec<Option<f64>> = parse_json(&row.get::<_, String>(1)?, "features")?;
        Ok((row.get(0)?, features.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect()))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn set_cell_key(conn: &Connection, id: ProgramId, cell_key: u64) -> Result<(), DbError> {
    conn.prepare_cached("UPDATE programs SET cell_key = ?2 WHERE id = ?1")?
        .execute(params![id, cell_key as i64])?;
    Ok(())
}

pub(crate) fn clear_cells(conn: &Connection) -> Result<(), DbError> {
    conn.prepare_cached("DELETE FROM cells")?.execute([])?;
    Ok(())
}

/// The stored program that had this behaviour fingerprint first.
pub(crate) fn find_by_behaviour(conn: &Connection, fingerprint: &str) -> Result<Option<ProgramId>, DbError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached("SELECT MIN(id) FROM programs WHERE behaviour = ?1")?
        .query_row([fingerprint], |r| r.get::<_, Option<ProgramId>>(0))
        .optional()?
        .flatten())
}

/// Every stored behaviour fingerprint with the first program that had it.
pub(crate) fn known_behaviours(conn: &Connection) -> Result<BTreeMap<String, ProgramId>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT behaviour, MIN(id) FROM programs WHERE behaviour IS NOT NULL GROUP BY behaviour",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
