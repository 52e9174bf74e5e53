//! The lineage forest and the MAP-Elites grids.

use rusqlite::{Connection, params};
use serde_json::{Value, json};

use super::MAX_TREE_PAGE;
use crate::ViewError;
use crate::source::RunSource;

/// `/api/tree` parameters: ids after `after`, at most `limit`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct TreeQuery {
    pub after: Option<i64>,
    pub limit: Option<i64>,
}

pub const TREE_COLUMNS: [&str; 8] =
    ["id", "parent", "island", "generation", "iteration", "fitness", "mutation", "migrated"];

/// The lineage forest, page by page in id order, as compact rows. `parent`
/// is where the program came from: the migration source for a migrant, else
/// its parent; `migrated` says which.
pub fn tree(conn: &Connection, q: &TreeQuery) -> Result<Value, ViewError> {
    let limit = q.limit.unwrap_or(5000).clamp(1, MAX_TREE_PAGE);
    let after = q.after.unwrap_or(0);
    let mut stmt = conn.prepare_cached(
        "SELECT id, COALESCE(migrated_from, parent_id), island, generation, iteration_found, fitness, mutation, \
         migrated_from IS NOT NULL FROM programs WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let nodes: Vec<Value> = stmt
        .query_map(params![after, limit], |r| {
            Ok(json!([
                r.get::<_, i64>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<f64>>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, bool>(7)?,
            ]))
        })?
        .collect::<Result<_, _>>()?;
    let next = if nodes.len() as i64 == limit { nodes.last().and_then(|n| n[0].as_i64()) } else { None };
    let total: i64 = conn.query_row("SELECT COUNT(*) FROM programs", [], |r| r.get(0))?;
    Ok(json!({"columns": TREE_COLUMNS, "nodes": nodes, "next": next, "total": total}))
}

/// `/api/grid` parameters.
#[derive(Debug, Default, serde::Deserialize)]
pub struct GridQuery {
    pub island: Option<i64>,
}

/// Each island's MAP-Elites grid: its filled cells with their elite.
pub fn grid(source: &RunSource, conn: &Connection, q: &GridQuery) -> Result<Value, ViewError> {
    let space = source.space(conn)?;
    let mut islands: Vec<Vec<Value>> = vec![Vec::new(); space.num_islands];
    let mut stmt = conn.prepare_cached(
        "SELECT c.island, c.cell_key, c.program_id, p.fitness FROM cells c JOIN programs p ON p.id = c.program_id \
         WHERE ?1 IS NULL OR c.island = ?1 ORDER BY c.island, c.cell_key",
    )?;
    let mut rows = stmt.query([q.island])?;
    while let Some(r) = rows.next()? {
        let island: i64 = r.get(0)?;
        if let Some(cells) = islands.get_mut(island as usize) {
            cells.push(json!({"cell": space.coords_of(r.get(1)?), "program_id": r.get::<_, i64>(2)?,
                              "fitness": r.get::<_, Option<f64>>(3)?}));
        }
    }
    let islands: Vec<Value> = islands
        .into_iter()
        .enumerate()
        .filter(|(i, _)| q.island.is_none_or(|want| want == *i as i64))
        .map(|(island, cells)| json!({"island": island, "cells": cells}))
        .collect();
    let ranges = openevolve_db::read::feature_ranges(conn)?;
    let mut features = space.dimensions.clone();
    for (dim, range) in features.iter_mut().zip(ranges) {
        dim.range = range;
    }
    Ok(json!({"features": features, "islands": islands}))
}
