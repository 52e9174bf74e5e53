//! Ring migration: every `migration_interval` generations each island sends
//! copies of its best `migration_rate` share to the next island, skipping code
//! the target already holds.

use serde_json::json;

use crate::database::META_LAST_MIGRATION;
use crate::placement::{evict, place, remove_files};
use crate::store::{self, ProgramRow};
use crate::{DbError, MigrationReport, Mutation, ProgramDatabase, ProgramId};

impl ProgramDatabase {
    /// Migrates when some island has bred `migration_interval` generations
    /// since the last migration; `None` when not due (or only one island).
    pub fn migrate_if_due(&mut self) -> Result<Option<MigrationReport>, DbError> {
        let newest = self.island_generations.iter().copied().max().unwrap_or(0);
        if self.config.num_islands < 2
            || newest.saturating_sub(self.last_migration_generation) < self.config.migration_interval
        {
            return Ok(None);
        }
        self.migrate_now().map(Some)
    }

    /// One round of ring migration, in one transaction. Migrants are chosen
    /// from the state before the round, so a program moves one island per
    /// round. A copy keeps its source's code, metrics, cell and parent, and
    /// records the source in `migrated_from`; it competes for its cell on the
    /// target like any new program, but does not enter the archive (its
    /// source already competed there).
    pub fn migrate_now(&mut self) -> Result<MigrationReport, DbError> {
        let n = self.config.num_islands;
        let mut plan: Vec<(ProgramId, usize)> = Vec::new();
        for (source, island) in self.index.islands.iter().enumerate() {
            let size = island.members.len();
            if n < 2 || size == 0 || self.config.migration_rate <= 0.0 {
                continue;
            }
            let count = ((size as f64 * self.config.migration_rate).floor() as usize).max(1);
            plan.extend(island.ranking.iter().rev().take(count).map(|r| (r.id, (source + 1) % n)));
        }

        let newest = self.island_generations.iter().copied().max().unwrap_or(0);
        let result: Result<_, DbError> = (|| {
            let tx = self.conn.transaction()?;
            let mut report = MigrationReport::default();
            for (source_id, target) in plan {
                let source = store::load_program(&tx, &self.space, source_id)?;
                if store::island_has_code(&tx, target, &source.code_hash, &source.code)? {
                    report.skipped_duplicates += 1;
                    continue;
                }
                let rank = crate::fitness::ranking_fitness(
                    source.fitness,
                    source.fitness_stderr,
                    self.config.noise_z,
                );
                let cell_key = self.space.cell_key(&source.cell);
                let row = ProgramRow {
                    code: &source.code,
                    code_hash: &source.code_hash,
                    language: &source.language,
                    parent_id: source.parent_id,
                    island: target,
                    generation: source.generation,
                    iteration_found: source.iteration_found,
                    metrics: &source.metrics,
                    fitness: source.fitness,
                    fitness_stderr: source.fitness_stderr,
                    samples: source.samples,
                    features: &source.features,
                    cell_key,
                    model: source.model.as_deref(),
                    mutation: Mutation::Migration,
                    prompt: None,
                    migrated_from: Some(source_id),
                    behaviour: None,
                };
                let id = store::insert_program(&tx, &row)?;
                store::copy_artifacts(&tx, source_id, id)?;
                place(&tx, &mut self.index, id, target, cell_key, rank)?;
                report.migrants.push((source_id, id));
            }
            store::set_meta(&tx, META_LAST_MIGRATION, &json!(newest))?;
            let (evicted, orphans) =
                evict(&tx, &mut self.index, self.config.population_size, &self.artifacts_dir)?;
            crate::database::save_rng_position(&tx, &self.rng)?;
            tx.commit()?;
            report.evicted = evicted;
            Ok((report, orphans))
        })();
        match result {
            Ok((report, orphans)) => {
                remove_files(&orphans);
                self.last_migration_generation = newest;
                Ok(report)
            }
            Err(err) => {
                self.recover_after_failed_write(&[])?;
                Err(err)
            }
        }
    }
}
