//! Behaviour of `ProgramDatabase` on a real SQLite file.

mod common;

use std::collections::BTreeMap;

use common::{initial, program, score, small_config};
use openevolve_db::{Artifact, DatabaseConfig, DbError, Metrics, Mutation, ProgramDatabase};

#[test]
fn initial_program_seeds_every_island() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &small_config(3, 100, 10)).unwrap();
    let outcome = db.insert(initial("fn main() {}", 0.5)).unwrap();
    assert_eq!(outcome.ids.len(), 3);
    assert_eq!(db.island_counts(), vec![1, 1, 1]);
    for island in 0..3 {
        let best = db.best_on_island(island).unwrap().unwrap();
        assert_eq!(best.code, "fn main() {}");
        assert_eq!(best.island, island);
        assert_eq!(db.grid_occupancy(island).unwrap().len(), 1);
    }
    assert_eq!(db.best().unwrap().unwrap().id, outcome.ids[0]);
}

#[test]
fn a_child_takes_a_cell_only_when_empty_or_strictly_fitter() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &small_config(1, 100, 10)).unwrap();
    // Same length and same score bin: all three compete for one cell.
    let first = db.insert(program("aaaa", 0, 0.10, None)).unwrap();
    assert!(first.cells[0].took_cell);
    let tie = db.insert(program("bbbb", 0, 0.10, None)).unwrap();
    assert!(!tie.cells[0].took_cell, "equal fitness must not displace the occupant");
    let fitter = db.insert(program("cccc", 0, 0.20, None)).unwrap();
    assert!(fitter.cells[0].took_cell);
    assert_eq!(fitter.cells[0].displaced, Some(first.id()));
    let occupancy = db.grid_occupancy(0).unwrap();
    assert_eq!(occupancy.len(), 1);
    assert_eq!(occupancy[0].program, fitter.id());
    assert_eq!(occupancy[0].cell, vec![0, 0]);
}

#[test]
fn population_cap_evicts_cellless_programs_first_and_keeps_the_best() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &small_config(1, 3, 1)).unwrap();
    let best = db.insert(program("a", 0, 0.3, None)).unwrap().id();
    let loser = db.insert(program("b", 0, 0.2, None)).unwrap().id(); // same cell, loses
    let other_cell = db.insert(program("x".repeat(80), 0, 0.1, None)).unwrap().id();
    let outcome = db.insert(program("y".repeat(40), 0, 0.05, None)).unwrap();
    assert_eq!(outcome.evicted, vec![loser], "the program owning no cell goes first");
    assert_eq!(db.len(), 3);
    // Now every program owns a cell; the least fit goes, never the best.
    let outcome = db.insert(program("z".repeat(41), 0, 0.01, None)).unwrap();
    assert_eq!(outcome.evicted, vec![outcome.id()]);
    assert!(db.program(best).is_ok() && db.program(other_cell).is_ok());
    assert!(matches!(db.program(loser), Err(DbError::NoSuchProgram(_))));
}

#[test]
fn nan_and_missing_scores_rank_last() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &small_config(1, 100, 10)).unwrap();
    db.insert(program("a", 0, f64::NAN, None)).unwrap();
    let mut no_metrics = program("b", 0, 0.0, None);
    no_metrics.metrics = Metrics::new();
    db.insert(no_metrics).unwrap();
    let low = db.insert(program("c", 0, -5.0, None)).unwrap().id();
    let top: Vec<_> = db.top_k(3).unwrap();
    assert_eq!(top[0].id, low);
    assert!(top[1].fitness.is_nan() && top[2].fitness.is_nan());
    // NaN survives the JSON round trip.
    assert!(db.program(top[1].id).unwrap().fitness.is_nan());
}

#[test]
fn artifacts_small_inline_large_in_files_removed_on_eviction() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(1, 1, 1);
    config.artifact_size_threshold = 16;
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &config).unwrap();
    let mut p = program("a", 0, 0.1, None);
    p.artifacts = BTreeMap::from([
        ("stderr".to_string(), Artifact::Text("warning: x".into())),
        ("trace/big".to_string(), Artifact::Bytes(vec![7u8; 1000])),
    ]);
    let id = db.insert(p.clone()).unwrap().id();
    assert_eq!(db.artifacts(id).unwrap(), p.artifacts);
    let folder = dir.path().join("run.db.artifacts").join(id.to_string());
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 1, "only the large artifact is a file");

    // A fitter program pushes it out of the single-slot population.
    let outcome = db.insert(program("b", 0, 0.9, None)).unwrap();
    assert_eq!(outcome.evicted, vec![id]);
    assert!(!folder.exists(), "an evicted program's artifact files go with it");
}

