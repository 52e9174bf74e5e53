//! Invariants over random sequences of inserts, samples and migrations.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{initial, program, small_config};
use openevolve_db::{DatabaseConfig, ProgramDatabase, ProgramId};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Code length picks the complexity bin, the score the score bin.
    Insert {
        island: usize,
        len: usize,
        variant: u8,
        score: Option<f64>,
    },
    Sample {
        island: usize,
    },
    Migrate {
        forced: bool,
    },
}

fn op(num_islands: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..num_islands, 0usize..100, 0u8..4, prop_oneof![1 => Just(None), 6 => (0.0f64..1.0).prop_map(Some)])
            .prop_map(|(island, len, variant, score)| Op::Insert { island, len, variant, score }),
        3 => (0..num_islands).prop_map(|island| Op::Sample { island }),
        1 => any::<bool>().prop_map(|forced| Op::Migrate { forced }),
    ]
}

fn code_of(len: usize, variant: u8) -> String {
    format!("{}{}", "x".repeat(len), variant)
}

/// Fitness with NaN as the least; equal to the database's order for scores.
fn better(a: f64, b: f64) -> bool {
    !a.is_nan() && (b.is_nan() || a > b)
}

/// Runs `ops`, checking the invariants after each; returns the sampled ids.
fn run(
    config: &DatabaseConfig,
    path: &std::path::Path,
    ops: &[Op],
    reopen_at: Option<usize>,
) -> Vec<ProgramId> {
    let mut db = ProgramDatabase::open(path, config).unwrap();
    db.insert(initial("init", 0.0)).unwrap();
    // For each (island, cell): the fittest program seen there since it was
    // last emptied.
    let mut fittest_seen: BTreeMap<(usize, Vec<u32>), f64> = BTreeMap::new();
    let mut best_ever = 0.0f64;
    for island in 0..config.num_islands {
        // A cap below the island count evicts some initial copies at once.
        if let Some(p) = db.best_on_island(island).unwrap() {
            fittest_seen.insert((island, p.cell.clone()), p.fitness);
        }
    }
    let mut samples = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        if reopen_at == Some(step) {
            drop(db);
            db = ProgramDatabase::open(path, config).unwrap();
        }
        // Cells occupied before the step, to spot the ones eviction empties.
        let mut landed: Vec<ProgramId> = Vec::new();
        let evicted: Vec<ProgramId> = match op {
            Op::Insert { island, len, variant, score } => {
                let mut p = program(code_of(*len, *variant), *island, 0.0, None);
                if let Some(s) = score {
                    p.metrics.insert("combined_score".into(), *s);
                } else {
                    p.metrics.clear();
                }
                let outcome = db.insert(p).unwrap();
                assert!(db.len() <= config.population_size, "population over the cap after an insert");
                landed.extend(&outcome.ids);
                if let Some(s) = score {
                    best_ever = if better(*s, best_ever) { *s } else { best_ever };
                }
                outcome.evicted
            }
            Op::Sample { island } => {
                let parent = db.sample_parent(*island).unwrap();
                samples.push(parent.id);
                let insp = db.sample_inspirations(*island, parent.id, 2, 2).unwrap();
                samples.extend(insp.iter().map(|p| p.id));
                assert_eq!(insp.len(), insp.top.len() + insp.diverse.len() + insp.inspirations.len());
                Vec::new()
            }
            Op::Migrate { forced } => {
                let before: Vec<BTreeSet<String>> = (0..config.num_islands)
                    .map(|i| {
                        db.island_members(i).unwrap().iter().map(|id| db.program(*id).unwrap().code).collect()
                    })
                    .collect();
                let report =
                    if *forced { Some(db.migrate_now().unwrap()) } else { db.migrate_if_due().unwrap() };
                let Some(report) = report else { continue };
                let mut arrived: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
                for (_, copy) in report.migrants.iter().filter(|(_, c)| !report.evicted.contains(c)) {
                    let copy = db.program(*copy).unwrap();
                    assert!(
                        !before[copy.island].contains(&copy.code),
                        "migrant duplicates code on its target"
                    );
                    assert!(
                        arrived.entry(copy.island).or_default().insert(copy.code.clone()),
                        "two equal migrants"
                    );
                    landed.push(copy.id);
                }
                report.evicted
            }
        };
        // An evicted program empties its cell; the cell's history restarts.
        for key in fittest_seen.keys().cloned().collect::<Vec<_>>() {
            let occupied = db.grid_occupancy(key.0).unwrap().iter().any(|o| o.cell == key.1);
            if !occupied {
                fittest_seen.remove(&key);
            }
        }
        for id in landed.iter().filter(|id| !evicted.contains(id)) {
            let p = db.program(*id).unwrap();
            let entry = fittest_seen.entry((p.island, p.cell.clone())).or_insert(p.fitness);
            if better(p.fitness, *entry) {
                *entry = p.fitness;
            }
        }
        for island in 0..config.num_islands {
            let occupancy = db.grid_occupancy(island).unwrap();
            let cells: BTreeSet<_> = occupancy.iter().map(|o| o.cell.clone()).collect();
            assert_eq!(cells.len(), occupancy.len(), "two programs in one cell");
            for o in &occupancy {
                let owner = db.program(o.program).unwrap();
                assert_eq!((owner.island, &owner.cell), (island, &o.cell));
                let seen = fittest_seen[&(island, o.cell.clone())];
                assert!(
                    owner.fitness == seen || (owner.fitness.is_nan() && seen.is_nan()),
                    "cell {:?} on island {island} holds fitness {} but {seen} was seen there",
                    o.cell,
                    owner.fitness
                );
            }
        }
        let best = db.best().unwrap().unwrap();
        assert_eq!(best.fitness, best_ever, "the best program was evicted");
    }
    samples
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_over_random_operations(ops in prop::collection::vec(op(3), 1..60), cap in 1usize..25) {
        let dir = tempfile::tempdir().unwrap();
        let config = small_config(3, cap, 3);
        run(&config, &dir.path().join("a.db"), &ops, None);
    }

    #[test]
    fn same_seed_and_calls_give_same_samples_even_across_reopening_after_a_write(
        ops in prop::collection::vec(op(2), 1..40),
        reopen_frac in 0.0f64..1.0,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let config = small_config(2, 12, 4);
        let first = run(&config, &dir.path().join("a.db"), &ops, None);
        let second = run(&config, &dir.path().join("b.db"), &ops, None);
        prop_assert_eq!(&first, &second);
        // The stream position is stored with writes, so reopen right after
        // one (a sample with no write after it is drawn again: see
        // `samples_after_the_last_write_are_drawn_again_after_reopening`).
        let target = (ops.len() as f64 * reopen_frac) as usize;
        let reopen_at = (0..=target)
            .rev()
            .find(|&s| s == 0 || matches!(ops[s - 1], Op::Insert { .. }))
            .unwrap_or(0);
        let resumed = run(&config, &dir.path().join("c.db"), &ops, Some(reopen_at));
        prop_assert_eq!(&first, &resumed);
    }
}
