//! Programs as a reader sees them: summary rows page by page, one program
//! in full, where it came from and what came of it, the lineage forest, the
//! grid's elites and the points of the score chart.

use super::Reader;
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::GridShape;
use crate::{DbError, Mutation, ProgramId};

/// A program without its code.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgramSummary {
    pub id: ProgramId,
    pub parent_id: Option<ProgramId>,
    pub island: i64,
    pub generation: i64,
    pub iteration_found: i64,
    /// `None` for a program without a score; with noise, the mean of its
    /// samples.
    pub fitness: Option<f64>,
    /// The standard error of `fitness` (0 without noise).
    pub fitness_stderr: f64,
    /// Evaluations `fitness` is the mean of.
    pub samples: u32,
    pub mutation: Mutation,
    pub model: Option<String>,
    /// The program a migrant was copied from.
    pub migrated_from: Option<ProgramId>,
    /// The bins of its cell, one per grid dimension.
    pub cell: Vec<u32>,
    /// As stored: metric names to numbers (`null` where one was not finite).
    pub metrics: serde_json::Value,
    pub created_at_ms: i64,
}

impl ProgramSummary {
    /// Where it came from: the migration source for a migrant, else its parent.
    pub fn source(&self) -> Option<ProgramId> {
        self.migrated_from.or(self.parent_id)
    }
}

/// A program in full.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramDetail {
    pub summary: ProgramSummary,
    pub code: String,
    pub code_hash: String,
    pub language: String,
    /// The prompt stored with it, in files written before prompts moved to
    /// the prompt log.
    pub prompt: Option<String>,
    /// The feature values it was binned by.
    pub features: serde_json::Value,
}

/// The columns `summary_row` reads, in its order.
const SUMMARY_COLUMNS: &str = "id, parent_id, island, generation, iteration_found, fitness, mutation, model, \
    migrated_from, cell_key, metrics, created_at_ms, fitness_stderr, samples";

fn conversion(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, message.into())
}

fn json_column(r: &Row, column: usize) -> rusqlite::Result<serde_json::Value> {
    let text: String = r.get(column)?;
    serde_json::from_str(&text).map_err(|e| conversion(column, format!("not JSON: {e}")))
}

fn mutation_column(r: &Row, column: usize) -> rusqlite::Result<Mutation> {
    let name: String = r.get(column)?;
    Mutation::parse(&name).ok_or_else(|| conversion(column, format!("mutation `{name}` is unknown")))
}

fn summary_row(r: &Row, shape: &GridShape) -> rusqlite::Result<ProgramSummary> {
    Ok(ProgramSummary {
        id: r.get(0)?,
        parent_id: r.get(1)?,
        island: r.get(2)?,
        generation: r.get(3)?,
        iteration_found: r.get(4)?,
        fitness: r.get(5)?,
        mutation: mutation_column(r, 6)?,
        model: r.get(7)?,
        migrated_from: r.get(8)?,
        cell: shape.coords_of(r.get(9)?),
        metrics: json_column(r, 10)?,
        created_at_ms: r.get(11)?,
        fitness_stderr: r.get(12)?,
        samples: r.get(13)?,
    })
}

/// What a page of programs is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramOrder {
    Id,
    Fitness,
    Iteration,
    Generation,
}

impl ProgramOrder {
    fn column(self) -> &'static str {
        match self {
            ProgramOrder::Id => "id",
            ProgramOrder::Fitness => "fitness",
            ProgramOrder::Iteration => "iteration_found",
            ProgramOrder::Generation => "generation",
        }
    }
}

/// Which page of programs to read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageRequest {
    pub offset: i64,
    pub limit: i64,
    /// Only this island's programs.
    pub island: Option<i64>,
    pub order: ProgramOrder,
    pub descending: bool,
}

/// A page of programs and how many match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramPage {
    pub total: i64,
    pub programs: Vec<ProgramSummary>,
}

/// One page of programs; programs without a score sort last either way,
/// and ids break ties.
pub fn page(reader: &Reader, shape: &GridShape, request: &PageRequest) -> Result<ProgramPage, DbError> {
    let conn = &reader.conn;
    let column = request.order.column();
    let direction = if request.descending { "DESC" } else { "ASC" };
    let filter = if request.island.is_some() { "WHERE island = ?1" } else { "WHERE ?1 IS NULL" };
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM programs {filter} \
         ORDER BY {column} IS NULL, {column} {direction}, id ASC LIMIT ?2 OFFSET ?3"
    );
    let programs = conn
        .prepare(&sql)?
        .query_map(params![request.island, request.limit, request.offset], |r| summary_row(r, shape))?
        .collect::<Result<_, _>>()?;
    let total =
        conn.query_row(&format!("SELECT COUNT(*) FROM programs {filter}"), params![request.island], |r| {
            r.get(0)
        })?;
    Ok(ProgramPage { total, programs })
}

/// One program's summary.
pub fn summary(reader: &Reader, shape: &GridShape, id: ProgramId) -> Result<Option<ProgramSummary>, DbError> {
    let conn = &reader.conn;
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM programs WHERE id = ?1");
    Ok(conn.prepare_cached(&sql)?.query_row([id], |r| summary_row(r, shape)).optional()?)
}