#[test]
fn prompts_are_kept_only_when_logging_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(1, 10, 10);
    config.log_prompts = false;
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &config).unwrap();
    let id = db.insert(program("a", 0, 0.1, None)).unwrap().id();
    assert_eq!(db.program(id).unwrap().prompt, None);
    assert_eq!(db.program(id).unwrap().model.as_deref(), Some("test-model"));
}

#[test]
fn lineage_follows_parents_until_an_evicted_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &small_config(1, 100, 10)).unwrap();
    let a = db.insert(program("a", 0, 0.1, None)).unwrap().id();
    let b = db.insert(program("ab", 0, 0.2, Some(a))).unwrap().id();
    let c = db.insert(program("abc", 0, 0.3, Some(b))).unwrap().id();
    let ids: Vec<_> = db.lineage(c).unwrap().iter().map(|p| p.id).collect();
    assert_eq!(ids, vec![c, b, a]);
}

#[test]
fn custom_feature_dimension_must_be_a_returned_metric() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(1, 10, 10);
    config.feature_dimensions = vec!["memory_mb".into(), "diversity".into()];
    config.feature_ranges = BTreeMap::from([("memory_mb".into(), [0.0, 300.0])]);
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &config).unwrap();
    let err = db.insert(program("a", 0, 0.1, None)).unwrap_err();
    assert!(
        matches!(err, DbError::MissingFeatureMetric { ref dimension, .. } if dimension == "memory_mb"),
        "{err}"
    );
    assert_eq!(db.len(), 0);

    let mut p = program("fn a() { 1 }", 0, 0.1, None);
    p.metrics.insert("memory_mb".into(), 250.0);
    let id = db.insert(p).unwrap().id();
    let stored = db.program(id).unwrap();
    assert_eq!(stored.features, vec![250.0, 0.0]);
    assert_eq!(stored.cell, vec![2, 0]);
    // The second program measures diversity against the first.
    let mut q = program("struct B; impl B { fn b(&self) -> u8 { 2 } }", 0, 0.2, None);
    q.metrics.insert("memory_mb".into(), 10.0);
    let q_id = db.insert(q).unwrap().id();
    let stored = db.program(q_id).unwrap();
    assert!(stored.features[1] > 0.5, "{:?}", stored.features);
    // The memory metric is a feature, so it is not averaged into fitness.
    assert_eq!(openevolve_db::fitness(&stored.metrics, &config.feature_dimensions), 0.2);
}

#[test]
fn reopening_keeps_everything_and_refuses_a_changed_grid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let config = small_config(2, 100, 10);
    let (best, counts, occupancy) = {
        let mut db = ProgramDatabase::open(&path, &config).unwrap();
        db.insert(initial("init", 0.1)).unwrap();
        for i in 0..20 {
            db.insert(program("x".repeat(i * 4), i % 2, i as f64 / 20.0, None)).unwrap();
        }
        db.set_meta("iteration", &serde_json::json!(20)).unwrap();
        (db.best().unwrap().unwrap(), db.island_counts(), db.grid_occupancy(1).unwrap())
    };
    let db = ProgramDatabase::open(&path, &config).unwrap();
    assert_eq!(db.best().unwrap().unwrap(), best);
    assert_eq!(db.island_counts(), counts);
    assert_eq!(db.grid_occupancy(1).unwrap(), occupancy);
    assert_eq!(db.meta("iteration").unwrap(), Some(serde_json::json!(20)));
    drop(db);

    let mut changed = config.clone();
    changed.feature_bins = openevolve_db::FeatureBins::All(4);
    assert!(matches!(ProgramDatabase::open(&path, &changed), Err(DbError::ConfigMismatch { .. })));
    let mut invalid = config;
    invalid.num_islands = 0;
    assert!(matches!(ProgramDatabase::open(&path, &invalid), Err(DbError::InvalidConfig(_))));
}

