//! What the rest of the system asks a `ProgramDatabase`: programs and their
//! artifacts, the best ones, lineages, islands and cells, and lookups by code
//! or behaviour. Nothing here writes.

use std::collections::BTreeMap;

use rusqlite::OptionalExtension;

use crate::store;
use crate::{Artifact, CellOccupant, DbError, Program, ProgramDatabase, ProgramId};

impl ProgramDatabase {
    /// A stored program, with its code.
    pub fn program(&self, id: ProgramId) -> Result<Program, DbError> {
        store::load_program(&self.conn, &self.space, id)
    }

    /// A program's artifacts, large ones read from their files.
    pub fn artifacts(&self, id: ProgramId) -> Result<BTreeMap<String, Artifact>, DbError> {
        store::load_artifacts(&self.conn, id, &self.artifacts_dir)
    }

    /// The fittest program (ties: the older).
    pub fn best(&self) -> Result<Option<Program>, DbError> {
        self.index.best().map(|id| self.program(id)).transpose()
    }

    pub fn best_on_island(&self, island: usize) -> Result<Option<Program>, DbError> {
        self.check_island(island)?;
        self.index.islands[island].ranking.last().map(|r| self.program(r.id)).transpose()
    }

    /// The `k` fittest programs, best first.
    pub fn top_k(&self, k: usize) -> Result<Vec<Program>, DbError> {
        self.index.ranking.iter().rev().take(k).map(|r| self.program(r.id)).collect()
    }

    /// The program and its ancestors, newest first, as far as they are still
    /// stored (evicted ancestors end the chain).
    pub fn lineage(&self, id: ProgramId) -> Result<Vec<Program>, DbError> {
        let mut chain = vec![self.program(id)?];
        while let Some(parent) = chain.last().and_then(|p| p.parent_id) {
            // Parents are always older; the guard stops a corrupted cycle.
            if parent >= chain.last().map_or(0, |p| p.id) {
                break;
            }
            match self.program(parent) {
                Ok(p) => chain.push(p),
                Err(DbError::NoSuchProgram(_)) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(chain)
    }

    /// Programs stored on each island.
    pub fn island_counts(&self) -> Vec<usize> {
        self.index.islands.iter().map(|i| i.members.len()).collect()
    }

    /// The filled cells of an island's grid, in cell order.
    pub fn grid_occupancy(&self, island: usize) -> Result<Vec<CellOccupant>, DbError> {
        self.check_island(island)?;
        Ok(self.index.islands[island]
            .cells
            .iter()
            .map(|(&key, &id)| CellOccupant {
                cell: self.space.coords_of(key),
                program: id,
                fitness: self.index.get(id).map_or(f64::NAN, |h| h.fitness),
            })
            .collect())
    }

    /// Cells holding an elite, over all islands.
    pub fn cells_occupied(&self) -> usize {
        self.index.islands.iter().map(|isl| isl.cells.len()).sum()
    }

    /// Ids of an island's programs, ascending.
    pub fn island_members(&self, island: usize) -> Result<Vec<ProgramId>, DbError> {
        self.check_island(island)?;
        Ok(self.index.islands[island].members.clone())
    }

    /// A stored program with this code up to [`crate::normalize_code`], if
    /// any (the oldest), so a duplicate child need not be evaluated again.
    pub fn find_by_code(&self, code: &str) -> Result<Option<ProgramId>, DbError> {
        self.find_by_code_up_to(code, ProgramId::MAX)
    }

    /// As [`Self::find_by_code`], among the programs with ids up to `last`:
    /// those stored when [`Self::last_program_id`] was `last`, since ids
    /// only grow.
    pub fn find_by_code_up_to(&self, code: &str, last: ProgramId) -> Result<Option<ProgramId>, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, code FROM programs WHERE code_hash = ?1 AND id <= ?2 ORDER BY id")?;
        let mut rows = stmt.query(rusqlite::params![crate::identity::code_key(code), last])?;
        while let Some(row) = rows.next()? {
            if crate::identity::same_program(&row.get::<_, String>(1)?, code) {
                return Ok(Some(row.get(0)?));
            }
        }
        Ok(None)
    }

    /// The first stored program whose behaviour fingerprint is `fingerprint`.
    pub fn find_by_behaviour(&self, fingerprint: &str) -> Result<Option<ProgramId>, DbError> {
        store::find_by_behaviour(&self.conn, fingerprint)
    }

    /// Every stored behaviour fingerprint, with the first program that had it.
    pub fn known_behaviours(&self) -> Result<BTreeMap<String, ProgramId>, DbError> {
        store::known_behaviours(&self.conn)
    }

    /// The id the latest stored program got, evicted since or not (0 before
    /// any): ids are never reused.
    pub fn last_program_id(&self) -> Result<ProgramId, DbError> {
        let seq: Option<i64> = self
            .conn
            .query_row("SELECT seq FROM sqlite_sequence WHERE name = 'programs'", [], |r| r.get(0))
            .optional()?;
        Ok(seq.unwrap_or(0))
    }

    /// Highest `iteration_found` stored, for resuming.
    pub fn last_iteration(&self) -> Result<Option<u64>, DbError> {
        let max: Option<i64> =
            self.conn.query_row("SELECT MAX(iteration_found) FROM programs", [], |r| r.get(0))?;
        Ok(max.map(|m| m as u64))
    }
}
