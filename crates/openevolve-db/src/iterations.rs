//! The controller's log of iterations: one row per iteration, whether it
//! stored a child or failed (LLM error, answer not applicable, build error,
//! crash...), so iterations are counted exactly and failures can be shown in
//! the next prompt. Each row is written in one transaction with the
//! controller's own state and the sampling position, so none of them
//! disagrees with another after a crash.

use rusqlite::{OptionalExtension, params};

use crate::store;
use crate::{DbError, IterationPhases, IterationRecord, Outcome, Program, ProgramDatabase};

const ITERATION_COLUMNS: &str = "iteration, island, parent_id, child_id, outcome, message, model, \
     prompt_tokens, completion_tokens, cost_usd, duration_ms, region, phases";

/// What an iteration leaves beside its child: its row, its exchange with
/// the LLM (kept in the prompt log when `log_prompts` is on), and the
/// controller's state, stored under meta key `state_key`.
#[derive(Debug, Clone)]
pub struct IterationEntry {
    pub record: IterationRecord,
    pub exchange: Option<String>,
    pub state_key: &'static str,
    pub state: serde_json::Value,
}

impl ProgramDatabase {
    /// Commits one iteration as one transaction. `write` stores the
    /// iteration's child, if it has one, through the database it is given
    /// (its inserts join the transaction) and returns the iteration's entry,
    /// which is recorded with it, replacing an earlier record of the same
    /// iteration. An error from `write` or from the database rolls all of it
    /// back, so no iteration is half stored and none is left open.
    pub fn commit_iteration<T, E: From<DbError>>(
        &mut self,
        write: impl FnOnce(&mut Self) -> Result<(T, IterationEntry), E>,
    ) -> Result<T, E> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(DbError::from)?;
        let written = write(self).and_then(|(value, entry)| {
            self.write_entry(&entry)?;
            self.conn.execute_batch("COMMIT").map_err(DbError::from)?;
            Ok(value)
        });
        match written {
            Ok(value) => {
                crate::placement::remove_files(&std::mem::take(&mut self.pending_orphans));
                self.pending_written.clear();
                Ok(value)
            }
            Err(err) => {
                self.roll_back_iteration()?;
                Err(err)
            }
        }
    }

    /// Undoes an open iteration: the evicted programs keep their artifact
    /// files, the iteration's own are removed, and the in-memory index is
    /// read again from the file.
    fn roll_back_iteration(&mut self) -> Result<(), DbError> {
        if !self.conn.is_autocommit() {
            self.conn.execute_batch("ROLLBACK")?;
        }
        self.pending_orphans.clear();
        let written = std::mem::take(&mut self.pending_written);
        self.recover_after_failed_write(&written)
    }

    fn write_entry(&mut self, entry: &IterationEntry) -> Result<(), DbError> {
        let record = &entry.record;
        self.conn
            .prepare_cached(&format!(
                "INSERT OR REPLACE INTO iterations ({ITERATION_COLUMNS}, recorded_at_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            ))?
            .execute(params![
                record.iteration as i64,
                record.island as i64,
                record.parent_id,
                record.child_id,
                record.outcome.as_str(),
                record.message,
                record.model,
                record.prompt_tokens as i64,
                record.completion_tokens as i64,
                record.cost_usd,
                record.duration_ms as i64,
                record.region,
                record.phases.as_ref().map(|p| serde_json::to_string(p).expect("phases serialize")),
                store::now_ms(),
            ])?;
        if let Some(exchange) = entry.exchange.as_deref().filter(|_| self.config.log_prompts) {
            self.conn
                .prepare_cached("INSERT OR REPLACE INTO log.exchanges (iteration, exchange) VALUES (?1, ?2)")?
                .execute(params![record.iteration as i64, exchange])?;
        }
        store::set_meta(&self.conn, entry.state_key, &entry.state)?;
        crate::database::save_rng_position(&self.conn, &self.rng)?;
        Ok(())
    }

    /// The exchange with the LLM logged for `iteration`, if any.
    pub fn exchange(&self, iteration: u64) -> Result<Option<String>, DbError> {
        Ok(self
            .conn
            .prepare_cached("SELECT exchange FROM log.exchanges WHERE iteration = ?1")?
            .query_row([iteration as i64], |r| r.get(0))
            .optional()?)
    }

    /// The highest iteration recorded; a resumed run continues after it.
    pub fn last_recorded_iteration(&self) -> Result<Option<u64>, DbError> {
        let max: Option<i64> =
            self.conn.query_row("SELECT MAX(iteration) FROM iterations", [], |r| r.get(0))?;
        Ok(max.map(|m| m as u64))
    }

    /// Iterations `from` onwards, in order, at most `limit` of them.
    pub fn iterations(&self, from: u64, limit: usize) -> Result<Vec<IterationRecord>, DbError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ITERATION_COLUMNS} FROM iterations WHERE iteration >= ?1 ORDER BY iteration LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![from as i64, limit as i64], read_record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Why the latest iteration on `island` stored nothing, if it did not.
    pub fn last_failure_on_island(&self, island: usize) -> Result<Option<String>, DbError> {
        let row: Option<(Option<i64>, Option<String>)> = self
            .conn
            .prepare_cached(
                "SELECT child_id, message FROM iterations WHERE island = ?1 ORDER BY iteration DESC LIMIT 1",
            )?
            .query_row([island as i64], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(match row {
            Some((None, message)) => message,
            _ => None,
        })
    }

    /// The `n` programs most recently stored on `island`, newest first.
    pub fn recent_programs_on_island(&self, island: usize, n: usize) -> Result<Vec<Program>, DbError> {
        self.check_island(island)?;
        let ids: Vec<i64> = self
            .conn
            .prepare_cached("SELECT id FROM programs WHERE island = ?1 ORDER BY id DESC LIMIT ?2")?
            .query_map(params![island as i64, n as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids.into_iter().map(|id| self.program(id)).collect()
    }
}

fn read_record(r: &rusqlite::Row) -> rusqlite::Result<IterationRecord> {
    Ok(IterationRecord {
        iteration: r.get::<_, i64>(0)? as u64,
        island: r.get::<_, i64>(1)? as usize,
        parent_id: r.get(2)?,
        child_id: r.get(3)?,
        outcome: {
            let name: String = r.get(4)?;
            Outcome::parse(&name).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    4,
                    rusqlite::types::Type::Text,
                    format!("`{name}` is not an iteration outcome").into(),
                )
            })?
        },
        message: r.get(5)?,
        model: r.get(6)?,
        prompt_tokens: r.get::<_, i64>(7)? as u64,
        completion_tokens: r.get::<_, i64>(8)? as u64,
        cost_usd: r.get(9)?,
        duration_ms: r.get::<_, i64>(10)? as u64,
        region: r.get(11)?,
        phases: phases_column(r, 12)?,
    })
}

/// The `phases` column: JSON, or NULL for iterations recorded before it.
pub(crate) fn phases_column(r: &rusqlite::Row, column: usize) -> rusqlite::Result<Option<IterationPhases>> {
    let Some(text) = r.get::<_, Option<String>>(column)? else { return Ok(None) };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}
