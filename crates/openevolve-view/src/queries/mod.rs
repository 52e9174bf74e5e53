//! Every read the API makes, as short read-only statements. Rows come out as
//! JSON ready to send; the shapes are documented on the routes in `api.rs`.

use std::path::Path;

use openevolve_db::Outcome;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::{Value, json};

use crate::source::{GridSpace, RunKind, RunSource};
use crate::{ViewError, diff};

mod iterations;
mod tree;

use iterations::{ITERATION_COLUMNS, iteration_json};
pub use iterations::{IterationsQuery, ScoresQuery, iteration, iterations, scores};
pub use tree::{GridQuery, TREE_COLUMNS, TreeQuery, grid, tree};

/// Text artifacts up to this size come inline with a program; larger ones
/// (and binary ones) are fetched from their own URL.
const INLINE_ARTIFACT_LIMIT: i64 = 64 * 1024;
/// Largest page of the tree and of the score series.
pub const MAX_TREE_PAGE: i64 = 20_000;
/// Largest page of programs (their metrics included).
pub const MAX_PROGRAM_PAGE: i64 = 1_000;

/// What changes when the run writes: watched for live updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Version {
    pub programs: i64,
    pub max_program_id: i64,
    pub iterations: i64,
    pub max_iteration: Option<i64>,
}

pub fn version(conn: &Connection) -> Result<Version, ViewError> {
    let (programs, max_program_id) =
        conn.query_row("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM programs", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let (iterations, max_iteration) =
        conn.query_row("SELECT COUNT(*), MAX(iteration) FROM iterations", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    Ok(Version { programs, max_program_id, iterations, max_iteration })
}

fn read_json_file(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn parse_json_column(text: &str, what: &str) -> Result<Value, ViewError> {
    serde_json::from_str(text).map_err(|source| ViewError::Json { what: what.to_string(), source })
}

pub fn summary(source: &RunSource, conn: &Connection) -> Result<Value, ViewError> {
    let space = source.space(conn)?;
    let version = version(conn)?;
    let island_counts = {
        let mut counts = vec![0i64; space.num_islands];
        let mut stmt = conn.prepare("SELECT island, COUNT(*) FROM programs GROUP BY island")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
            let (island, n) = row?;
            if let Some(slot) = counts.get_mut(island as usize) {
                *slot = n;
            }
        }
        counts
    };
    let best = conn
        .query_row(
            "SELECT id, fitness, island, generation, iteration_found FROM programs \
             WHERE fitness IS NOT NULL ORDER BY fitness DESC, id ASC LIMIT 1",
            [],
            |r| {
                Ok(json!({"id": r.get::<_, i64>(0)?, "fitness": r.get::<_, f64>(1)?, "island": r.get::<_, i64>(2)?,
                          "generation": r.get::<_, i64>(3)?, "iteration_found": r.get::<_, i64>(4)?}))
            },
        )
        .optional()?;
    let best_per_island: Vec<Value> = conn
        .prepare(
            "SELECT island, id, MAX(fitness) FROM programs WHERE fitness IS NOT NULL GROUP BY island ORDER BY island",
        )?
        .query_map([], |r| Ok(json!({"island": r.get::<_, i64>(0)?, "id": r.get::<_, i64>(1)?, "fitness": r.get::<_, f64>(2)?})))?
        .collect::<Result<_, _>>()?;
    let outcomes: serde_json::Map<String, Value> = conn
        .prepare("SELECT outcome, COUNT(*) FROM iterations GROUP BY outcome ORDER BY outcome")?
        .query_map([], |r| Ok((r.get::<_, String>(0)?, json!(r.get::<_, i64>(1)?))))?
        .collect::<Result<_, _>>()?;
    let usage = conn.query_row(
        "SELECT COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0), SUM(cost_usd), \
         COALESCE(SUM(duration_ms), 0) FROM iterations",
        [],
        |r| {
            Ok(json!({"prompt_tokens": r.get::<_, i64>(0)?, "completion_tokens": r.get::<_, i64>(1)?,
                      "cost_usd": r.get::<_, Option<f64>>(2)?, "duration_ms": r.get::<_, i64>(3)?}))
        },
    )?;
    let models: Vec<Value> = conn
        .prepare(
            "SELECT model, COUNT(*) FROM iterations WHERE model IS NOT NULL GROUP BY model ORDER BY 2 DESC",
        )?
        .query_map([], |r| Ok(json!({"model": r.get::<_, String>(0)?, "iterations": r.get::<_, i64>(1)?})))?
        .collect::<Result<_, _>>()?;
    let last_change_ms: Option<i64> = conn.query_row(
        "SELECT MAX(t) FROM (SELECT MAX(created_at_ms) AS t FROM programs UNION ALL SELECT MAX(recorded_at_ms) FROM iterations)",
        [],
        |r| r.get(0),
    )?;
    let run_summary =
        (source.kind == RunKind::Run).then(|| read_json_file(&source.dir.join("summary.json"))).flatten();
    let checkpoint_state = (source.kind == RunKind::Checkpoint)
        .then(|| read_json_file(&source.dir.join("state.json")))
        .flatten();
    let mut checkpoints: Vec<(u64, String)> = match std::fs::read_dir(source.dir.join("checkpoints")) {
        Ok(entries) if source.kind == RunKind::Run => entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let n = name.strip_prefix("checkpoint_")?.parse().ok()?;
                Some((n, name))
            })
            .collect(),
        _ => Vec::new(),
    };
    checkpoints.sort();
    let name = source
        .dir
        .canonicalize()
        .unwrap_or_else(|_| source.dir.clone())
        .components()
        .rev()
        .take(if source.kind == RunKind::Checkpoint { 3 } else { 1 })
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("/");
    Ok(json!({
        "name": name,
        "path": source.dir.display().to_string(),
        "database": source.db_path.display().to_string(),
        "kind": source.kind,
        "immutable": source.immutable,
        "live": !source.immutable,
        "finished": run_summary.is_some(),
        "version": version,
        "num_islands": space.num_islands,
        "island_counts": island_counts,
        "features": space.dimensions,
        "best": best,
        "best_per_island": best_per_island,
        "outcomes": outcomes,
        // Which outcomes are failures, by name: the page marks them.
        "failed_outcomes": Outcome::ALL.iter().filter(|o| o.is_failure()).map(|o| o.as_str()).collect::<Vec<_>>(),
        "usage": usage,
        "models": models,
        "last_change_ms": last_change_ms,
        "run_summary": run_summary,
        "checkpoint_state": checkpoint_state,
        "checkpoints": checkpoints.into_iter().map(|(_, name)| name).collect::<Vec<_>>(),
    }))
}