#[test]
fn the_seed_is_drawn_once_and_samples_after_the_last_write_are_drawn_again_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let mut unseeded = small_config(1, 100, 5);
    unseeded.random_seed = None;
    let sample =
        |db: &mut ProgramDatabase| -> Vec<i64> { (0..12).map(|_| db.sample_parent(0).unwrap().id).collect() };
    let (seed, after_write, at_reopen) = {
        let mut db = ProgramDatabase::open(&path, &unseeded).unwrap();
        db.insert(initial("init", 0.0)).unwrap();
        for i in 0..10 {
            db.insert(program("z".repeat(i * 7 + 1), 0, i as f64 / 10.0, None)).unwrap();
        }
        let after_write = sample(&mut db);
        // Drawn after a write, then lost with the process: never stored.
        let at_reopen = sample(&mut db);
        (db.run_seed(), after_write, at_reopen)
    };
    assert!(after_write.iter().collect::<std::collections::BTreeSet<_>>().len() > 1, "samples vary");
    assert_ne!(after_write, at_reopen, "the stream moves on within a process");

    // A seed given on reopening does not replace the one the run started with.
    let mut reseeded = unseeded.clone();
    reseeded.random_seed = Some(seed.wrapping_add(1));
    let mut db = ProgramDatabase::open(&path, &reseeded).unwrap();
    assert_eq!(db.run_seed(), seed, "the stored seed is the run's, whatever the config says now");
    assert_eq!(sample(&mut db), after_write, "the stream resumes at the last write");
    db.insert(program("w", 0, 0.5, None)).unwrap();
    let next = sample(&mut db);
    drop(db);
    let mut db = ProgramDatabase::open(&path, &unseeded).unwrap();
    assert_eq!(sample(&mut db), next, "an insert stores the position it was made at");
}

#[test]
fn sampling_parents_and_inspirations() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &small_config(2, 100, 5)).unwrap();
    assert!(matches!(db.sample_parent(0), Err(DbError::Empty)));
    db.insert(initial("init", 0.0)).unwrap();
    for i in 0..30 {
        db.insert(program(format!("{}{i}", "y".repeat(i * 3)), 0, i as f64 / 30.0, None)).unwrap();
    }
    for _ in 0..50 {
        let parent = db.sample_parent(0).unwrap();
        assert_eq!(parent.island, 0);
        let insp = db.sample_inspirations(0, parent.id, 3, 4).unwrap();
        assert_eq!(insp.len(), 1 + 3 + 4);
        assert_eq!(insp.top.len(), 1 + 3);
        assert!(insp.iter().all(|p| p.id != parent.id && p.island == 0));
        let mut ids: Vec<_> = insp.iter().map(|p| p.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), insp.len(), "inspirations are distinct");
        let best = db.best_on_island(0).unwrap().unwrap().id;
        if parent.id != best {
            assert_eq!(insp.top[0].id, best, "the island's best comes first");
        }
        let fitness = |p: &openevolve_db::Program| p.metrics["combined_score"];
        assert!(insp.top.windows(2).all(|w| fitness(&w[0]) >= fitness(&w[1])), "top is fittest first");
    }
    // Island 1 holds only the initial copy; its parent may come from the
    // archive elsewhere, but inspirations come from the island, parent excluded.
    let only = db.island_members(1).unwrap();
    assert_eq!(only.len(), 1);
    for _ in 0..20 {
        let parent = db.sample_parent(1).unwrap();
        let insp: Vec<_> = db.sample_inspirations(1, parent.id, 3, 4).unwrap().iter().map(|p| p.id).collect();
        let expected = if parent.id == only[0] { vec![] } else { only.clone() };
        assert_eq!(insp, expected);
    }
    assert!(matches!(db.sample_parent(2), Err(DbError::NoSuchIsland { .. })));
}

#[test]
fn shown_programs_come_in_their_parts_and_a_migrant_stays_in_the_part_it_was_picked_for() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &small_config(2, 100, 10)).unwrap();
    db.insert(initial("init", 0.0)).unwrap();
    for i in 0..12 {
        db.insert(program(format!("{}{i}", "y".repeat(i * 400)), 0, i as f64 / 12.0, None)).unwrap();
    }
    db.migrate_now().unwrap();
    let migrants: Vec<_> = db
        .island_members(1)
        .unwrap()
        .into_iter()
        .filter(|id| db.program(*id).unwrap().migrated_from.is_some())
        .collect();
    assert!(migrants.len() >= 2, "nothing migrated to island 1");
    let parent = db.program(db.island_members(1).unwrap()[0]).unwrap();
    let shown = db.sample_inspirations(1, parent.id, 1, 3).unwrap();
    let ids = |part: &[openevolve_db::Program]| part.iter().map(|p| p.id).collect::<Vec<_>>();
    // The best first, by fitness, before anything nearer or random.
    let fitness = |p: &openevolve_db::Program| p.metrics["combined_score"];
    assert!(!shown.top.is_empty() && shown.top.windows(2).all(|w| fitness(&w[0]) >= fitness(&w[1])));
    let (top, diverse, inspirations) = (ids(&shown.top), ids(&shown.diverse), ids(&shown.inspirations));
    for id in &diverse {
        assert!(!top.contains(id) && !inspirations.contains(id), "program {id} is in two parts");
    }
    // Migrants picked as near cells stay among the diverse ones.
    assert!(
        shown.diverse.iter().any(|p| p.migrated_from.is_some()),
        "no migrant among the diverse programs: {diverse:?} (migrants {migrants:?})"
    );
    assert!(shown.iter().all(|p| p.island == 1 && p.id != parent.id));
}

