//! The iteration log: one iteration with its exchange, pages of the log,
//! and the chart's series.

use openevolve_db::read::Reader;
use openevolve_db::read::{self, iterations::IterationWindow};
use serde_json::{Value, json};

use super::MAX_PROGRAM_PAGE;
use crate::ViewError;
use crate::source::RunSource;

/// One iteration's record with its exchange with the LLM (the prompt, each
/// answer and what came of it), failed iterations included.
pub fn iteration(source: &RunSource, reader: &Reader, number: i64) -> Result<Value, ViewError> {
    let row = read::iterations::iteration(reader, number)?.ok_or(ViewError::NoSuchIteration(number))?;
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
pub fn scores(reader: &Reader, q: &ScoresQuery) -> Result<Value, ViewError> {
    let programs: Vec<Value> = read::programs::score_points(reader, q.after_id.unwrap_or(0))?
        .into_iter()
        .map(|p| json!([p.id, p.iteration_found, p.island, p.fitness]))
        .collect();
    let iterations: Vec<Value> = read::iterations::points(reader, q.after_iteration.unwrap_or(-1))?
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

pub fn iterations(reader: &Reader, q: &IterationsQuery) -> Result<Value, ViewError> {
    let limit = q.limit.unwrap_or(200).clamp(1, MAX_PROGRAM_PAGE);
    let failed = q.failed.unwrap_or(false);
    if let Some(last) = q.last {
        let window = IterationWindow::Last { count: last.clamp(1, MAX_PROGRAM_PAGE) };
        return Ok(json!({"iterations": read::iterations::page(reader, window, failed)?, "next": null}));
    }
    let window = IterationWindow::After { after: q.after.unwrap_or(-1), limit };
    let rows = read::iterations::page(reader, window, failed)?;
    let next = if rows.len() as i64 == limit { rows.last().map(|r| r.iteration) } else { None };
    Ok(json!({"iterations": rows, "next": next}))
}

/// Iterations the throughput panel reads, the latest ones.
const THROUGHPUT_ITERATIONS: i64 = 1_000;
/// Points of the slots-busy series.
const BUSY_POINTS: usize = 120;

/// Where the latest iterations' time went, and how many evaluations ran at
/// once over time. Each iteration's evaluations are placed, as one
/// interval, just before it waited to commit: its end is the commit time
/// less `commit_wait_ms`. Iterations recorded without phases are left out;
/// with none, both lists are empty.
pub fn throughput(reader: &Reader) -> Result<Value, ViewError> {
    let rows = read::iterations::page(reader, IterationWindow::Last { count: THROUGHPUT_ITERATIONS }, false)?;
    let timed: Vec<_> = rows.iter().filter_map(|r| Some((r, r.phases.as_ref()?))).collect();
    let iterations: Vec<Value> = timed
        .iter()
        .map(|(r, p)| {
            json!([
                r.iteration,
                p.start_wait_ms,
                p.llm_total_ms(),
                p.build_ms,
                p.slot_wait_ms,
                p.queue_ms,
                p.evaluate_ms,
                p.commit_wait_ms
            ])
        })
        .collect();
    let intervals: Vec<(i64, i64)> = timed
        .iter()
        .map(|(r, p)| {
            let end = r.recorded_at_ms - p.commit_wait_ms as i64;
            (end - p.evaluate_ms as i64, end)
        })
        .filter(|(start, end)| end > start)
        .collect();
    Ok(json!({
        "phase_columns": ["iteration", "start_wait_ms", "llm_ms", "build_ms", "slot_wait_ms", "queue_ms", "evaluate_ms", "commit_wait_ms"],
        "iterations": iterations,
        "busy_columns": ["at_ms", "evaluations"],
        "busy": busy_series(&intervals, BUSY_POINTS),
    }))
}

/// The mean number of `intervals` open over each of `points` equal spans
/// from the first start to the last end, as `[span start, mean]`.
fn busy_series(intervals: &[(i64, i64)], points: usize) -> Vec<Value> {
    let (Some(first), Some(last)) =
        (intervals.iter().map(|i| i.0).min(), intervals.iter().map(|i| i.1).max())
    else {
        return Vec::new();
    };
    let span = ((last - first) as f64 / points as f64).max(1.0);
    (0..points)
        .map(|k| {
            let (lo, hi) = (first as f64 + k as f64 * span, first as f64 + (k + 1) as f64 * span);
            let open: f64 =
                intervals.iter().map(|&(s, e)| ((e as f64).min(hi) - (s as f64).max(lo)).max(0.0)).sum();
            json!([lo.round() as i64, open / span])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busy_series_averages_the_open_intervals_over_each_span() {
        // Two evaluations over the first half, one over the whole.
        let series = busy_series(&[(0, 50), (0, 50), (0, 100)], 2);
        assert_eq!(series, [json!([0, 3.0]), json!([50, 1.0])]);
        assert!(busy_series(&[], 10).is_empty());
    }
}