/// One program in full.
pub fn detail(reader: &Reader, shape: &GridShape, id: ProgramId) -> Result<Option<ProgramDetail>, DbError> {
    let conn = &reader.conn;
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, code, code_hash, language, prompt, features FROM programs WHERE id = ?1"
    );
    let detail = conn
        .query_row(&sql, [id], |r| {
            Ok(ProgramDetail {
                summary: summary_row(r, shape)?,
                code: r.get(14)?,
                code_hash: r.get(15)?,
                language: r.get(16)?,
                prompt: r.get(17)?,
                features: json_column(r, 18)?,
            })
        })
        .optional()?;
    Ok(detail)
}

/// A program's code.
pub fn code(reader: &Reader, id: ProgramId) -> Result<Option<String>, DbError> {
    let conn = &reader.conn;
    Ok(conn.query_row("SELECT code FROM programs WHERE id = ?1", [id], |r| r.get(0)).optional()?)
}

/// The programs that came from `id`, as children or as migrants, by id.
pub fn children(reader: &Reader, shape: &GridShape, id: ProgramId) -> Result<Vec<ProgramSummary>, DbError> {
    let conn = &reader.conn;
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM programs WHERE parent_id = ?1 OR migrated_from = ?1 ORDER BY id"
    );
    Ok(conn.prepare(&sql)?.query_map([id], |r| summary_row(r, shape))?.collect::<Result<_, _>>()?)
}

/// The chain from the oldest stored ancestor down to `id`, following
/// [`ProgramSummary::source`]; empty when `id` is not stored.
pub fn ancestry(reader: &Reader, shape: &GridShape, id: ProgramId) -> Result<Vec<ProgramSummary>, DbError> {
    let mut chain = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut next = Some(id);
    while let Some(current) = next.filter(|c| seen.insert(*c)) {
        let Some(program) = summary(reader, shape, current)? else { break };
        next = program.source();
        chain.push(program);
    }
    chain.reverse();
    Ok(chain)
}

/// A node of the lineage forest.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeNode {
    pub id: ProgramId,
    /// [`ProgramSummary::source`].
    pub source: Option<ProgramId>,
    pub island: i64,
    pub generation: i64,
    pub iteration_found: i64,
    pub fitness: Option<f64>,
    pub mutation: Mutation,
    /// Whether `source` is a migration source rather than a parent.
    pub migrated: bool,
}

/// Up to `limit` nodes of the lineage forest after id `after`, in id order,
/// and the number of programs in all.
pub fn tree_page(reader: &Reader, after: ProgramId, limit: i64) -> Result<(Vec<TreeNode>, i64), DbError> {
    let conn = &reader.conn;
    let nodes = conn
        .prepare_cached(
            "SELECT id, COALESCE(migrated_from, parent_id), island, generation, iteration_found, fitness, \
             mutation, migrated_from IS NOT NULL FROM programs WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?
        .query_map(params![after, limit], |r| {
            Ok(TreeNode {
                id: r.get(0)?,
                source: r.get(1)?,
                island: r.get(2)?,
                generation: r.get(3)?,
                iteration_found: r.get(4)?,
                fitness: r.get(5)?,
                mutation: mutation_column(r, 6)?,
                migrated: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let total = conn.query_row("SELECT COUNT(*) FROM programs", [], |r| r.get(0))?;
    Ok((nodes, total))
}

/// A filled cell of an island's grid and its elite.
#[derive(Debug, Clone, PartialEq)]
pub struct CellElite {
    pub island: i64,
    pub cell: Vec<u32>,
    pub program_id: ProgramId,
    pub fitness: Option<f64>,
}

/// The filled cells of every island, or of `island`, by island and cell.
pub fn cells(reader: &Reader, shape: &GridShape, island: Option<i64>) -> Result<Vec<CellElite>, DbError> {
    let conn = &reader.conn;
    Ok(conn
        .prepare_cached(
            "SELECT c.island, c.cell_key, c.program_id, p.fitness FROM cells c JOIN programs p ON p.id = c.program_id \
             WHERE ?1 IS NULL OR c.island = ?1 ORDER BY c.island, c.cell_key",
        )?
        .query_map([island], |r| {
            Ok(CellElite {
                island: r.get(0)?,
                cell: shape.coords_of(r.get(1)?),
                program_id: r.get(2)?,
                fitness: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// A program as a point of the score chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScorePoint {
    pub id: ProgramId,
    pub iteration_found: i64,
    pub island: i64,
    pub fitness: Option<f64>,
}

/// Every program after id `after`, as chart points, by id.
pub fn score_points(reader: &Reader, after: ProgramId) -> Result<Vec<ScorePoint>, DbError> {
    let conn = &reader.conn;
    Ok(conn
        .prepare_cached(
            "SELECT id, iteration_found, island, fitness FROM programs WHERE id > ?1 ORDER BY id",
        )?
        .query_map([after], |r| {
            Ok(ScorePoint {
                id: r.get(0)?,
                iteration_found: r.get(1)?,
                island: r.get(2)?,
                fitness: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}
