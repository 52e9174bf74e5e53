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

/// `openevolve bench` on function_minimization with `flags`, writing to
/// `out`, asking `llm`; started, not waited for.
fn start_bench(out: &Path, config: &Path, llm: &ScriptedLlm, flags: &[&str]) -> std::process::Child {
    openevolve()
        .arg("bench")
        .arg(repo_root().join("examples/function_minimization"))
        .args(flags)
        .arg("--config")
        .arg(config)
        .arg("--output")
        .arg(out)
        .args(["--model", "scripted", "--api-base", &llm.api_base, "--cache-dir"])
        .arg(cache_dir())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: std::process::Child) -> String {
    let run = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{stderr}");
    stderr
}

/// Every run's iterations (number, outcome, child's code) under a bench folder.
fn runs_of(out: &Path, arms: &[&str], seeds: u64) -> Vec<Vec<(i64, String, Option<String>)>> {
    let mut runs = Vec::new();
    for seed in 1..=seeds {
        for arm in arms {
            let db = out.join(arm).join(format!("seed_{seed}/evolution.db"));
            runs.push(query(
                &db,
                "SELECT i.iteration, i.outcome, p.code FROM iterations i LEFT JOIN programs p ON p.id = i.child_id \
                 ORDER BY i.iteration",
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            ));
        }
    }
    runs
}

#[test]
fn a_bench_killed_and_started_again_ends_with_the_runs_of_one_never_stopped() {
    let (seeds, iterations) = (2, 4);
    let arms = ["evolution", "independent_sampling", "sequential_refinement"];
    let flags = ["--seeds", "2", "--iterations", "4"];
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), CONFIG);
    let tuned = refining_search("budget * ({n} % 9 + 1) / 10", "0.{n}5", "step", "tuned");
    let whole = tmp.path().join("whole");
    let llm = ScriptedLlm::start(replies(&[&tuned]), 0, Duration::ZERO);
    let stderr = finish(start_bench(&whole, &config, &llm, &flags));
    assert_eq!(llm.requests() as u64, 3 * seeds * iterations);
    // Seed by seed: every arm's first seed before any arm's second.
    let order: Vec<usize> = ["evolution seed 1", "sequential_refinement seed 1", "evolution seed 2"]
        .iter()
        .map(|line| stderr.find(line).unwrap_or_else(|| panic!("{line}: {stderr}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{stderr}");

    // Killed in its second run, answers slowed so that it is caught there.
    let stopped = tmp.path().join("stopped");
    let llm = ScriptedLlm::start(replies(&[&tuned]), 0, Duration::from_millis(300));
    let mut child = start_bench(&stopped, &config, &llm, &flags);
    let second = stopped.join("independent_sampling/seed_1/evolution.db");
    assert!(wait_for(Duration::from_secs(120), || second.exists() && committed_iterations(&second) >= 2));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let first_run: Vec<_> = runs_of(&stopped, &arms[..1], 1);
    let done =
        committed_iterations(&stopped.join("evolution/seed_1/evolution.db")) + committed_iterations(&second);
    assert!(done < 8, "killed before the second run finished: {done}");

    // Answers continue where the committed iterations left the script.
    let llm = ScriptedLlm::start(replies(&[&tuned]), done as usize, Duration::ZERO);
    let stderr = finish(start_bench(&stopped, &config, &llm, &flags));
    assert!(
        stderr.contains(&format!("independent_sampling seed 1: continued after iteration {}", done - 4)),
        "{stderr}"
    );
    assert!(!stderr.contains("evolution seed 1:"), "the finished run is kept, not run again: {stderr}");
    assert_eq!(runs_of(&stopped, &arms[..1], 1), first_run);
    assert_eq!(runs_of(&stopped, &arms, seeds), runs_of(&whole, &arms, seeds));
    let (a, b) = (read_json(&whole.join("bench.json")), read_json(&stopped.join("bench.json")));
    assert_eq!(a["arms"], b["arms"]);
}

#[test]
fn an_overlay_arm_runs_evolution_with_its_config_laid_over() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), CONFIG);
    let overlay = tmp.path().join("marked.yaml");
    std::fs::write(
        &overlay,
        "prompt:\n  system_message: OVERLAY-MARKER improve the search\nrepair_turns: 0\n",
    )
    .unwrap();
    let tuned = refining_search("budget * ({n} % 9 + 1) / 10", "0.{n}5", "step", "tuned");
    let llm = ScriptedLlm::start(replies(&[&tuned]), 0, Duration::ZERO);
    let out = tmp.path().join("bench");
    let arm = format!("marked={}", overlay.display());
    let flags = ["--seeds", "1", "--iterations", "3", "--no-baselines", "--arm", &arm];
    finish(start_bench(&out, &config, &llm, &flags));
    let report = read_json(&out.join("bench.json"));
    let names: Vec<&str> =
        report["arms"].as_array().unwrap().iter().map(|a| a["arm"].as_str().unwrap()).collect();
    assert_eq!(names, ["evolution", "marked"]);
    assert_eq!(report["arms"][1]["overlay"], overlay.display().to_string());
    assert_eq!(report["win_rates"].as_array().unwrap().len(), 2);
    // The overlay's prompt went to its arm's requests only, 3 of 6.
    let prompts = llm.prompts.lock().unwrap().clone();
    assert_eq!(prompts.len(), 6);
    assert_eq!(prompts.iter().filter(|p| p.contains("OVERLAY-MARKER")).count(), 3);
    // The arm's config is the problem's config with the overlay laid over.
    let merged = std::fs::read_to_string(out.join("arms/marked.yaml")).unwrap();
    assert!(merged.contains("OVERLAY-MARKER") && merged.contains("parallel_evaluations: 1"), "{merged}");

    // The same folder with another budget is another bench: refused.
    let run = start_bench(&out, &config, &llm, &["--seeds", "1", "--iterations", "5", "--no-baselines"]);
    let run = run.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--iterations 3"), "{stderr}");
    // A mistake in an overlay is reported against the overlay's own file.
    std::fs::write(&overlay, "database:\n  num_islans: 1\n").unwrap();
    let run = start_bench(&tmp.path().join("other"), &config, &llm, &flags).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("marked.yaml") && stderr.contains("num_islans"), "{stderr}");
}
