//! Every read the API makes, through `openevolve_db::read` (which owns the
//! schema), turned into JSON ready to send; the shapes are documented on the
//! routes in `api.rs`.

use std::path::Path;

use openevolve_db::Outcome;
use openevolve_db::read::Reader;
use openevolve_db::read::{self, programs::ProgramOrder};
use serde_json::{Value, json};

use crate::source::{GridSpace, RunKind, RunSource};
use crate::{ViewError, diff};

mod iterations;
mod tree;

pub use iterations::{IterationsQuery, ScoresQuery, iteration, iterations, scores, throughput};
pub use tree::{GridQuery, TREE_COLUMNS, TreeQuery, fronts, grid, tree};

/// Text artifacts up to this size come inline with a program; larger ones
/// (and binary ones) are fetched from their own URL.
const INLINE_ARTIFACT_LIMIT: i64 = 64 * 1024;
/// Largest page of the tree and of the score series.
pub const MAX_TREE_PAGE: i64 = 20_000;
/// Largest page of programs (their metrics included).
pub const MAX_PROGRAM_PAGE: i64 = 1_000;

pub use read::Version;

pub fn version(reader: &Reader) -> Result<Version, ViewError> {
    Ok(read::version(reader)?)
}

fn read_json_file(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

pub fn summary(source: &RunSource, reader: &Reader) -> Result<Value, ViewError> {
    let space = source.space(reader)?;
    let version = version(reader)?;
    let stats = read::run_stats(reader, space.num_islands(), space.shape.noise_z)?;
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
        "num_islands": space.num_islands(),
        "island_counts": stats.island_counts,
        "features": space.dimensions,
        "objectives": space.shape.objectives,
        "best": stats.best,
        "best_per_island": stats.best_per_island,
        "outcomes": stats.outcomes,
        // Which outcomes are failures, by name: the page marks them.
        "failed_outcomes": Outcome::ALL.iter().filter(|o| o.is_failure()).map(|o| o.as_str()).collect::<Vec<_>>(),
        "usage": stats.usage,
        "models": stats.models,
        "last_change_ms": stats.last_change_ms,
        "run_summary": run_summary,
        "checkpoint_state": checkpoint_state,
        "checkpoints": checkpoints.into_iter().map(|(_, name)| name).collect::<Vec<_>>(),
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

pub fn programs_page(source: &RunSource, reader: &Reader, q: &PageQuery) -> Result<Value, ViewError> {
    let space = source.space(reader)?;
    let order = match q.sort.as_deref().unwrap_or("id") {
        "id" => ProgramOrder::Id,
        "fitness" => ProgramOrder::Fitness,
        "iteration" => ProgramOrder::Iteration,
        "generation" => ProgramOrder::Generation,
        other => {
            return Err(ViewError::BadRequest(format!(
                "sort must be id, fitness, iteration or generation, not `{other}`"
            )));
        }
    };
    let descending = match q.order.as_deref() {
        Some("asc") => false,
        Some("desc") => true,
        None => order == ProgramOrder::Fitness,
        Some(other) => {
            return Err(ViewError::BadRequest(format!("order must be asc or desc, not `{other}`")));
        }
    };
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_PROGRAM_PAGE);
    let offset = q.offset.unwrap_or(0).max(0);
    let request = read::programs::PageRequest { offset, limit, island: q.island, order, descending };
    let page = read::programs::page(reader, &space.shape, &request)?;
    Ok(json!({"total": page.total, "offset": offset, "limit": limit, "programs": page.programs}))
}

/// One program with its code, the diff against the program it came from,
/// artifacts, children and the iteration that made it.
pub fn program(source: &RunSource, reader: &Reader, id: i64) -> Result<Value, ViewError> {
    let space = source.space(reader)?;
    let detail = read::programs::detail(reader, &space.shape, id)?.ok_or(ViewError::NoSuchProgram(id))?;
    // A migrant is a copy: its diff is against the program it was copied from.
    let source_id = detail.summary.source();
    let against = match source_id {
        Some(pid) => read::programs::code(reader, pid)?.map(|code| (pid, code)),
        None => None,
    };
    let diff = against.as_ref().map(|(pid, parent_code)| {
        let d = diff::diff_lines(parent_code, &detail.code);
        json!({"against": pid, "added": d.added, "removed": d.removed, "hunks": d.hunks})
    });
    let children: Vec<i64> =
        read::programs::children(reader, &space.shape, id)?.iter().map(|c| c.id).collect();
    let found = detail.summary.iteration_found;
    let iteration = read::iterations::iteration(reader, found)?;
    let artifacts = artifact_list(source, reader, &space, id)?;
    // A program's prompt is the exchange of the iteration that found it;
    // older files keep it per program, in the prompt log or inline.
    let prompt = match detail.prompt {
        Some(prompt) => Some(prompt),
        None => match source.logged_prompt(id)? {
            Some(prompt) => Some(prompt),
            None if found > 0 => source.logged_exchange(found)?,
            None => None,
        },
    };
    let mut value = json!(detail.summary);
    let obj = value.as_object_mut().expect("a program row is an object");
    obj.insert("code".into(), json!(detail.code));
    obj.insert("code_hash".into(), json!(detail.code_hash));
    obj.insert("language".into(), json!(detail.language));
    obj.insert("prompt".into(), json!(prompt));
    obj.insert("features".into(), detail.features);
    obj.insert("diff".into(), diff.unwrap_or(Value::Null));
    obj.insert("source_missing".into(), json!(source_id.is_some() && against.is_none()));
    obj.insert("children".into(), json!(children));
    obj.insert("iteration".into(), json!(iteration));
    obj.insert("artifacts".into(), json!(artifacts));
    Ok(value)
}

fn artifact_list(
    source: &RunSource,
    reader: &Reader,
    space: &GridSpace,
    id: i64,
) -> Result<Vec<Value>, ViewError> {
    let entries = read::artifacts::list(reader, &source.artifacts_dir(space), id, INLINE_ARTIFACT_LIMIT)?;
    Ok(entries
        .into_iter()
        .map(|a| {
            let url = format!("/api/programs/{id}/artifacts/{}", encode_segment(&a.name));
            json!({"name": a.name, "is_text": a.is_text, "size": a.size, "text": a.text, "url": url})
        })
        .collect())
}

/// An artifact's bytes, and whether they are text.
pub fn artifact(
    source: &RunSource,
    reader: &Reader,
    id: i64,
    name: &str,
) -> Result<(bool, Vec<u8>), ViewError> {
    let space = source.space(reader)?;
    read::artifacts::bytes(reader, &source.artifacts_dir(&space), id, name)?
        .ok_or_else(|| ViewError::NoSuchArtifact { id, name: name.to_string() })
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
pub fn lineage(source: &RunSource, reader: &Reader, id: i64) -> Result<Value, ViewError> {
    let space = source.space(reader)?;
    let ancestors = read::programs::ancestry(reader, &space.shape, id)?;
    if ancestors.is_empty() {
        return Err(ViewError::NoSuchProgram(id));
    }
    let children = read::programs::children(reader, &space.shape, id)?;
    Ok(json!({"ancestors": ancestors, "children": children}))
}