#[test]
fn too_few_near_cells_are_made_up_with_inspirations() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &small_config(1, 100, 5)).unwrap();
    db.insert(initial("init", 0.0)).unwrap();
    // Same length and near scores: few cells for many programs.
    for i in 0..8 {
        db.insert(program(format!("fn f{i}() {{}}"), 0, 0.5 + i as f64 / 1000.0, None)).unwrap();
    }
    let parent = db.sample_parent(0).unwrap();
    let shown = db.sample_inspirations(0, parent.id, 1, 6).unwrap();
    assert_eq!(shown.diverse.len() + shown.inspirations.len(), 6, "{shown:?}");
    assert!(!shown.inspirations.is_empty(), "every pick came from a near cell");
}

#[test]
fn migration_is_due_after_the_interval_and_skips_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &small_config(3, 100, 10)).unwrap();
    db.insert(initial("init", 0.0)).unwrap();
    for i in 0..4 {
        db.insert(program(format!("p{i}"), 0, 0.5 + i as f64 / 10.0, None)).unwrap();
        assert_eq!(db.migrate_if_due().unwrap(), None);
    }
    db.insert(program("p4", 0, 0.95, None)).unwrap();
    let report = db.migrate_if_due().unwrap().expect("5 generations on island 0 make it due");
    // Island 0 sends its best half (3 of 6) to island 1; islands 1 and 2 send
    // their best (the initial copy), which their targets already hold.
    let sent: Vec<_> = report.migrants.iter().map(|(s, _)| db.program(*s).unwrap().code).collect();
    assert_eq!(sent, vec!["p4", "p3", "p2"]);
    assert_eq!(report.skipped_duplicates, 2);
    for (_, copy) in &report.migrants {
        let copy = db.program(*copy).unwrap();
        assert_eq!((copy.island, copy.mutation), (1, Mutation::Migration));
    }
    assert_eq!(db.migrate_if_due().unwrap(), None, "not due again right away");
    // A forced second round must not copy the same code onto island 1 again.
    let again = db.migrate_now().unwrap();
    assert!(again.migrants.iter().all(|(_, copy)| db.program(*copy).unwrap().island != 1));
}

#[test]
fn find_by_code_and_last_iteration() {
    let dir = tempfile::tempdir().unwrap();
    let config = DatabaseConfig { random_seed: Some(1), ..DatabaseConfig::default() };
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &config).unwrap();
    assert_eq!(db.last_iteration().unwrap(), None);
    let mut p = program("fn f() {}", 0, 0.1, None);
    p.metrics = score(0.1);
    p.iteration_found = 7;
    let id = db.insert(p).unwrap().id();
    assert_eq!(db.find_by_code("fn f() {}").unwrap(), Some(id));
    assert_eq!(db.find_by_code("fn g() {}").unwrap(), None);
    // The same program up to trailing whitespace, line endings and blank lines.
    assert_eq!(db.find_by_code("fn f() {}  \r\n\n\n").unwrap(), Some(id));
    // Indentation and inner spacing are code: not the same program.
    assert_eq!(db.find_by_code("  fn f() {}").unwrap(), None);
    assert_eq!(db.find_by_code("fn f() { }").unwrap(), None);
    assert_eq!(db.last_iteration().unwrap(), Some(7));
}

#[test]
fn a_database_of_the_previous_schema_finds_whitespace_variants_once_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let config = DatabaseConfig { random_seed: Some(1), ..DatabaseConfig::default() };
    let code = "fn f() {}   \n\n";
    let id = {
        let mut db = ProgramDatabase::open(&path, &config).unwrap();
        db.insert(program(code, 0, 0.1, None)).unwrap().id()
    };
    // As version 3 stored it: the key of the raw code.
    let raw_key = format!("{:016x}", {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in code.bytes() {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
        h
    });
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE programs SET code_hash = ?1", [&raw_key]).unwrap();
    // Nor had it the columns of later versions.
    conn.execute_batch(
        "DROP INDEX programs_behaviour; ALTER TABLE programs DROP COLUMN behaviour; \
         ALTER TABLE programs DROP COLUMN fitness_stderr; ALTER TABLE programs DROP COLUMN samples; \
         ALTER TABLE iterations DROP COLUMN region; ALTER TABLE iterations DROP COLUMN phases;",
    )
    .unwrap();
    conn.pragma_update(None, "user_version", 3).unwrap();
    drop(conn);
    let db = ProgramDatabase::open(&path, &config).unwrap();
    assert_eq!(db.find_by_code("fn f() {}").unwrap(), Some(id), "not re-keyed by the migration");
    assert_eq!(db.find_by_code(code).unwrap(), Some(id));
}

