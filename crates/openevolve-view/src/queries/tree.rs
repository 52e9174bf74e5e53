//! The lineage forest and the MAP-Elites grids.

use openevolve_db::read;
use openevolve_db::read::Reader;
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
pub fn tree(reader: &Reader, q: &TreeQuery) -> Result<Value, ViewError> {
    let limit = q.limit.unwrap_or(5000).clamp(1, MAX_TREE_PAGE);
    let (nodes, total) = read::programs::tree_page(reader, q.after.unwrap_or(0), limit)?;
    let next = if nodes.len() as i64 == limit { nodes.last().map(|n| n.id) } else { None };
    let nodes: Vec<Value> = nodes
        .into_iter()
        .map(|n| {
            json!([
                n.id,
                n.source,
                n.island,
                n.generation,
                n.iteration_found,
                n.fitness,
                n.mutation,
                n.migrated
            ])
        })
        .collect();
    Ok(json!({"columns": TREE_COLUMNS, "nodes": nodes, "next": next, "total": total}))
}

/// Each island's Pareto front by the run's `objectives` (none without
/// them): the objectives, then per island its front's programs with their
/// values (as reported) and crowding distances (`null` at the ends).
pub fn fronts(source: &RunSource, reader: &Reader) -> Result<Value, ViewError> {
    let space = source.space(reader)?;
    let islands: Vec<Value> = read::fronts(reader, &space.shape)?
        .into_iter()
        .enumerate()
        .map(|(island, front)| json!({"island": island, "points": front}))
        .collect();
    Ok(json!({"objectives": space.shape.objectives, "islands": islands}))
}

/// `/api/grid` parameters.
#[derive(Debug, Default, serde::Deserialize)]
pub struct GridQuery {
    pub island: Option<i64>,
}

/// Each island's MAP-Elites grid: its filled cells with their elite.
pub fn grid(source: &RunSource, reader: &Reader, q: &GridQuery) -> Result<Value, ViewError> {
    let space = source.space(reader)?;
    let mut islands: Vec<Vec<Value>> = vec![Vec::new(); space.num_islands()];
    for elite in read::programs::cells(reader, &space.shape, q.island)? {
        if let Some(cells) = islands.get_mut(elite.island as usize) {
            cells.push(json!({"cell": elite.cell, "program_id": elite.program_id, "fitness": elite.fitness}));
        }
    }
    let islands: Vec<Value> = islands
        .into_iter()
        .enumerate()
        .filter(|(i, _)| q.island.is_none_or(|want| want == *i as i64))
        .map(|(island, cells)| json!({"island": island, "cells": cells}))
        .collect();
    let ranges = read::feature_ranges(reader)?;
    let mut features = space.dimensions.clone();
    for (dim, range) in features.iter_mut().zip(ranges) {
        dim.range = range;
    }
    Ok(json!({"features": features, "islands": islands}))
}
