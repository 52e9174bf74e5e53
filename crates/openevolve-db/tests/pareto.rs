//! Several objectives: each island's Pareto front, parents drawn from it,
//! constraints that keep a program off it, and the same front after
//! reopening.

mod common;

use common::program;
use openevolve_db::{DatabaseConfig, Direction, NewProgram, Objective, ProgramDatabase};

fn config() -> DatabaseConfig {
    DatabaseConfig {
        num_islands: 1,
        exploration_ratio: 0.0,
        exploitation_ratio: 1.0,
        objectives: vec![
            Objective { metric: "speed".into(), direction: Direction::Maximize },
            Objective { metric: "peak_mb".into(), direction: Direction::Minimize },
        ],
        constraints: vec!["within_tolerance".into()],
        random_seed: Some(11),
        ..DatabaseConfig::default()
    }
}

fn run(code: &str, speed: f64, peak_mb: f64, within: f64) -> NewProgram {
    let mut p = program(code, 0, 0.5, None);
    p.metrics.insert("speed".into(), speed);
    p.metrics.insert("peak_mb".into(), peak_mb);
    p.metrics.insert("within_tolerance".into(), within);
    p
}

#[test]
fn the_front_holds_the_trade_offs_parents_come_from_it_and_it_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let (front, draws) = {
        let mut db = ProgramDatabase::open(&path, &config()).unwrap();
        let fast = db.insert(run("fast", 2.0, 900.0, 1.0)).unwrap().id();
        let lean = db.insert(run("lean", 1.0, 500.0, 1.0)).unwrap().id();
        let middle = db.insert(run("middle", 1.5, 700.0, 1.0)).unwrap().id();
        // Slower and heavier than `middle`: dominated.
        db.insert(run("dominated", 1.4, 750.0, 1.0)).unwrap();
        // The fastest and leanest, but outside the rule: never on the front.
        db.insert(run("cheat", 9.0, 100.0, 0.0)).unwrap();
        // No memory figure: it cannot be placed on the front either.
        let mut partial = run("partial", 5.0, 0.0, 1.0);
        partial.metrics.remove("peak_mb");
        db.insert(partial).unwrap();

        let front = db.pareto_front(0).unwrap();
        let ids: Vec<i64> = front.iter().map(|m| m.id).collect();
        assert_eq!(ids, [fast, lean, middle]);
        assert_eq!(front[0].values, [2.0, 900.0], "values as reported, minimized ones too");
        assert!(front[0].crowding.is_infinite() && front[1].crowding.is_infinite());
        assert!(front[2].crowding.is_finite());

        // Every parent drawn for exploitation is on the front, and each
        // member is drawn.
        let draws: Vec<i64> = (0..60).map(|_| db.sample_parent(0).unwrap().id).collect();
        assert!(draws.iter().all(|id| ids.contains(id)), "{draws:?}");
        for id in &ids {
            assert!(draws.contains(id), "{id} never drawn: {draws:?}");
        }
        db.insert(run("after", 1.1, 650.0, 1.0)).unwrap();
        (db.pareto_front(0).unwrap(), db.sample_parent(0).unwrap().id)
    };
    let mut db = ProgramDatabase::open(&path, &config()).unwrap();
    assert_eq!(db.pareto_front(0).unwrap(), front, "reopened, the front is the same");
    assert_eq!(db.sample_parent(0).unwrap().id, draws, "and so is the next parent");
}

#[test]
fn without_objectives_there_is_no_front() {
    let dir = tempfile::tempdir().unwrap();
    let config = DatabaseConfig { objectives: Vec::new(), ..config() };
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &config).unwrap();
    db.insert(run("fast", 2.0, 900.0, 1.0)).unwrap();
    assert!(db.pareto_front(0).unwrap().is_empty());
}
