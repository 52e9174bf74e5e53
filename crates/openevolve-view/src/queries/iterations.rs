//! The iteration log: one iteration with its exchange, pages of the log,
//! and the chart's series.

use openevolve_db::read::{self, iterations::IterationWindow};
use rusqlite::Connection;
use serde_json::{Value, json};

use super::MAX_PROGRAM_PAGE;
use crate::ViewError;
use crate::source::RunSource;

/// One iteration's record with its exchange with the LLM (the prompt, each
/// answer and what came of it), failed iterations included.
pub fn iteration(source: &RunSource, conn: &Connection, number: i64) -> Result<Value, ViewError> {
    let row = read::iterations::iteration(conn, number)?.ok_or(ViewError::NoSuchIteration(number))?;
    let mut value = json!(row);
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
    let programs: Vec<Value> = read::programs::score_points(conn, q.after_id.unwrap_or(0))?
        .into_iter()
        .map(|p| json!([p.id, p.iteration_found, p.island, p.fitness]))
        .collect();
    let iterations: Vec<Value> = read::iterations::points(conn, q.after_iteration.unwrap_or(-1))?
        .into_iter()
        .map(|i| json!([i.iteration, i.island, i.outcome, i.child_id]))
        .collect();
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
    let failed = q.failed.unwrap_or(false);
    if let Some(last) = q.last {
        let window = IterationWindow::Last { count: last.clamp(1, MAX_PROGRAM_PAGE) };
        return Ok(json!({"iterations": read::iterations::page(conn, window, failed)?, "next": null}));
    }
    let window = IterationWindow::After { after: q.after.unwrap_or(-1), limit };
    let rows = read::iterations::page(conn, window, failed)?;
    let next = if rows.len() as i64 == limit { rows.last().map(|r| r.iteration) } else { None };
    Ok(json!({"iterations": rows, "next": next}))
}
