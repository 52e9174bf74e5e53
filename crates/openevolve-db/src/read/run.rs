//! The run at a glance, and the counters that change whenever it writes.

use super::Reader;
use std::collections::BTreeMap;

use rusqlite::OptionalExtension;
use serde::Serialize;

use super::iterations::outcome_column;
use crate::{BestProgram, DbError, Outcome, ProgramId};

/// What changes when the run writes: watched for live updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Version {
    pub programs: i64,
    pub max_program_id: i64,
    pub iterations: i64,
    pub max_iteration: Option<i64>,
}

pub fn version(reader: &Reader) -> Result<Version, DbError> {
    let conn = &reader.conn;
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

/// An island's fittest program.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IslandBest {
    pub island: i64,
    pub id: ProgramId,
    pub fitness: f64,
}

/// Tokens, cost and time over every iteration of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunUsage {
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// `None` when no model had a price.
    pub cost_usd: Option<f64>,
    pub duration_ms: i64,
}

/// How many iterations a model answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelUse {
    pub model: String,
    pub iterations: i64,
}

/// The run at a glance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunStats {
    /// Programs per island, `num_islands` long.
    pub island_counts: Vec<i64>,
    pub best: Option<BestProgram>,
    pub best_per_island: Vec<IslandBest>,
    /// Iterations per outcome.
    pub outcomes: BTreeMap<Outcome, i64>,
    pub usage: RunUsage,
    /// Models by the iterations they answered, most first.
    pub models: Vec<ModelUse>,
    /// When a program or an iteration was last written.
    pub last_change_ms: Option<i64>,
}

/// The run at a glance; `noise_z` is the run's `database.noise_z`, by which
/// the best program is ranked.
pub fn run_stats(reader: &Reader, num_islands: usize, noise_z: f64) -> Result<RunStats, DbError> {
    let conn = &reader.conn;
    let mut island_counts = vec![0i64; num_islands];
    let mut stmt = conn.prepare("SELECT island, COUNT(*) FROM programs GROUP BY island")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
        let (island, n) = row?;
        if let Some(slot) = island_counts.get_mut(island as usize) {
            *slot = n;
        }
    }
    let best = conn
        .query_row(
            "SELECT id, fitness, island, generation, iteration_found, fitness_stderr, samples, metrics FROM programs \
             WHERE fitness IS NOT NULL \
             ORDER BY CASE WHEN fitness_stderr > 0 THEN fitness - ?1 * fitness_stderr ELSE fitness END DESC, \
             id ASC LIMIT 1",
            [noise_z],
            |r| {
                let best = BestProgram {
                    id: r.get(0)?,
                    fitness: r.get(1)?,
                    fitness_stderr: r.get(5)?,
                    samples: r.get(6)?,
                    metrics: Default::default(),
                    island: r.get::<_, i64>(2)? as usize,
                    generation: r.get::<_, i64>(3)? as u64,
                    iteration_found: r.get::<_, i64>(4)? as u64,
                };
                Ok((best, r.get::<_, String>(7)?))
            },
        )
        .optional()?
        .map(|(best, metrics)| Ok::<_, DbError>(BestProgram { metrics: super::metrics_from_json(&metrics)?, ..best }))
        .transpose()?;
    let best_per_island = conn
        .prepare(
            "SELECT island, id, MAX(fitness) FROM programs WHERE fitness IS NOT NULL GROUP BY island ORDER BY island",
        )?
        .query_map([], |r| Ok(IslandBest { island: r.get(0)?, id: r.get(1)?, fitness: r.get(2)? }))?
        .collect::<Result<_, _>>()?;
    let outcomes = conn
        .prepare("SELECT outcome, COUNT(*) FROM iterations GROUP BY outcome")?
        .query_map([], |r| Ok((outcome_column(r, 0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let usage = conn.query_row(
        "SELECT COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0), SUM(cost_usd), \
         COALESCE(SUM(duration_ms), 0) FROM iterations",
        [],
        |r| {
            Ok(RunUsage {
                prompt_tokens: r.get(0)?,
                completion_tokens: r.get(1)?,
                cost_usd: r.get(2)?,
                duration_ms: r.get(3)?,
            })
        },
    )?;
    let models = conn
        .prepare(
            "SELECT model, COUNT(*) FROM iterations WHERE model IS NOT NULL GROUP BY model ORDER BY 2 DESC",
        )?
        .query_map([], |r| Ok(ModelUse { model: r.get(0)?, iterations: r.get(1)? }))?
        .collect::<Result<_, _>>()?;
    let last_change_ms = conn.query_row(
        "SELECT MAX(t) FROM (SELECT MAX(created_at_ms) AS t FROM programs \
         UNION ALL SELECT MAX(recorded_at_ms) FROM iterations)",
        [],
        |r| r.get(0),
    )?;
    Ok(RunStats { island_counts, best, best_per_island, outcomes, usage, models, last_change_ms })
}
