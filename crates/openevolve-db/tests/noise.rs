//! Noisy scores: a program's fitness is the mean of its samples with a
//! standard error; the database ranks by the fitness less `noise_z`
//! standard errors, and tells a win within the noise from a clear one.

mod common;

use common::program;
use openevolve_db::{DatabaseConfig, Metrics, NewProgram, ProgramDatabase};

/// One island, a grid of one cell: every program contends for the same
/// cell and the lead.
fn config() -> DatabaseConfig {
    DatabaseConfig {
        num_islands: 1,
        feature_dimensions: vec!["complexity".into()],
        feature_bins: openevolve_db::FeatureBins::All(1),
        random_seed: Some(3),
        ..DatabaseConfig::default()
    }
}

fn noisy(code: &str, score: f64, stderr: f64, samples: u32) -> NewProgram {
    let mut p = program(code, 0, score, None);
    p.metrics.insert("combined_score_stderr".into(), stderr);
    p.samples = samples;
    p
}

fn metrics(score: f64, stderr: f64) -> Metrics {
    Metrics::from([("combined_score".to_string(), score), ("combined_score_stderr".to_string(), stderr)])
}

#[test]
fn a_newcomer_leads_only_by_more_than_the_noise_and_the_ranking_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let (confirmed, lucky, clear) = {
        let mut db = ProgramDatabase::open(&path, &config()).unwrap();
        // Three samples: 0.70 with a standard error of 0.029 (0.05 / sqrt 3).
        let confirmed = db.insert(noisy("confirmed", 0.70, 0.05 / 3f64.sqrt(), 3)).unwrap().id();
        let stored = db.program(confirmed).unwrap();
        assert_eq!((stored.fitness, stored.samples), (0.70, 3), "the mean and its samples are kept");
        assert!((stored.fitness_stderr - 0.0289).abs() < 1e-3);

        // One lucky sample a little higher: its mean is higher, but not by
        // more than the noise, so neither the cell nor the lead is its.
        assert!(db.beats_within_noise(0, "lucky", &metrics(0.74, 0.05)).unwrap());
        let lucky = db.insert(noisy("lucky", 0.74, 0.05, 1)).unwrap();
        assert!(!lucky.cells[0].took_cell, "a win within the noise took the cell");
        assert_eq!(db.best().unwrap().unwrap().id, confirmed);

        // Clearly higher: no confirmation needed, and it takes both.
        assert!(!db.beats_within_noise(0, "clear", &metrics(0.95, 0.05)).unwrap());
        assert!(
            !db.beats_within_noise(0, "worse", &metrics(0.60, 0.05)).unwrap(),
            "a loss is not a close win"
        );
        let clear = db.insert(noisy("clear", 0.95, 0.05, 1)).unwrap();
        assert!(clear.cells[0].took_cell);
        assert_eq!(db.best().unwrap().unwrap().id, clear.id());
        (confirmed, lucky.id(), clear.id())
    };
    let db = ProgramDatabase::open(&path, &config()).unwrap();
    assert_eq!(db.best().unwrap().unwrap().id, clear, "reopened, the ranking is the same");
    assert!(db.program(lucky).unwrap().fitness > db.program(confirmed).unwrap().fitness);
}

#[test]
fn without_noise_the_higher_score_wins_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = ProgramDatabase::open(dir.path().join("run.db"), &config()).unwrap();
    db.insert(program("first", 0, 0.70, None)).unwrap();
    let plain = Metrics::from([("combined_score".to_string(), 0.7001)]);
    assert!(!db.beats_within_noise(0, "second", &plain).unwrap(), "no noise, nothing to confirm");
    let second = db.insert(program("second", 0, 0.7001, None)).unwrap();
    assert!(second.cells[0].took_cell);
    assert_eq!(db.best().unwrap().unwrap().id, second.id());
}