/// Columns of a program's summary row, in `program_row`'s order.
const ROW_COLUMNS: &str = "id, parent_id, island, generation, iteration_found, fitness, mutation, model, \
    migrated_from, cell_key, metrics, created_at_ms";

fn program_row(r: &Row, space: &GridSpace) -> Result<Value, ViewError> {
    let metrics: String = r.get(10)?;
    Ok(json!({
        "id": r.get::<_, i64>(0)?,
        "parent_id": r.get::<_, Option<i64>>(1)?,
        "island": r.get::<_, i64>(2)?,
        "generation": r.get::<_, i64>(3)?,
        "iteration_found": r.get::<_, i64>(4)?,
        "fitness": r.get::<_, Option<f64>>(5)?,
        "mutation": r.get::<_, String>(6)?,
        "model": r.get::<_, Option<String>>(7)?,
        "migrated_from": r.get::<_, Option<i64>>(8)?,
        "cell": space.coords_of(r.get::<_, i64>(9)?),
        "metrics": parse_json_column(&metrics, "metrics")?,
        "created_at_ms": r.get::<_, i64>(11)?,
    }))
}

/// `/api/programs` parameters.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    pub offset: Option<i64>,
    pub limit: Option<i64>,
    pub island: Option<i64>,
    /// `id` (default), `fitness`, `iteration` or `generation`.
    pub sort: Option<String>,
    /// `asc` or `desc` (default: desc for fitness, asc otherwise).
    pub order: Option<String>,
}