/// Programs like a real run's children: lengths within a few percent of each
/// other, scores close together.
fn close_variants(n: usize) -> Vec<(String, f64)> {
    (0..n)
        .map(|i| {
            let body: String =
                (0..(40 + (i * 7) % 13)).map(|k| format!("x{} ", (k * 31 + i * 17) % 97)).collect();
            (format!("fn f() {{ {body} }}"), 0.40 + ((i * 37) % 23) as f64 / 100.0)
        })
        .collect()
}

fn observed_config(num_islands: usize) -> DatabaseConfig {
    DatabaseConfig {
        num_islands,
        feature_dimensions: vec!["complexity".into(), "score".into()],
        random_seed: Some(7),
        ..DatabaseConfig::default()
    }
}

/// Each cell's owner is the fittest program of its island in that cell (the
/// lower id on a tie), and every program's stored cell is where its values
/// fall under the current ranges.
fn assert_cells_hold_their_fittest(db: &ProgramDatabase, islands: usize) {
    for island in 0..islands {
        let members: Vec<_> =
            db.island_members(island).unwrap().into_iter().map(|id| db.program(id).unwrap()).collect();
        let mut fittest: BTreeMap<Vec<u32>, (f64, i64)> = BTreeMap::new();
        for p in &members {
            let entry = fittest.entry(p.cell.clone()).or_insert((p.fitness, p.id));
            if p.fitness > entry.0 {
                *entry = (p.fitness, p.id);
            }
        }
        let owners: BTreeMap<Vec<u32>, i64> =
            db.grid_occupancy(island).unwrap().into_iter().map(|o| (o.cell, o.program)).collect();
        let expected: BTreeMap<Vec<u32>, i64> =
            fittest.into_iter().map(|(cell, (_, id))| (cell, id)).collect();
        assert_eq!(owners, expected, "island {island}");
    }
}

#[test]
fn observed_ranges_spread_close_programs_over_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &observed_config(1)).unwrap();
    for (code, s) in close_variants(40) {
        db.insert(program(code, 0, s, None)).unwrap();
    }
    let cells = db.grid_occupancy(0).unwrap().len();
    // Under the old fixed ranges (complexity [0, 10000], score [0, 1] in 10
    // bins) these 40 programs fall into 1 × 3 cells.
    assert!(cells >= 12, "only {cells} cells occupied");
    assert_cells_hold_their_fittest(&db, 1);
}

#[test]
fn re_binning_after_a_resume_matches_an_uninterrupted_run() {
    let programs = close_variants(30);
    let run = |stop_at: Option<usize>| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.db");
        let mut db = ProgramDatabase::open(&path, &observed_config(2)).unwrap();
        for (i, (code, s)) in programs.iter().enumerate() {
            if Some(i) == stop_at {
                drop(db);
                db = ProgramDatabase::open(&path, &observed_config(2)).unwrap();
            }
            db.insert(program(code.clone(), i % 2, *s, None)).unwrap();
        }
        assert_cells_hold_their_fittest(&db, 2);
        (0..2).map(|island| db.grid_occupancy(island).unwrap()).collect::<Vec<_>>()
    };
    let whole = run(None);
    assert_eq!(run(Some(11)), whole);
    assert_eq!(run(Some(23)), whole);
}

#[test]
fn a_database_made_before_observed_ranges_keeps_the_fixed_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let mut db = ProgramDatabase::open(&path, &observed_config(1)).unwrap();
    db.insert(program("fn a() {}", 0, 0.5, None)).unwrap();
    drop(db);
    // What an older build left: a config, and no saved ranges.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("DELETE FROM meta WHERE key = ?1", [openevolve_db::META_FEATURE_RANGES]).unwrap();
    drop(conn);
    let mut db = ProgramDatabase::open(&path, &observed_config(1)).unwrap();
    for (code, s) in close_variants(20) {
        db.insert(program(code, 0, s, None)).unwrap();
    }
    // Fixed [0, 10000] characters: every one of them is in complexity bin 0.
    let cells = db.grid_occupancy(0).unwrap();
    assert!(cells.iter().all(|o| o.cell[0] == 0), "{cells:?}");
}
