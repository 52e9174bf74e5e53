//! Choosing parents and inspirations. Every draw comes from the database's
//! seeded stream and every candidate list is in id or rank order, so the same
//! seed and the same calls give the same samples. Sampling writes nothing:
//! the stream position is stored with the next write (a program or an
//! iteration record), so a reopened database redraws what was sampled after
//! its last write, as a resumed run must.

use std::collections::BTreeSet;

use crate::index::Island;
use crate::{DbError, Program, ProgramDatabase, ProgramId, ShownPrograms};

impl ProgramDatabase {
    /// A parent for the next child on `island`: with `exploration_ratio` a
    /// uniform pick from the island; with `exploitation_ratio` one from the
    /// elite archive, preferring the island's members (the archive's best with
    /// `elite_selection_ratio`, else uniform); otherwise fitness-weighted from
    /// the island (weight = fitness floored at 0.001). An empty island borrows
    /// from the whole population.
    pub fn sample_parent(&mut self, island: usize) -> Result<Program, DbError> {
        self.check_island(island)?;
        let id = self.pick_parent(island)?;
        self.program(id)
    }

    fn pick_parent(&mut self, island: usize) -> Result<ProgramId, DbError> {
        if self.index.len() == 0 {
            return Err(DbError::Empty);
        }
        let members = &self.index.islands[island].members;
        if members.is_empty() {
            let k = self.rng.below(self.index.len() as u64) as usize;
            return Ok(self.index.ranking.iter().nth(k).expect("k < len").id);
        }
        let roll = self.rng.unit();
        let explore = self.config.exploration_ratio;
        if roll < explore {
            return Ok(members[self.rng.below(members.len() as u64) as usize]);
        }
        if roll < explore + self.config.exploitation_ratio {
            // With several objectives, exploitation breeds from the front.
            if !self.config.objectives.is_empty()
                && let Some(id) = self.parent_from_front(island)?
            {
                return Ok(id);
            }
            // Archive ranks run worst to best.
            let on_island: Vec<ProgramId> = self
                .index
                .archive
                .iter()
                .filter(|r| self.index.get(r.id).is_some_and(|h| h.island == island))
                .map(|r| r.id)
                .collect();
            let pool: Vec<ProgramId> = if on_island.is_empty() {
                self.index.archive.iter().map(|r| r.id).collect()
            } else {
                on_island
            };
            if !pool.is_empty() {
                if self.rng.unit() < self.config.elite_selection_ratio {
                    return Ok(*pool.last().expect("pool is not empty"));
                }
                return Ok(pool[self.rng.below(pool.len() as u64) as usize]);
            }
        }
        Ok(weighted_pick(&self.index.islands[island], &mut self.rng))
    }

    /// Programs to show beside `parent` in the prompt, parent excluded, in
    /// their parts: the island's best and its next `num_top` fittest; up to
    /// `num_diverse` from cells near the parent's (nearest first, random
    /// order within a distance); and, where fewer cells were near, as many
    /// uniform picks from the island as inspirations.
    pub fn sample_inspirations(
        &mut self,
        island: usize,
        parent: ProgramId,
        num_top: usize,
        num_diverse: usize,
    ) -> Result<ShownPrograms, DbError> {
        self.check_island(island)?;
        let isl = &self.index.islands[island];
        let mut chosen: Vec<ProgramId> = Vec::new();
        let mut diverse: Vec<ProgramId> = Vec::new();
        let mut inspirations: Vec<ProgramId> = Vec::new();
        let mut taken: BTreeSet<ProgramId> = BTreeSet::from([parent]);

        let mut by_rank = isl.ranking.iter().rev().map(|r| r.id).filter(|id| *id != parent);
        for id in by_rank.by_ref().take(1 + num_top) {
            chosen.push(id);
            taken.insert(id);
        }

        let wanted = num_diverse;
        let parent_cell = self.index.get(parent).map(|h| h.cell_key);
        if let Some(parent_cell) = parent_cell {
            let mut near: Vec<(u32, u64, ProgramId)> = isl
                .cells
                .iter()
                .filter(|(_, id)| !taken.contains(id))
                .map(|(&key, &id)| (self.space.cell_distance(parent_cell, key), 0, id))
                .collect();
            // A random tie-break within each distance, so equally near cells
            // take turns.
            for entry in &mut near {
                entry.1 = self.rng.below(u64::MAX);
            }
            near.sort_unstable();
            for (_, _, id) in near.into_iter().take(num_diverse) {
                diverse.push(id);
                taken.insert(id);
            }
        }

        let members = &self.index.islands[island].members;
        let available = members.len() - taken.iter().filter(|id| members.binary_search(id).is_ok()).count();
        let mut fill = wanted.saturating_sub(diverse.len()).min(available);
        while fill > 0 {
            let id = members[self.rng.below(members.len() as u64) as usize];
            if taken.insert(id) {
                inspirations.push(id);
                fill -= 1;
            }
        }
        let load = |db: &Self, ids: Vec<ProgramId>| -> Result<Vec<Program>, DbError> {
            ids.into_iter().map(|id| db.program(id)).collect()
        };
        Ok(ShownPrograms {
            top: load(self, chosen)?,
            diverse: load(self, diverse)?,
            inspirations: load(self, inspirations)?,
        })
    }
}

fn weighted_pick(island: &Island, rng: &mut crate::rng::DeterministicRng) -> ProgramId {
    let total = island.weights.total();
    island.weights.find(rng.below(total)) as ProgramId
}
