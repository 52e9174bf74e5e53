//! The iteration log and checkpoint snapshots.

use std::collections::BTreeMap;

use openevolve_db::{
    Artifact, DatabaseConfig, DbError, IterationEntry, IterationRecord, Metrics, Mutation, NewProgram,
    Outcome, ProgramDatabase,
};
use serde_json::json;

fn config() -> DatabaseConfig {
    DatabaseConfig {
        num_islands: 2,
        feature_dimensions: vec!["complexity".into()],
        random_seed: Some(7),
        artifact_size_threshold: 16,
        ..DatabaseConfig::default()
    }
}

fn child(code: &str, island: usize, score: f64, big_artifact: bool) -> NewProgram {
    let mut artifacts = BTreeMap::new();
    if big_artifact {
        artifacts.insert("stderr".to_string(), Artifact::Text("x".repeat(100)));
    }
    NewProgram {
        code: code.into(),
        language: "rust".into(),
        parent_id: None,
        island,
        generation: 1,
        iteration_found: 1,
        metrics: Metrics::from([("combined_score".to_string(), score)]),
        artifacts,
        model: None,
        mutation: Mutation::Diff,
        prompt: None,
        behaviour: None,
        samples: 1,
    }
}

fn record(iteration: u64, island: usize, child_id: Option<i64>, message: Option<&str>) -> IterationRecord {
    IterationRecord {
        iteration,
        island,
        parent_id: Some(1),
        child_id,
        outcome: if child_id.is_some() { Outcome::Stored } else { Outcome::BuildFailed },
        message: message.map(str::to_string),
        model: Some("m".into()),
        prompt_tokens: 10,
        completion_tokens: 5,
        cost_usd: None,
        duration_ms: 3,
        region: (iteration % 2 == 0).then(|| "step".to_string()),
        phases: (iteration % 3 == 0).then(|| openevolve_db::IterationPhases {
            llm_ms: vec![5, 7],
            evaluate_ms: 11,
            ..Default::default()
        }),
    }
}

/// Commits an iteration that stores no child of its own.
fn record_iteration(
    db: &mut ProgramDatabase,
    record: &IterationRecord,
    exchange: Option<&str>,
    state_key: &'static str,
    state: &serde_json::Value,
) {
    let entry = IterationEntry {
        record: record.clone(),
        exchange: exchange.map(String::from),
        state_key,
        state: state.clone(),
    };
    db.commit_iteration(|_| Ok::<_, DbError>(((), entry))).unwrap();
}

#[test]
fn an_iteration_that_fails_after_its_child_is_stored_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let mut db = ProgramDatabase::open(&path, &config()).unwrap();
    record_iteration(&mut db, &record(1, 0, None, Some("boom")), None, "ctl", &json!({"n": 1}));
    let failed = db.commit_iteration(|db| {
        let id = db.insert(child("fn lost() {}", 0, 9.0, true))?.id();
        assert_eq!(db.best().unwrap().unwrap().id, id, "the child is visible inside its iteration");
        Err::<((), IterationEntry), _>(DbError::InvalidConfig("the caller gave up".into()))
    });
    assert!(matches!(failed, Err(DbError::InvalidConfig(_))), "{failed:?}");
    // Nothing of the failed iteration remains, in memory or in the file, and
    // the next iteration commits as if it had never begun.
    assert!(db.is_empty());
    assert_eq!(db.best().unwrap(), None);
    let id = db.insert(child("fn kept() {}", 0, 1.0, false)).unwrap().id();
    record_iteration(&mut db, &record(2, 0, Some(id), None), None, "ctl", &json!({"n": 2}));
    drop(db);
    let db = ProgramDatabase::open(&path, &config()).unwrap();
    assert_eq!(db.len(), 1);
    assert_eq!(db.last_recorded_iteration().unwrap(), Some(2));
    assert_eq!(db.meta("ctl").unwrap(), Some(json!({"n": 2})));
    let artifacts = std::fs::read_dir(dir.path().join("run.db.artifacts")).map_or(0, |d| d.count());
    assert_eq!(artifacts, 0, "the lost child's artifact file is removed");
}

