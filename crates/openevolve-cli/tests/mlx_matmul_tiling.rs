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
    if !openevolve_testkit::ready(
        "the_matmul_evaluator_times_correct_tilings_and_rejects_a_wrong_one",
        &[openevolve_testkit::Prerequisite::Mlx],
    ) {
        return;
    }
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

    // Baseline sabotage: threads started at load time that spin, taking the
    // machine's cores, whenever the candidate itself is not multiplying.
    // The reference runs in another process, timed while the candidate's
    // processes are stopped, so it gains nothing over `untiled.rs`, which
    // is MLX's own matmul (about ×1). Without the stop it scored 3.72 on
    // two cores; with it, 0.84.
    let untiled = std::fs::read_to_string(example().join("candidates/untiled.rs")).unwrap();
    let honest = "        return a.matmul(b);\n";
    assert!(untiled.contains(honest), "untiled.rs changed: update this test");
    let saboteur = tmp.path().join("saboteur.rs");
    let busy = "        BUSY_UNTIL.store(now_micros() + 2_000, std::sync::atomic::Ordering::Relaxed);\n        \
                let c = a.matmul(b)?;\n        c.eval()?;\n        \
                BUSY_UNTIL.store(now_micros() + 2_000, std::sync::atomic::Ordering::Relaxed);\n        return Ok(c);\n";
    let code = untiled
        .replace(honest, busy)
        .replace("// EVOLVE-BLOCK-START\n", &format!("// EVOLVE-BLOCK-START\n{SABOTEUR}"));
    std::fs::write(&saboteur, code).unwrap();
    let e = eval_json(&saboteur, &example().join("evaluator.rs"), &mixed, &example().join("candidate.toml"));
    eprintln!("saboteur: {}", e["metrics"]);
    assert_eq!(e["metrics"]["correct"], 1.0, "{e:#}");
    let score = e["metrics"]["combined_score"].as_f64().unwrap();
    assert!(
        score < 1.25,
        "slowing the reference paid: combined_score {score}\n{}",
        e["artifacts"]["timings"]
    );
}

/// Two threads started at load time that spin unless the candidate has
/// multiplied in the last 2 ms.
const SABOTEUR: &str = r#"static BUSY_UNTIL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
fn now_micros() -> u64 {
    std::time::UNIX_EPOCH.elapsed().map(|d| d.as_micros() as u64).unwrap_or(0)
}
#[used]
#[unsafe(link_section = ".init_array")]
static SABOTAGE_AT_LOAD: extern "C" fn() = sabotage_at_load;
extern "C" fn sabotage_at_load() {
    for _ in 0..2 {
        std::thread::spawn(|| loop {
            if now_micros() < BUSY_UNTIL.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_micros(200));
            } else {
                let start = now_micros();
                while now_micros() < start + 1_000 {
                    std::hint::spin_loop();
                }
            }
        });
    }
}
"#;
