//! The iteration log as a reader sees it: one iteration, pages of the log,
//! and the points of the score chart.

use super::Reader;
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use crate::{DbError, IterationPhases, Outcome, ProgramId};

/// One iteration's record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IterationRow {
    pub iteration: i64,
    pub island: i64,
    pub parent_id: Option<ProgramId>,
    pub child_id: Option<ProgramId>,
    pub outcome: Outcome,
    pub message: Option<String>,
    pub model: Option<String>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost_usd: Option<f64>,
    pub duration_ms: i64,
    pub recorded_at_ms: i64,
    /// The one region its requests asked to change, if they asked for one.
    pub region: Option<String>,
    /// Where its time went, where it was recorded.
    pub phases: Option<IterationPhases>,
}

const COLUMNS: &str = "iteration, island, parent_id, child_id, outcome, message, model, prompt_tokens, \
    completion_tokens, cost_usd, duration_ms, recorded_at_ms, region, phases";

pub(super) fn outcome_column(r: &Row, column: usize) -> rusqlite::Result<Outcome> {
    let name: String = r.get(column)?;
    Outcome::parse(&name).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Text,
            format!("outcome `{name}` is unknown").into(),
        )
    })
}

fn row(r: &Row) -> rusqlite::Result<IterationRow> {
    Ok(IterationRow {
        iteration: r.get(0)?,
        island: r.get(1)?,
        parent_id: r.get(2)?,
        child_id: r.get(3)?,
        outcome: outcome_column(r, 4)?,
        message: r.get(5)?,
        model: r.get(6)?,
        prompt_tokens: r.get(7)?,
        completion_tokens: r.get(8)?,
        cost_usd: r.get(9)?,
        duration_ms: r.get(10)?,
        recorded_at_ms: r.get(11)?,
        region: r.get(12)?,
        phases: crate::iterations::phases_column(r, 13)?,
    })
}

/// Iteration `number`'s record, if it was recorded.
pub fn iteration(reader: &Reader, number: i64) -> Result<Option<IterationRow>, DbError> {
    let conn = &reader.conn;
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM iterations WHERE iteration = ?1"))?
        .query_row([number], row)
        .optional()?)
}

/// Which iterations a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IterationWindow {
    /// Up to `limit` iterations after `after`, in order.
    After { after: i64, limit: i64 },
    /// The last `count`, in order.
    Last { count: i64 },
}

/// A page of the log; with `failed_only`, only iterations that stored
/// nothing new because something failed ([`Outcome::is_failure`]).
pub fn page(
    reader: &Reader,
    window: IterationWindow,
    failed_only: bool,
) -> Result<Vec<IterationRow>, DbError> {
    let conn = &reader.conn;
    let filter =
        if failed_only { format!("AND outcome IN {}", Outcome::failures_sql()) } else { String::new() };
    Ok(match window {
        IterationWindow::After { after, limit } => conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM iterations WHERE iteration > ?1 {filter} ORDER BY iteration LIMIT ?2"
            ))?
            .query_map(params![after, limit], row)?
            .collect::<Result<_, _>>()?,
        IterationWindow::Last { count } => {
            let mut rows: Vec<IterationRow> = conn
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM iterations WHERE 1 {filter} ORDER BY iteration DESC LIMIT ?1"
                ))?
                .query_map([count], row)?
                .collect::<Result<_, _>>()?;
            rows.reverse();
            rows
        }
    })
}

/// An iteration as a point of the score chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IterationPoint {
    pub iteration: i64,
    pub island: i64,
    pub outcome: Outcome,
    pub child_id: Option<ProgramId>,
}

/// Every iteration after `after`, as chart points, in order.
pub fn points(reader: &Reader, after: i64) -> Result<Vec<IterationPoint>, DbError> {
    let conn = &reader.conn;
    Ok(conn
        .prepare_cached(
            "SELECT iteration, island, outcome, child_id FROM iterations WHERE iteration > ?1 ORDER BY iteration",
        )?
        .query_map([after], |r| {
            Ok(IterationPoint {
                iteration: r.get(0)?,
                island: r.get(1)?,
                outcome: outcome_column(r, 2)?,
                child_id: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}
