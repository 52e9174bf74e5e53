//! The iteration log: one iteration with its exchange, pages of the log,
//! and the chart's series.

use openevolve_db::Outcome;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::{Value, json};

use super::MAX_PROGRAM_PAGE;
use crate::ViewError;
use crate::source::RunSource;

pub(super) fn iteration_json(r: &Row) -> rusqlite::Result<Value> {
    Ok(json!({
        "iteration": r.get::<_, i64>(0)?,
        "island": r.get::<_, i64>(1)?,
        "parent_id": r.get::<_, Option<i64>>(2)?,
        "child_id": r.get::<_, Option<i64>>(3)?,
        "outcome": r.get::<_, String>(4)?,
        "message": r.get::<_, Option<String>>(5)?,
        "model": r.get::<_, Option<String>>(6)?,
        "prompt_tokens": r.get::<_, i64>(7)?,
        "completion_tokens": r.get::<_, i64>(8)?,
        "cost_usd": r.get::<_, Option<f64>>(9)?,
        "duration_ms": r.get::<_, i64>(10)?,
        "recorded_at_ms": r.get::<_, i64>(11)?,
    }))
}

pub(super) const ITERATION_COLUMNS: &str = "iteration, island, parent_id, child_id, outcome, message, model, prompt_tokens, \
    completion_tokens, cost_usd, duration_ms, recorded_at_ms";

/// One iteration's record with its exchange with the LLM (the prompt, each
/// answer and what came of it), failed iterations included.
pub fn iteration(source: &RunSource, conn: &Connection, number: i64) -> Result<Value, ViewError> {
    let mut value = conn
        .query_row(
            &format!("SELECT {ITERATION_COLUMNS} FROM iterations WHERE iteration = ?1"),
            [number],
            iteration_json,
        )
        .optional()?
        .ok_or(ViewError::NoSuchIteration(number))?;
    let exchange = source.logged_exchange(number)?;
    value.as_object_mut().expect("an iteration row is an object").insert("exchange".into(), json!(exchange));
    Ok(value)
}

/// `/api/scores` parameters: only what is newer than the cursors.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ScoresQuery {
    pub after_id: Option<i64>,
    pub after_iteration: Option<i64>,
}

/// The series behind the score chart, as compact rows: every stored program
/// `[id, iteration_found, island, fitness]` and every iteration
/// `[iteration, island, outcome, child_id]`, failures included.
pub fn scores(conn: &Connection, q: &ScoresQuery) -> Result<Value, ViewError> {
    let programs: Vec<Value> = conn
        .prepare_cached(
            "SELECT id, iteration_found, island, fitness FROM programs WHERE id > ?1 ORDER BY id",
        )?
        .query_map([q.after_id.unwrap_or(0)], |r| {
            Ok(json!([
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<f64>>(3)?
            ]))
        })?
        .collect::<Result<_, _>>()?;
    let iterations: Vec<Value> = conn
        .prepare_cached(
            "SELECT iteration, island, outcome, child_id FROM iterations WHERE iteration > ?1 ORDER BY iteration",
        )?
        .query_map([q.after_iteration.unwrap_or(-1)], |r| {
            Ok(json!([r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<i64>>(3)?]))
        })?
        .collect::<Result<_, _>>()?;
    Ok(json!({
        "program_columns": ["id", "iteration", "island", "fitness"],
        "programs": programs,
        "iteration_columns": ["iteration", "island", "outcome", "child_id"],
        "iterations": iterations,
    }))
}

/// `/api/iterations` parameters.
#[derive(Debug, Default, serde::Deserialize)]
pub struct IterationsQuery {
    pub after: Option<i64>,
    pub limit: Option<i64>,
    /// Only iterations that stored nothing new because something failed.
    pub failed: Option<bool>,
    /// The last `last` matching iterations instead of those after `after`.
    pub last: Option<i64>,
}

pub fn iterations(conn: &Connection, q: &IterationsQuery) -> Result<Value, ViewError> {
    let limit = q.limit.unwrap_or(200).clamp(1, MAX_PROGRAM_PAGE);
    let filter = if q.failed.unwrap_or(false) {
        format!("AND outcome IN {}", Outcome::failures_sql())
    } else {
        String::new()
    };
    let rows: Vec<Value> = if let Some(last) = q.last {
        let mut rows: Vec<Value> = conn
            .prepare(&format!(
                "SELECT {ITERATION_COLUMNS} FROM iterations WHERE 1 {filter} ORDER BY iteration DESC LIMIT ?1"
            ))?
            .query_map(params![last.clamp(1, MAX_PROGRAM_PAGE)], iteration_json)?
            .collect::<Result<_, _>>()?;
        rows.reverse();
        return Ok(json!({"iterations": rows, "next": null}));
    } else {
        conn.prepare(&format!(
            "SELECT {ITERATION_COLUMNS} FROM iterations WHERE iteration > ?1 {filter} ORDER BY iteration LIMIT ?2"
        ))?
        .query_map(params![q.after.unwrap_or(-1), limit], iteration_json)?
        .collect::<Result<_, _>>()?
    };
    let next =
        if rows.len() as i64 == limit { rows.last().and_then(|r| r["iteration"].as_i64()) } else { None };
    Ok(json!({"iterations": rows, "next": next}))
}