pub fn programs_page(source: &RunSource, conn: &Connection, q: &PageQuery) -> Result<Value, ViewError> {
    let space = source.space(conn)?;
    let column = match q.sort.as_deref().unwrap_or("id") {
        "id" => "id",
        "fitness" => "fitness",
        "iteration" => "iteration_found",
        "generation" => "generation",
        other => {
            return Err(ViewError::BadRequest(format!(
                "sort must be id, fitness, iteration or generation, not `{other}`"
            )));
        }
    };
    let order = match (q.order.as_deref(), column) {
        (Some("asc"), _) => "ASC",
        (Some("desc"), _) => "DESC",
        (None, "fitness") => "DESC",
        (None, _) => "ASC",
        (Some(other), _) => {
            return Err(ViewError::BadRequest(format!("order must be asc or desc, not `{other}`")));
        }
    };
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_PROGRAM_PAGE);
    let offset = q.offset.unwrap_or(0).max(0);
    let filter = if q.island.is_some() { "WHERE island = ?1" } else { "WHERE ?1 IS NULL" };
    // Programs without a score sort last either way; ids break ties.
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM programs {filter} ORDER BY {column} IS NULL, {column} {order}, id ASC LIMIT ?2 OFFSET ?3"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params![q.island, limit, offset])?;
    let mut programs = Vec::new();
    while let Some(row) = rows.next()? {
        programs.push(program_row(row, &space)?);
    }
    let total: i64 =
        conn.query_row(&format!("SELECT COUNT(*) FROM programs {filter}"), params![q.island], |r| r.get(0))?;
    Ok(json!({"total": total, "offset": offset, "limit": limit, "programs": programs}))
}

/// One program with its code, the diff against the program it came from,
/// artifacts, children and the iteration that made it.
pub fn program(source: &RunSource, conn: &Connection, id: i64) -> Result<Value, ViewError> {
    let space = source.space(conn)?;
    let (mut value, code, prompt, features, code_hash, language) = conn
        .query_row(
            &format!("SELECT {ROW_COLUMNS}, code, prompt, features, code_hash, language FROM programs WHERE id = ?1"),
            [id],
            |r| {
                Ok((
                    program_row(r, &space).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
                    r.get::<_, String>(12)?,
                    r.get::<_, Option<String>>(13)?,
                    r.get::<_, String>(14)?,
                    r.get::<_, String>(15)?,
                    r.get::<_, String>(16)?,
                ))
            },
        )
        .optional()?
        .ok_or(ViewError::NoSuchProgram(id))?;
    // A migrant is a copy: its diff is against the program it was copied from.
    let source_id = value["migrated_from"].as_i64().or(value["parent_id"].as_i64());
    let against = match source_id {
        Some(pid) => conn
            .query_row("SELECT code FROM programs WHERE id = ?1", [pid], |r| r.get::<_, String>(0))
            .optional()?
            .map(|parent_code| (pid, parent_code)),
        None => None,
    };
    let diff = against.as_ref().map(|(pid, parent_code)| {
        let d = diff::diff_lines(parent_code, &code);
        json!({"against": pid, "added": d.added, "removed": d.removed, "hunks": d.hunks})
    });
    let children: Vec<i64> = conn
        .prepare("SELECT id FROM programs WHERE parent_id = ?1 OR migrated_from = ?1 ORDER BY id")?
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let iteration = conn
        .query_row(
            &format!("SELECT {ITERATION_COLUMNS} FROM iterations WHERE iteration = ?1"),
            [value["iteration_found"].as_i64()],
            iteration_json,
        )
        .optional()?;
    let artifacts = artifact_list(source, conn, &space, id)?;
    // A program's prompt is the exchange of the iteration that found it;
    // older files keep it per program, in the prompt log or inline.
    let prompt = match (prompt, value["iteration_found"].as_i64().filter(|&i| i > 0)) {
        (Some(prompt), _) => Some(prompt),
        (None, found) => match source.logged_prompt(id)? {
            Some(prompt) => Some(prompt),
            None => found.map(|i| source.logged_exchange(i)).transpose()?.flatten(),
        },
    };
    let obj = value.as_object_mut().expect("a program row is an object");
    obj.insert("code".into(), json!(code));
    obj.insert("code_hash".into(), json!(code_hash));
    obj.insert("language".into(), json!(language));
    obj.insert("prompt".into(), json!(prompt));
    obj.insert("features".into(), parse_json_column(&features, "features")?);
    obj.insert("diff".into(), diff.unwrap_or(Value::Null));
    obj.insert("source_missing".into(), json!(source_id.is_some() && against.is_none()));
    obj.insert("children".into(), json!(children));
    obj.insert("iteration".into(), iteration.unwrap_or(Value::Null));
    obj.insert("artifacts".into(), json!(artifacts));
    Ok(value)
}

