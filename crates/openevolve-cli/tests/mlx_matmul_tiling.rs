//! examples/mlx_matmul_tiling through `openevolve eval` on the CPU at the
//! `tiny` size: the tiled initial program and the untiled candidate compute
//! matmul's products and are timed against it on every shape; a candidate
//! that drops part of the sum is rejected with the shape it got wrong; the
//! training-only config scores the training shapes alone. Speed figures are
//! printed, not asserted (RESULTS.md has measured ones).

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn example() -> PathBuf {
    repo_root().join("examples/mlx_matmul_tiling")
}

/// An example config with fewer timed rounds.
fn quick(config: &str, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(example().join(config)).unwrap();
    assert!(text.contains("    rounds: 15\n"), "the example's {config} changed: update this test");
    let path = dir.join(config);
    std::fs::write(&path, text.replace("    rounds: 15\n", "    rounds: 3\n")).unwrap();
    path
}

fn evaluate(program: &str, config: &Path) -> Value {
    let e = eval_json(
        &example().join(program),
        &example().join("evaluator.rs"),
        config,
        &example().join("candidate.toml"),
    );
    eprintln!("{program}: {}", e["metrics"]);
    e
}

#[test]
fn the_matmul_evaluator_times_correct_tilings_and_rejects_a_wrong_one() {
    let tmp = tempfile::tempdir().unwrap();
    let mixed = quick("config.yaml", tmp.path());
    for program in ["initial.rs", "candidates/untiled.rs"] {
        let e = evaluate(program, &mixed);
        assert_eq!(e["metrics"]["correct"], 1.0, "{e:#}");
        for key in ["combined_score", "inference_speedup", "training_speedup"] {
            let v = e["metrics"][key].as_f64().unwrap_or_else(|| panic!("{program}: no {key}: {e:#}"));
            assert!(v.is_finite() && v > 0.0, "{program}: {key} = {v}");
        }
        let timings = e["artifacts"]["timings"].as_str().unwrap();
        // 8 inference shapes, 12 training shapes, each with its tiles.
        assert_eq!(timings.lines().filter(|l| l.contains("): (")).count(), 20, "{timings}");
        assert!(timings.contains("train down weight grad (1536×256·256×576)"), "{timings}");
    }
    let wrong = evaluate("candidates/drop_remainder.rs", &mixed);
    assert_eq!(wrong["metrics"]["combined_score"], 0.0);
    assert_eq!(wrong["metrics"]["correct"], 0.0);
    let why = wrong["artifacts"]["incorrect"].as_str().unwrap();
    assert!(why.contains("differs from matmul") && why.contains("k=576"), "{why}");

    let training = evaluate("candidates/untiled.rs", &quick("config-training.yaml", tmp.path()));
    assert!(training["metrics"]["inference_speedup"].is_null(), "{training:#}");
    assert_eq!(training["metrics"]["combined_score"], training["metrics"]["training_speedup"]);
}
