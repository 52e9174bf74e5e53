//! The in-memory index: per program only its id, island, cell and fitness
//! (code stays on disk). Every structure is ordered by id or rank, never by
//! hash order, so decisions replay exactly, and a reopened database rebuilds
//! the same index.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::ProgramId;
use crate::fenwick::Fenwick;
use crate::fitness::Rank;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Hot {
    pub island: usize,
    pub cell_key: u64,
    pub fitness: f64,
    pub owns_cell: bool,
    pub in_archive: bool,
}

impl Hot {
    /// Eviction tier: programs owning no cell and outside the archive go first.
    fn tier(&self) -> u8 {
        if self.owns_cell {
            2
        } else if self.in_archive {
            1
        } else {
            0
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Island {
    /// Ascending ids; ids only grow, so inserts append.
    pub members: Vec<ProgramId>,
    pub ranking: BTreeSet<Rank>,
    pub cells: BTreeMap<u64, ProgramId>,
    /// Parent-selection weight by id, for fitness-weighted sampling.
    pub weights: Fenwick,
}

#[derive(Debug, Default)]
pub(crate) struct Index {
    programs: HashMap<ProgramId, Hot>,
    pub islands: Vec<Island>,
    pub ranking: BTreeSet<Rank>,
    eviction: BTreeSet<(u8, Rank)>,
    pub archive: BTreeSet<Rank>,
}

/// Sampling weight: fitness floored at 0.001 (so every program can be drawn),
/// in fixed point with 1e-6 resolution, capped so 2^20 programs cannot
/// overflow the sum.
pub(crate) fn selection_weight(fitness: f64) -> u64 {
    let f = if fitness.is_nan() { 0.001 } else { fitness.max(0.001) };
    (f * 1e6).round().min((1u64 << 43) as f64) as u64
}

impl Index {
    pub fn new(num_islands: usize) -> Self {
        Self { islands: (0..num_islands).map(|_| Island::default()).collect(), ..Self::default() }
    }

    pub fn len(&self) -> usize {
        self.programs.len()
    }

    pub fn get(&self, id: ProgramId) -> Option<&Hot> {
        self.programs.get(&id)
    }

    pub fn best(&self) -> Option<ProgramId> {
        self.ranking.last().map(|r| r.id)
    }

    /// Adds a program that owns no cell and is outside the archive.
    pub fn add(&mut self, id: ProgramId, island: usize, cell_key: u64, fitness: f64) {
        let hot = Hot { island, cell_key, fitness, owns_cell: false, in_archive: false };
        let rank = Rank::new(fitness, id);
        let isl = &mut self.islands[island];
        match isl.members.last() {
            Some(&last) if last > id => {
                let pos = isl.members.partition_point(|&m| m < id);
                isl.members.insert(pos, id);
            }
            _ => isl.members.push(id),
        }
        isl.ranking.insert(rank);
        isl.weights.set(id as usize, selection_weight(fitness));
        self.ranking.insert(rank);
        self.eviction.insert((hot.tier(), rank));
        self.programs.insert(id, hot);
    }

    pub fn remove(&mut self, id: ProgramId) -> Option<Hot> {
        let hot = self.programs.remove(&id)?;
        let rank = Rank::new(hot.fitness, id);
        let isl = &mut self.islands[hot.island];
        if let Ok(pos) = isl.members.binary_search(&id) {
            isl.members.remove(pos);
        }
        isl.ranking.remove(&rank);
        isl.weights.set(id as usize, 0);
        if hot.owns_cell && isl.cells.get(&hot.cell_key) == Some(&id) {
            isl.cells.remove(&hot.cell_key);
        }
        self.ranking.remove(&rank);
        self.eviction.remove(&(hot.tier(), rank));
        if hot.in_archive {
            self.archive.remove(&rank);
        }
        Some(hot)
    }

    /// Changes a program's flags, keeping its eviction tier in step.
    fn update(&mut self, id: ProgramId, change: impl FnOnce(&mut Hot)) {
        let Some(hot) = self.programs.get_mut(&id) else { return };
        let rank = Rank::new(hot.fitness, id);
        self.eviction.remove(&(hot.tier(), rank));
        change(hot);
        self.eviction.insert((hot.tier(), rank));
    }

    /// Puts `id` into its cell on its island; returns whom it displaced.
    pub fn take_cell(&mut self, id: ProgramId) -> Option<ProgramId> {
        let hot = self.programs[&id];
        let displaced = self.islands[hot.island].cells.insert(hot.cell_key, id);
        if let Some(old) = displaced {
            self.update(old, |h| h.owns_cell = false);
        }
        self.update(id, |h| h.owns_cell = true);
        displaced
    }

    /// Moves a program to another cell key (re-binning); it owns no cell
    /// until [`Self::take_cell`].
    pub fn set_cell_key(&mut self, id: ProgramId, cell_key: u64) {
        self.update(id, |h| {
            h.cell_key = cell_key;
            h.owns_cell = false;
        });
    }

    /// Empties every island's grid (re-binning refills it).
    pub fn clear_cells(&mut self) {
        let owners: Vec<ProgramId> =
            self.islands.iter_mut().flat_map(|isl| std::mem::take(&mut isl.cells).into_values()).collect();
        for id in owners {
            self.update(id, |h| h.owns_cell = false);
        }
    }

    pub fn archive_insert(&mut self, id: ProgramId) {
        let hot = self.programs[&id];
        self.archive.insert(Rank::new(hot.fitness, id));
        self.update(id, |h| h.in_archive = true);
    }

    pub fn archive_remove(&mut self, id: ProgramId) {
        let hot = self.programs[&id];
        self.archive.remove(&Rank::new(hot.fitness, id));
        self.update(id, |h| h.in_archive = false);
    }

    /// The program to evict next: lowest tier, then worst; never `keep`.
    pub fn eviction_victim(&self, keep: Option<ProgramId>) -> Option<ProgramId> {
        self.eviction.iter().map(|(_, r)| r.id).find(|&id| Some(id) != keep)
    }

    /// Every id in ascending order (for rebuilding caches).
    #[cfg(test)]
    pub fn ids(&self) -> Vec<ProgramId> {
        let mut ids: Vec<_> = self.programs.keys().copied().collect();
        ids.sort_unstable();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_prefers_programs_without_cell_or_archive_place() {
        let mut index = Index::new(1);
        index.add(1, 0, 0, 0.1); // owns a cell, worst
        index.add(2, 0, 1, 0.5); // in the archive
        index.add(3, 0, 0, 0.9); // nothing, best
        index.take_cell(1);
        index.archive_insert(2);
        assert_eq!(index.eviction_victim(None), Some(3));
        assert_eq!(index.eviction_victim(Some(3)), Some(2));
        index.remove(3);
        index.remove(2);
        assert_eq!(index.eviction_victim(None), Some(1));
        assert_eq!(index.ids(), vec![1]);
        assert!(index.islands[0].cells.contains_key(&0));
        index.remove(1);
        assert!(index.islands[0].cells.is_empty() && index.archive.is_empty());
    }
}
