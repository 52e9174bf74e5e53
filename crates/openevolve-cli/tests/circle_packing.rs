//! `openevolve run` end to end on examples/circle_packing in full-rewrite
//! mode: a better packing wins, an overlapping one scores 0 with its reason,
//! an answer without code is recorded as not applied (with no repair turn
//! to ask again).

mod common;

use std::time::Duration;

use common::*;

const BETTER: &str = r#"Keep the grid at full size and give the extra circle only the gap it has.

```rust
/// Returns N circles as (x, y, radius).
pub fn pack() -> Vec<(f64, f64, f64)> {
    let mut circles = Vec::with_capacity(N);
    for row in 0..5 {
        for col in 0..5 {
            circles.push((0.1 + 0.2 * col as f64, 0.1 + 0.2 * row as f64, 0.1));
        }
    }
    let (x, y) = (0.4, 0.4);
    let gap = circles
        .iter()
        .map(|&(cx, cy, r)| ((cx - x).powi(2) + (cy - y).powi(2)).sqrt() - r)
        .fold(f64::INFINITY, f64::min);
    circles.push((x, y, gap));
    circles
}
```
"#;

const OVERLAPPING: &str = r#"```rust
pub fn pack() -> Vec<(f64, f64, f64)> {
    let mut circles = Vec::new();
    for row in 0..5 {
        for col in 0..5 {
            circles.push((0.1 + 0.2 * col as f64, 0.1 + 0.2 * row as f64, 0.1));
        }
    }
    circles.push((0.4, 0.4, 0.05));
    circles
}
```
"#;

const NO_CODE: &str = "I would try a hexagonal arrangement next.";

#[test]
fn circle_packing_rewrites_are_validated_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        "max_iterations: 3\ncheckpoint_interval: 1\ndiff_based_evolution: false\nrepair_turns: 0\nllm:\n  retries: 0\n\
         database:\n  num_islands: 1\nevaluator:\n  cascade_evaluation: false\n  parallel_evaluations: 1\n",
    );
    let out = tmp.path().join("run");
    let script = replies(&[BETTER, OVERLAPPING, NO_CODE]);
    let llm = ScriptedLlm::start(script, 0, Duration::ZERO);
    let output = run_example("circle_packing", &config, &out, &llm).arg("--quiet").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");

    let db = out.join("evolution.db");
    let outcomes: Vec<String> = query(&db, "SELECT outcome FROM iterations ORDER BY iteration", |r| r.get(0));
    assert_eq!(outcomes, ["initial", "improved", "stored", "not_applied"]);

    let scores: Vec<(i64, f64)> =
        query(&db, "SELECT iteration_found, fitness FROM programs ORDER BY id", |r| {
            Ok((r.get(0)?, r.get(1)?))
        });
    let (initial, better, overlapping) = (scores[0].1, scores[1].1, scores[2].1);
    assert!(initial > 1.5 && initial < 2.5, "initial packing scores {initial}");
    assert!((better - 2.541_421_356).abs() < 1e-6, "grid plus gap circle: {better}");
    assert_eq!(overlapping, 0.0);
    let reason: Vec<String> = query(
        &db,
        "SELECT CAST(inline AS TEXT) FROM artifacts a JOIN programs p ON p.id = a.program_id \
         WHERE p.iteration_found = 2 AND a.name = 'invalid_packing'",
        |r| r.get(0),
    );
    assert!(reason[0].contains("overlap"), "{reason:?}");
    let not_applied: Vec<String> =
        query(&db, "SELECT message FROM iterations WHERE iteration = 3", |r| r.get(0));
    assert!(not_applied[0].to_lowercase().contains("code block"), "{not_applied:?}");

    // Full rewrites keep everything outside the region from the parent.
    let best = std::fs::read_to_string(out.join("best/best_program.rs")).unwrap();
    assert!(best.contains("pub fn radii_for") && best.contains("export_candidate!"));
    // The target from the literature never reaches the model.
    assert!(llm.prompts.lock().unwrap().iter().all(|p| !p.contains("2.635")));
    for n in 1..=3 {
        assert!(out.join(format!("checkpoints/checkpoint_{n}/evolution.db")).is_file());
    }
}