#[test]
fn iterations_are_logged_with_the_callers_state_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    {
        let mut db = ProgramDatabase::open(&path, &config()).unwrap();
        assert_eq!(db.last_recorded_iteration().unwrap(), None);
        let id = db.insert(child("a", 0, 1.0, false)).unwrap().id();
        record_iteration(&mut db, &record(1, 0, Some(id), None), None, "ctl", &json!({"n": 1}));
        record_iteration(
            &mut db,
            &record(2, 1, None, Some("error[E0308]: mismatched types")),
            Some("# user\nmake it faster\n# answer\nfn f() -> u32 { \"x\" }"),
            "ctl",
            &json!({"n": 2}),
        );
        record_iteration(
            &mut db,
            &record(3, 0, None, Some("no SEARCH/REPLACE block")),
            None,
            "ctl",
            &json!({"n": 3}),
        );
    }
    let db = ProgramDatabase::open(&path, &config()).unwrap();
    assert_eq!(db.last_recorded_iteration().unwrap(), Some(3));
    assert_eq!(db.meta("ctl").unwrap(), Some(json!({"n": 3})));
    let all = db.iterations(0, 10).unwrap();
    assert_eq!(all.iter().map(|r| r.iteration).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(all[1], record(2, 1, None, Some("error[E0308]: mismatched types")));
    assert_eq!(db.iterations(2, 1).unwrap().len(), 1);
    assert_eq!(db.last_failure_on_island(1).unwrap().as_deref(), Some("error[E0308]: mismatched types"));
    assert_eq!(db.last_failure_on_island(0).unwrap().as_deref(), Some("no SEARCH/REPLACE block"));
    // A failed iteration's exchange is kept, in the prompt log.
    assert_eq!(
        db.exchange(2).unwrap().as_deref(),
        Some("# user\nmake it faster\n# answer\nfn f() -> u32 { \"x\" }")
    );
    assert_eq!(db.exchange(1).unwrap(), None);
}

#[test]
fn a_success_clears_the_islands_last_failure() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &config()).unwrap();
    record_iteration(&mut db, &record(1, 0, None, Some("boom")), None, "ctl", &json!(null));
    let id = db.insert(child("b", 0, 1.0, false)).unwrap().id();
    record_iteration(&mut db, &record(2, 0, Some(id), None), None, "ctl", &json!(null));
    assert_eq!(db.last_failure_on_island(0).unwrap(), None);
}

#[test]
fn recent_programs_are_newest_first_per_island() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &config()).unwrap();
    let a = db.insert(child("a", 0, 1.0, false)).unwrap().id();
    let _ = db.insert(child("b", 1, 1.0, false)).unwrap().id();
    let c = db.insert(child("c", 0, 1.0, false)).unwrap().id();
    let ids: Vec<_> = db.recent_programs_on_island(0, 5).unwrap().iter().map(|p| p.id).collect();
    assert_eq!(ids, [c, a]);
    assert_eq!(db.recent_programs_on_island(0, 1).unwrap().len(), 1);
}

#[test]
fn a_snapshot_restores_programs_artifacts_and_state_and_ignores_later_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let mut db = ProgramDatabase::open(&path, &config()).unwrap();
    let a = db.insert(child("fn a() {}", 0, 1.0, true)).unwrap().id();
    record_iteration(&mut db, &record(1, 0, Some(a), None), None, "ctl", &json!({"n": 1}));
    let snapshot = dir.path().join("checkpoint_1/evolution.db");
    std::fs::create_dir_all(snapshot.parent().unwrap()).unwrap();
    db.snapshot_to(&snapshot).unwrap();
    // Writes after the snapshot do not reach it.
    db.insert(child("fn b() {}", 1, 2.0, true)).unwrap();
    record_iteration(&mut db, &record(2, 1, None, Some("later")), None, "ctl", &json!({"n": 2}));
    drop(db);

    let restored_path = dir.path().join("resumed/evolution.db");
    std::fs::create_dir_all(restored_path.parent().unwrap()).unwrap();
    ProgramDatabase::restore_snapshot(&snapshot, &restored_path).unwrap();
    let restored = ProgramDatabase::open(&restored_path, &config()).unwrap();
    assert_eq!(restored.len(), 1);
    assert_eq!(restored.last_recorded_iteration().unwrap(), Some(1));
    assert_eq!(restored.meta("ctl").unwrap(), Some(json!({"n": 1})));
    assert_eq!(restored.artifacts(a).unwrap()["stderr"], Artifact::Text("x".repeat(100)));
}

#[test]
fn prompts_live_in_the_prompt_log_and_stay_out_of_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let mut db = ProgramDatabase::open(&path, &config()).unwrap();
    let mut p = child("fn a() {}", 0, 1.0, false);
    p.prompt = Some("improve it ".repeat(1000));
    let id = db.insert(p).unwrap().id();
    assert_eq!(db.program(id).unwrap().prompt.as_deref(), Some("improve it ".repeat(1000).as_str()));
    assert!(openevolve_db::prompt_log_path(&path).is_file());

    let snapshot = dir.path().join("snap.db");
    db.snapshot_to(&snapshot).unwrap();
    let bytes = std::fs::read(&snapshot).unwrap();
    assert!(!bytes.windows(22).any(|w| w == b"improve it improve it "), "the prompt is not in the snapshot");
    assert!(bytes.windows(9).any(|w| w == b"fn a() {}"), "the code is");
    let copy = ProgramDatabase::open(&snapshot, &config()).unwrap();
    assert_eq!(copy.program(id).unwrap().prompt, None);
    assert_eq!(copy.program(id).unwrap().code, "fn a() {}");
}
