//! `openevolve bench` end to end against a scripted OpenAI-compatible server:
//! three arms, several seeds, the report's curves and files.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

/// circle_packing: the grid, with the extra circle somewhere else each time.
const MOVED_CIRCLE: &str = r#"```rust
pub fn pack() -> Vec<(f64, f64, f64)> {
    let mut centres = Vec::with_capacity(N);
    for row in 0..5 {
        for col in 0..5 {
            centres.push((0.1 + 0.2 * col as f64, 0.1 + 0.2 * row as f64));
        }
    }
    centres.push((0.3{n}, 0.5{n}));
    let radii = radii_for(&centres);
    centres.iter().zip(radii).map(|(&(x, y), r)| (x, y, r)).collect()
}
```
"#;

const CONFIG: &str = "diff_based_evolution: false\nllm:\n  retries: 0\n  timeout: 30\n\
    database:\n  num_islands: 1\nevaluator:\n  timeout: 30\n  cascade_evaluation: false\n  parallel_evaluations: 1\n";

/// Runs the bench; the folder lives as long as the returned `TempDir`.
fn bench(
    problem: &str,
    answer: &str,
    seeds: u64,
    iterations: u64,
) -> (serde_json::Value, String, std::path::PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().to_path_buf();
    let config = write_config(&tmp, CONFIG);
    let llm = ScriptedLlm::start(replies(&[answer]), 0, Duration::ZERO);
    let out = tmp.join("bench");
    let run = openevolve()
        .arg("bench")
        .arg(repo_root().join("examples").join(problem))
        .args(["--seeds", &seeds.to_string(), "--iterations", &iterations.to_string()])
        .arg("--config")
        .arg(&config)
        .arg("--output")
        .arg(&out)
        .args(["--model", "scripted", "--api-base", &llm.api_base, "--cache-dir"])
        .arg(cache_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{stderr}");
    assert_eq!(llm.requests() as u64, 3 * seeds * iterations, "every arm spends the same budget");
    (read_json(&out.join("bench.json")), stderr, out, dir)
}

fn check_report(report: &serde_json::Value, stderr: &str, out: &Path, seeds: u64, iterations: u64) {
    let arms = report["arms"].as_array().unwrap();
    let names: Vec<&str> = arms.iter().map(|a| a["arm"].as_str().unwrap()).collect();
    assert_eq!(names, ["evolution", "independent_sampling", "sequential_refinement"]);
    for arm in arms {
        let runs = arm["runs"].as_array().unwrap();
        assert_eq!(runs.len() as u64, seeds);
        for run in runs {
            let best: Vec<f64> =
                run["best"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            let tokens: Vec<u64> =
                run["tokens"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
            assert_eq!(best.len() as u64, iterations + 1);
            assert!(best.windows(2).all(|w| w[1] >= w[0]), "the best so far never falls: {best:?}");
            assert!(
                tokens[0] == 0 && tokens.windows(2).all(|w| w[1] > w[0]),
                "every call costs tokens: {tokens:?}"
            );
        }
        let (lo, mid, hi) = (
            arm["min_best"][iterations as usize].as_f64().unwrap(),
            arm["median_best"][iterations as usize].as_f64().unwrap(),
            arm["max_best"][iterations as usize].as_f64().unwrap(),
        );
        assert!(lo <= mid && mid <= hi, "{arm}");
        assert!(stderr.contains(arm["arm"].as_str().unwrap()), "{stderr}");
    }
    // The table, for whoever runs this with --nocapture.
    eprintln!("{}", &stderr[stderr.find("\n\n").map_or(0, |i| i + 2)..]);
    let svg = std::fs::read_to_string(out.join("bench.svg")).unwrap();
    assert_eq!(svg.matches("<polyline").count(), 6, "three arms in each of two panels");
}

#[test]
fn bench_compares_evolution_with_both_baselines_on_function_minimization() {
    let (seeds, iterations) = (3, 30);
    // The same search with other numbers each time.
    let tuned = refining_search("budget * ({n} % 9 + 1) / 10", "0.{n}5", "step", "tuned");
    let (report, stderr, out, _dir) = bench("function_minimization", &tuned, seeds, iterations);
    check_report(&report, &stderr, &out, seeds, iterations);
    // Independent sampling always starts from the initial program;
    // sequential refinement always from the best program so far.
    let db = out.join("independent_sampling/seed_1/evolution.db");
    let initial: i64 =
        query(&db, "SELECT child_id FROM iterations WHERE iteration = 0", |r| r.get(0)).pop().unwrap();
    let parents: Vec<i64> = query(&db, "SELECT parent_id FROM iterations WHERE iteration > 0", |r| r.get(0));
    assert!(parents.iter().all(|&p| p == initial), "{parents:?}");
    let db = out.join("sequential_refinement/seed_2/evolution.db");
    let steps: Vec<(i64, f64, f64)> = query(
        &db,
        "SELECT i.iteration, p.fitness, (SELECT MAX(q.fitness) FROM programs q WHERE q.iteration_found < i.iteration) \
         FROM iterations i JOIN programs p ON p.id = i.parent_id WHERE i.iteration > 0",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    );
    assert_eq!(steps.len() as u64, iterations);
    assert!(steps.iter().all(|(_, parent, best)| parent == best), "{steps:?}");
}

#[test]
fn bench_runs_on_circle_packing() {
    let (seeds, iterations) = (3, 30);
    let (report, stderr, out, _dir) = bench("circle_packing", MOVED_CIRCLE, seeds, iterations);
    check_report(&report, &stderr, &out, seeds, iterations);
}

#[test]
fn bench_refuses_zero_seeds_or_iterations_before_doing_anything() {
    for flags in [["--seeds", "0"], ["--iterations", "0"]] {
        let run = openevolve()
            .arg("bench")
            .arg(repo_root().join("examples/function_minimization"))
            .args(flags)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(flags[0]), "the error names the flag: {stderr}");
    }
}