fn artifact_list(
    source: &RunSource,
    conn: &Connection,
    space: &GridSpace,
    id: i64,
) -> Result<Vec<Value>, ViewError> {
    let mut stmt = conn.prepare(
        "SELECT name, is_text, size, CASE WHEN is_text AND size <= ?2 THEN inline END, file \
         FROM artifacts WHERE program_id = ?1 ORDER BY name",
    )?;
    type ArtifactRow = (String, bool, i64, Option<Vec<u8>>, Option<String>);
    let rows: Vec<ArtifactRow> = stmt
        .query_map(params![id, INLINE_ARTIFACT_LIMIT], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    let dir = source.artifacts_dir(space);
    Ok(rows
        .into_iter()
        .map(|(name, is_text, size, inline, file)| {
            let text = match (is_text && size <= INLINE_ARTIFACT_LIMIT, inline, file) {
                (false, _, _) => None,
                (true, Some(bytes), _) => Some(String::from_utf8_lossy(&bytes).into_owned()),
                (true, None, Some(rel)) => {
                    std::fs::read(dir.join(rel)).ok().map(|b| String::from_utf8_lossy(&b).into_owned())
                }
                (true, None, None) => Some(String::new()),
            };
            json!({"name": name, "is_text": is_text, "size": size, "text": text,
                   "url": format!("/api/programs/{id}/artifacts/{}", encode_segment(&name))})
        })
        .collect())
}

/// An artifact's bytes, and whether they are text.
pub fn artifact(
    source: &RunSource,
    conn: &Connection,
    id: i64,
    name: &str,
) -> Result<(bool, Vec<u8>), ViewError> {
    let space = source.space(conn)?;
    let (is_text, inline, file): (bool, Option<Vec<u8>>, Option<String>) = conn
        .query_row(
            "SELECT is_text, inline, file FROM artifacts WHERE program_id = ?1 AND name = ?2",
            params![id, name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or_else(|| ViewError::NoSuchArtifact { id, name: name.to_string() })?;
    let bytes = match (inline, file) {
        (Some(bytes), _) => bytes,
        (None, Some(rel)) => {
            let path = source.artifacts_dir(&space).join(rel);
            std::fs::read(&path).map_err(|e| ViewError::Io { path, source: e })?
        }
        (None, None) => Vec::new(),
    };
    Ok((is_text, bytes))
}

/// Percent-encodes one URL path segment.
fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The chain from the oldest stored ancestor down to `id`, and its children.
pub fn lineage(source: &RunSource, conn: &Connection, id: i64) -> Result<Value, ViewError> {
    let space = source.space(conn)?;
    let mut stmt = conn.prepare(&format!("SELECT {ROW_COLUMNS} FROM programs WHERE id = ?1"))?;
    let mut chain = Vec::new();
    let mut next = Some(id);
    let mut seen = std::collections::HashSet::new();
    while let Some(current) = next {
        if !seen.insert(current) {
            break;
        }
        let mut rows = stmt.query([current])?;
        let Some(row) = rows.next()? else { break };
        let value = program_row(row, &space)?;
        next = value["migrated_from"].as_i64().or(value["parent_id"].as_i64());
        chain.push(value);
    }
    if chain.is_empty() {
        return Err(ViewError::NoSuchProgram(id));
    }
    chain.reverse();
    let children: Vec<Value> = {
        let mut stmt = conn.prepare(&format!(
            "SELECT {ROW_COLUMNS} FROM programs WHERE parent_id = ?1 OR migrated_from = ?1 ORDER BY id"
        ))?;
        let mut rows = stmt.query([id])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(program_row(row, &space)?);
        }
        out
    };
    Ok(json!({"ancestors": chain, "children": children}))
}
