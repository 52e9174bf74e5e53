//! `openevolve run` end to end on examples/function_minimization, against a
//! scripted OpenAI-compatible server: children are built, evaluated and
//! stored, failures are recorded, checkpoints appear, and runs resume.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::*;

const MISSES: &str =
    "<<<<<<< SEARCH\n    let temperature = 1.0;\n=======\n    let temperature = 2.0;\n>>>>>>> REPLACE\n";

fn script() -> Vec<Reply> {
    replies(&[REFINE, BREAKS_THE_BUILD, NO_BLOCKS, CHEATS, MISSES, REFINE])
}

/// Runs `openevolve run` on function_minimization; returns (exit code, stderr, stdout).
fn run_fm(config: &Path, output: &Path, llm: &ScriptedLlm, extra: &[&str]) -> (i32, String, String) {
    let out = run_example("function_minimization", config, output, llm)
        .args(extra)
        .output()
        .expect("openevolve runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stderr), text(&out.stdout))
}

#[test]
fn function_minimization_evolves_records_failures_and_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let traced = format!("{SEQUENTIAL_CONFIG}evolution_trace:\n  enabled: true\n  include_code: true\n");
    let config = write_config(tmp.path(), &traced);
    let out = tmp.path().join("run");
    let llm = ScriptedLlm::start(script(), 0, Duration::ZERO);
    let (code, stderr, stdout) = run_fm(&config, &out, &llm, &["--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(llm.requests(), 6);
    let printed: serde_json::Value = serde_json::from_str(&stdout).expect("--json prints the summary");
    assert_eq!(printed, read_json(&out.join("summary.json")));

    // One trace record per iteration, with the child's code where one was stored.
    let trace = std::fs::read_to_string(out.join("evolution_trace.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = trace.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(
        records.iter().map(|r| r["iteration"].as_u64().unwrap()).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    assert_eq!(records[0]["outcome"], "improved");
    assert!(records[0]["child_code"].as_str().unwrap().contains("refines around the best point"));
    assert!(
        records[1]["child_code"].is_null()
            && records[1]["message"].as_str().unwrap().contains("no_such_method")
    );
    assert!(records[0]["prompt"]["user"].as_str().is_some(), "prompts are included by default");

    // The layout the README documents.
    for file in [
        "evolution.db",
        "summary.json",
        "logs/openevolve.log",
        "best/best_program.rs",
        "best/best_program_info.json",
    ] {
        assert!(out.join(file).is_file(), "missing {file}");
    }
    for n in [2, 4, 6] {
        let cp = out.join(format!("checkpoints/checkpoint_{n}"));
        for file in ["evolution.db", "state.json", "config.yaml", "best_program.rs", "best_program_info.json"]
        {
            assert!(cp.join(file).is_file(), "checkpoint_{n} lacks {file}");
        }
    }
    assert!(!out.join("checkpoints/checkpoint_1").exists() && !out.join("checkpoints/checkpoint_3").exists());

    let db = out.join("evolution.db");
    let outcomes: Vec<(i64, String)> =
        query(&db, "SELECT iteration, outcome FROM iterations ORDER BY iteration", |r| {
            Ok((r.get(0)?, r.get(1)?))
        });
    let names: Vec<&str> = outcomes.iter().map(|(_, o)| o.as_str()).collect();
    assert_eq!(names[..5], ["initial", "improved", "build_failed", "not_applied", "stored"], "{outcomes:?}");
    assert_eq!(names[5], "not_applied");
    // The last answer repeats the first: a duplicate of a stored child, or a
    // SEARCH that no longer matches; either way nothing new is stored.
    assert!(["duplicate", "not_applied"].contains(&names[6]), "{outcomes:?}");

    let build_error: String =
        query(&db, "SELECT message FROM iterations WHERE outcome = 'build_failed'", |r| r.get(0))
            .pop()
            .unwrap();
    assert!(build_error.contains("no_such_method"), "{build_error}");

    // The improved child is the best program, better than the initial one.
    let fitness: Vec<(i64, f64)> =
        query(&db, "SELECT iteration_found, fitness FROM programs ORDER BY id", |r| {
            Ok((r.get(0)?, r.get(1)?))
        });
    let initial = fitness[0].1;
    let best = read_json(&out.join("best/best_program_info.json"));
    assert!(best["fitness"].as_f64().unwrap() > initial + 0.05, "{best} vs initial {initial}");
    assert_eq!(best["iteration_found"], 1);
    let best_code = std::fs::read_to_string(out.join("best/best_program.rs")).unwrap();
    assert!(best_code.contains("refines around the best point"));
    // The cheating child was evaluated and scored 0, with the reason kept.
    assert!(fitness.iter().any(|(it, f)| *it == 4 && *f == 0.0), "{fitness:?}");

    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["stop_reason"]["reason"], "max_iterations");
    assert_eq!(summary["last_iteration"], 6);

    // The build error reached the next prompt as feedback.
    let prompts = llm.prompts.lock().unwrap();
    assert!(prompts[2].contains("no_such_method"), "iteration 3's prompt shows iteration 2's build error");
}

/// Everything of a run's database that must not depend on timing.
fn content(db: &Path) -> (Vec<String>, Vec<String>) {
    let log = openevolve_db::prompt_log_path(db);
    let attach = rusqlite::Connection::open(db).unwrap();
    attach.execute("ATTACH DATABASE ?1 AS log", [log.to_str().unwrap()]).unwrap();
    let mut stmt = attach
        .prepare(
            "SELECT id, code, parent_id, island, generation, iteration_found, metrics, fitness, cell_key, mutation, \
             migrated_from, (SELECT exchange FROM log.exchanges WHERE iteration = iteration_found AND iteration_found > 0) \
             FROM programs ORDER BY id",
        )
        .unwrap();
    let programs: Vec<String> = stmt
        .query_map([], |r: &rusqlite::Row| {
            Ok(format!(
                "{:?}",
                (
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, Option<f64>>(7)?,
                    r.get::<_, i64>(8)?,
                    r.get::<_, String>(9)?,
                    r.get::<_, Option<i64>>(10)?,
                    r.get::<_, Option<String>>(11)?,
                )
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(programs.iter().filter(|p| p.ends_with("None)")).count() <= 2, "children have logged prompts");
    let mut stmt = attach
        .prepare(
            "SELECT iteration, island, parent_id, child_id, outcome, message, model, \
             (SELECT exchange FROM log.exchanges e WHERE e.iteration = iterations.iteration) FROM iterations ORDER BY iteration",
        )
        .unwrap();
    let iterations = stmt
        .query_map([], |r: &rusqlite::Row| {
            Ok(format!(
                "{:?}",
                (
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                )
            ))
        })
        .unwrap()
        .collect::<Result<Vec<String>, _>>()
        .unwrap();
    assert!(iterations.iter().skip(1).all(|i| !i.ends_with("None)")), "every iteration's exchange is logged");
    (programs, iterations)
}

#[test]
fn resuming_from_a_checkpoint_equals_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), &SEQUENTIAL_CONFIG.replace("num_islands: 1", "num_islands: 2"));

    let whole = tmp.path().join("whole");
    let llm = ScriptedLlm::start(script(), 0, Duration::ZERO);
    let (code, stderr, _) = run_fm(&config, &whole, &llm, &["--quiet"]);
    assert_eq!(code, 0, "{stderr}");

    let first = tmp.path().join("first");
    let llm = ScriptedLlm::start(script(), 0, Duration::ZERO);
    let (code, stderr, _) = run_fm(&config, &first, &llm, &["--quiet", "--iterations", "3"]);
    assert_eq!(code, 0, "{stderr}");
    let checkpoint = first.join("checkpoints/checkpoint_3");
    assert!(checkpoint.join("evolution.db").is_file(), "a final checkpoint after iteration 3");

    let resumed = tmp.path().join("resumed");
    let llm = ScriptedLlm::start(script(), 3, Duration::ZERO);
    let cp = checkpoint.to_str().unwrap();
    let (code, stderr, _) = run_fm(&config, &resumed, &llm, &["--quiet", "--checkpoint", cp]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(llm.requests(), 3, "the resumed run asks only for iterations 4 to 6");

    let (whole_programs, whole_iterations) = content(&whole.join("evolution.db"));
    let (resumed_programs, resumed_iterations) = content(&resumed.join("evolution.db"));
    assert_eq!(whole_iterations.len(), 7, "the initial program and six iterations");
    assert!(whole_programs.len() >= 2 + 2, "the initial program on both islands and the stored children");
    assert_eq!(whole_iterations, resumed_iterations);
    assert_eq!(whole_programs, resumed_programs);
    assert_eq!(
        std::fs::read_to_string(whole.join("best/best_program.rs")).unwrap(),
        std::fs::read_to_string(resumed.join("best/best_program.rs")).unwrap()
    );
    // The checkpoint itself is untouched by the resumed run.
    assert_eq!(committed_iterations(&checkpoint.join("evolution.db")), 3);
}

#[test]
fn a_sigkill_then_resume_in_place_loses_no_committed_iteration() {
    let tmp = tempfile::tempdir().unwrap();
    let config =
        write_config(tmp.path(), &SEQUENTIAL_CONFIG.replace("max_iterations: 6", "max_iterations: 40"));
    let out = tmp.path().join("run");
    let db = out.join("evolution.db");
    let llm = ScriptedLlm::start(script(), 0, Duration::from_millis(100));
    let mut child = run_example("function_minimization", &config, &out, &llm)
        .arg("--quiet")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(120), || committed_iterations(&db) >= 5),
        "five iterations committed"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let before_iterations = query(&db, "SELECT iteration, outcome FROM iterations ORDER BY iteration", |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    });
    let before_programs: Vec<(i64, String)> =
        query(&db, "SELECT id, code FROM programs ORDER BY id", |r| Ok((r.get(0)?, r.get(1)?)));
    let done = before_iterations.last().unwrap().0 as usize;
    assert!(done >= 5);

    let llm = ScriptedLlm::start(script(), done, Duration::ZERO);
    let (code, stderr, _) = run_fm(&config, &out, &llm, &["--quiet", "--checkpoint", out.to_str().unwrap()]);
    // run_fm passes --output too; for a run directory it must be the same one.
    assert_eq!(code, 0, "{stderr}");
    let after_iterations = query(&db, "SELECT iteration, outcome FROM iterations ORDER BY iteration", |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    });
    assert_eq!(after_iterations[..before_iterations.len()], before_iterations[..]);
    assert_eq!(after_iterations.iter().map(|(i, _)| *i).collect::<Vec<_>>(), (0..=40).collect::<Vec<_>>());
    let after_programs: Vec<(i64, String)> =
        query(&db, "SELECT id, code FROM programs ORDER BY id", |r| Ok((r.get(0)?, r.get(1)?)));
    for p in &before_programs {
        assert!(after_programs.contains(p), "program {} lost", p.0);
    }

    // The interrupted iteration is sampled again from where the last commit
    // left the stream: the run ends as an uninterrupted one would.
    let whole = tmp.path().join("whole");
    let llm = ScriptedLlm::start(script(), 0, Duration::ZERO);
    let (code, stderr, _) = run_fm(&config, &whole, &llm, &["--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(content(&whole.join("evolution.db")), content(&db));
}

#[test]
fn a_crash_between_the_child_and_its_iteration_row_resumes_as_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), SEQUENTIAL_CONFIG);
    let out = tmp.path().join("run");
    let db = out.join("evolution.db");
    // Iteration 4 stores the cheating child (scored 0); the process aborts
    // once the child is written, before the iteration's row.
    let llm = ScriptedLlm::start(script(), 0, Duration::ZERO);
    let crashed = run_example("function_minimization", &config, &out, &llm)
        .arg("--quiet")
        .env("OPENEVOLVE_TEST_ABORT", "child-stored:4")
        .output()
        .unwrap();
    assert!(!crashed.status.success(), "the run aborted");
    // Nothing of iteration 4 is stored: not its row, and not its child.
    assert_eq!(committed_iterations(&db), 3);
    let found: Vec<i64> = query(&db, "SELECT iteration_found FROM programs", |r| r.get(0));
    assert!(found.iter().all(|&i| i < 4), "iteration 4's child was rolled back: {found:?}");

    let llm = ScriptedLlm::start(script(), 3, Duration::ZERO);
    let (code, stderr, _) = run_fm(&config, &out, &llm, &["--quiet", "--checkpoint", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let whole = tmp.path().join("whole");
    let llm = ScriptedLlm::start(script(), 0, Duration::ZERO);
    let (code, stderr, _) = run_fm(&config, &whole, &llm, &["--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(content(&whole.join("evolution.db")), content(&db));
}

#[test]
fn ctrl_c_stops_the_run_with_a_final_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let config =
        write_config(tmp.path(), &SEQUENTIAL_CONFIG.replace("max_iterations: 6", "max_iterations: 1000"));
    let out = tmp.path().join("run");
    let db = out.join("evolution.db");
    let llm = ScriptedLlm::start(script(), 0, Duration::from_millis(200));
    let child = run_example("function_minimization", &config, &out, &llm)
        .arg("--quiet")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for(Duration::from_secs(120), || committed_iterations(&db) >= 3));
    // SAFETY: kill(2) on the child we started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");

    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["stop_reason"]["reason"], "interrupted");
    let last = summary["last_iteration"].as_u64().unwrap();
    assert!((3..1000).contains(&last), "{summary}");
    let checkpoint = out.join(format!("checkpoints/checkpoint_{last}"));
    assert!(checkpoint.join("evolution.db").is_file(), "final checkpoint at {last}");
    assert_eq!(committed_iterations(&checkpoint.join("evolution.db")), last as i64);
}

#[test]
fn a_broken_llm_endpoint_ends_the_run_with_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let config =
        write_config(tmp.path(), &SEQUENTIAL_CONFIG.replace("max_iterations: 6", "max_iterations: 500"));
    let out = tmp.path().join("run");
    let llm = ScriptedLlm::start(vec![Reply::Status(500)], 0, Duration::ZERO);
    let (code, stderr, _) = run_fm(&config, &out, &llm, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("LLM calls all failed") && stderr.contains("HTTP 500"), "{stderr}");
    assert_eq!(llm.requests() as u64, openevolve::controller::MAX_CONSECUTIVE_LLM_FAILURES);
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["stop_reason"]["reason"], "llm_unavailable");
}

#[test]
fn forty_close_variants_spread_over_the_grid() {
    let tmp = tempfile::tempdir().unwrap();
    // The example's own grid (3 islands, complexity × diversity, 8 bins),
    // full rewrites, one evaluation at a time.
    let config = write_config(
        tmp.path(),
        "max_iterations: 40\nrandom_seed: 7\ndiff_based_evolution: false\nllm:\n  retries: 0\n  timeout: 30\n\
         database:\n  num_islands: 3\n  feature_dimensions: [complexity, diversity]\n  feature_bins: 8\n\
         evaluator:\n  timeout: 30\n  cascade_evaluation: false\n  parallel_evaluations: 1\n",
    );
    let out = tmp.path().join("run");
    // Close variants: other shares of exploring, other first steps.
    let tuned = refining_search("budget * {n} / 41", "0.{n}5", "step", "a tuned split");
    let llm = ScriptedLlm::start(replies(&[&tuned]), 0, Duration::ZERO);
    let (code, stderr, _) = run_fm(&config, &out, &llm, &[]);
    assert_eq!(code, 0, "{stderr}");
    let summary = read_json(&out.join("summary.json"));
    let cells = summary["cells_occupied"].as_u64().unwrap();
    let stored = summary["programs_stored"].as_u64().unwrap();
    // With fixed default ranges these programs held one cell per island.
    assert!(cells >= 12, "{cells} cells for {stored} programs: {summary}");
    let db = out.join("evolution.db");
    let in_grid: i64 = query(&db, "SELECT COUNT(*) FROM cells", |r| r.get(0)).pop().unwrap();
    assert_eq!(in_grid as u64, cells, "the summary counts the stored grid");
    assert!(stderr.contains(&format!("in {cells} grid cells")), "{stderr}");
}

#[test]
fn a_child_that_behaves_like_a_stored_one_is_a_duplicate_and_not_evaluated() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        &SEQUENTIAL_CONFIG.replace("max_iterations: 6", "max_iterations: 2\ndiff_based_evolution: false"),
    );
    let out = tmp.path().join("run");
    let variant = |note: &str, name: &str| refining_search("budget / 2", "0.5", name, note);
    let first = variant("refine around the best point", "step");
    // Another comment and another name: other code, the same search.
    let renamed = variant("shrink the steps as we go", "radius");
    let llm = ScriptedLlm::start(replies(&[&first, &renamed]), 0, Duration::ZERO);
    let (code, stderr, _) = run_fm(&config, &out, &llm, &[]);
    assert_eq!(code, 0, "{stderr}");
    let db = out.join("evolution.db");
    let rows: Vec<(String, Option<String>, Option<i64>)> = query(
        &db,
        "SELECT outcome, message, child_id FROM iterations WHERE iteration > 0 ORDER BY iteration",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    );
    assert!(["improved", "stored"].contains(&rows[0].0.as_str()), "{rows:?}");
    let first_id = rows[0].2.unwrap();
    assert_eq!(rows[1].0, "duplicate", "{rows:?}");
    let message = rows[1].1.clone().unwrap();
    assert!(message.contains(&format!("behaves like program {first_id}")), "{message}");
    // It was not stored, and not evaluated: its fingerprint was known.
    let stored: i64 = query(&db, "SELECT COUNT(*) FROM programs", |r| r.get(0)).pop().unwrap();
    assert_eq!(stored, 2, "the initial program and the first child");
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["evaluations_saved"], 1, "{summary}");
    let fingerprints: Vec<Option<String>> =
        query(&db, "SELECT behaviour FROM programs ORDER BY id", |r| r.get(0));
    assert!(fingerprints.iter().all(Option::is_some), "every stored program keeps its fingerprint");
}

#[test]
fn the_model_bandit_learns_to_ask_the_model_that_improves_programs() {
    let tmp = tempfile::tempdir().unwrap();
    // One model answers with a refining search (its start step differs
    // with each request, so no two answers are the same program); the other
    // never gives code.
    let refining = refining_search("budget / 2", "0.5{n}", "step", "refine");
    let good = ScriptedLlm::start(replies(&[&refining]), 0, Duration::ZERO);
    let idle = ScriptedLlm::start(replies(&[NO_BLOCKS]), 0, Duration::ZERO);
    let config = write_config(
        tmp.path(),
        &format!(
            "{}llm:\n  retries: 0\n  timeout: 30\n  model_selection: ucb\n  ucb_exploration: 0.5\n  models:\n    \
             - {{name: refiner, api_base: \"{}\", weight: 1}}\n    - {{name: idler, api_base: \"{}\", weight: 1}}\n",
            SEQUENTIAL_CONFIG
                .replace("max_iterations: 6", "max_iterations: 16\ndiff_based_evolution: false")
                .replace("llm:\n  retries: 0\n  timeout: 30\n", ""),
            good.api_base,
            idle.api_base
        ),
    );
    let out = tmp.path().join("run");
    let run = run_problem("function_minimization", &config, &out).output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let summary = read_json(&out.join("summary.json"));
    let shares = &summary["model_shares"];
    let (refiner, idler) = (shares["refiner"].as_f64().unwrap(), shares["idler"].as_f64().unwrap());
    assert!(idler > 0.0, "both models are tried: {summary}");
    assert!(refiner >= 0.7, "the bandit still asks the idle model {idler:.2} of the time: {summary}");
    assert_eq!((good.requests() + idle.requests()) as u64, 16);
    assert!(stderr.contains("chosen by the bandit"), "{stderr}");
}

#[test]
fn an_answer_with_nothing_to_apply_gets_a_repair_turn_whose_child_is_evaluated() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        &SEQUENTIAL_CONFIG
            .replace("max_iterations: 6", "max_iterations: 1")
            .replace("repair_turns: 0", "repair_turns: 1\nbuild_repair_temperature: 0.2"),
    );
    let out = tmp.path().join("run");
    let llm = ScriptedLlm::start(replies(&[NO_BLOCKS, REFINE]), 0, Duration::ZERO);
    let (code, stderr, _) = run_fm(&config, &out, &llm, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(llm.requests(), 2, "one repair turn after the answer without blocks");

    // The second request says why the answer was not used and shows the
    // parent's region, which the new answer's SEARCH must match.
    let prompts = llm.prompts.lock().unwrap().clone();
    let again: serde_json::Value = serde_json::from_str(&prompts[1]).unwrap();
    // Not a build repair: asked at the model's temperature, not the colder one.
    assert_eq!(again["temperature"], 0.7, "{again}");
    let asked = again["messages"][1]["content"].as_str().unwrap();
    assert!(asked.contains("could not be used: no SEARCH/REPLACE block was found"), "{asked}");
    assert!(asked.contains("        let x = rng.gen_range(-5.0..5.0);\n"), "the parent's region: {asked}");

    let db = out.join("evolution.db");
    let rows: Vec<(String, Option<String>)> =
        query(&db, "SELECT outcome, message FROM iterations WHERE iteration > 0 ORDER BY iteration", |r| {
            Ok((r.get(0)?, r.get(1)?))
        });
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(["stored", "improved"].contains(&rows[0].0.as_str()), "{rows:?}");
    assert_eq!(rows[0].1.as_deref(), Some("built after 1 repair turn"));
    let log = openevolve_db::prompt_log_path(&db);
    let exchange: String =
        query(&log, "SELECT exchange FROM exchanges WHERE iteration = 1", |r| r.get(0)).pop().unwrap();
    let order = [NO_BLOCKS, "# result\nnot_applied:", "# user (repair turn 1)", "explore = budget / 2"];
    let at: Vec<usize> =
        order.iter().map(|s| exchange.find(s).unwrap_or_else(|| panic!("{s:?} in {exchange}"))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{exchange}");
}

#[test]
fn a_child_that_does_not_build_gets_a_repair_turn_and_every_exchange_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        &SEQUENTIAL_CONFIG
            .replace("max_iterations: 6", "max_iterations: 2")
            .replace("repair_turns: 0", "repair_turns: 1\nbuild_repair_temperature: 0.2"),
    );
    let out = tmp.path().join("run");
    // Iteration 1: a build error, then a fix. Iteration 2: a build error, then no fix.
    let fix = "The method does not exist; return the tuple.\n<<<<<<< SEARCH\n    best.no_such_method()\n=======\n    (best.0 + 1e-9, best.1, best.2)\n>>>>>>> REPLACE\n";
    // The second break applies to either parent.
    let breaks = "<<<<<<< SEARCH\n        let value = objective(x, y);\n=======\n        let value = objective(x, y).no_such_method();\n>>>>>>> REPLACE\n";
    let llm = ScriptedLlm::start(replies(&[BREAKS_THE_BUILD, fix, breaks, NO_BLOCKS]), 0, Duration::ZERO);
    let (code, stderr, _) = run_fm(&config, &out, &llm, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(llm.requests(), 4);

    // The repair request carries the compiler's errors, the fixed code and
    // the child's region, and goes to the model that wrote the child.
    let prompts = llm.prompts.lock().unwrap().clone();
    let repair: serde_json::Value = serde_json::from_str(&prompts[1]).unwrap();
    // Build repairs are asked at `build_repair_temperature`, first answers at
    // the model's.
    let temperatures: Vec<f64> = prompts
        .iter()
        .map(|p| serde_json::from_str::<serde_json::Value>(p).unwrap()["temperature"].as_f64().unwrap())
        .collect();
    assert_eq!(temperatures, [0.7, 0.2, 0.7, 0.2]);
    let messages = repair["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["system", "user"]);
    let asked = messages[1]["content"].as_str().unwrap();
    assert!(asked.contains("pub fn objective(x: f64, y: f64) -> f64 {"), "the fixed code: {asked}");
    assert!(asked.contains("no_such_method") && asked.contains("error["), "the compiler's errors: {asked}");
    assert!(
        asked.contains("    best.no_such_method()\n}\n// EVOLVE-BLOCK-END"),
        "the child's region: {asked}"
    );

    let db = out.join("evolution.db");
    let rows: Vec<(String, Option<String>, i64, Option<i64>)> = query(
        &db,
        "SELECT outcome, message, prompt_tokens + completion_tokens, child_id FROM iterations WHERE iteration > 0 ORDER BY iteration",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    );
    // The repaired child was built, evaluated and stored in iteration 1; both
    // turns' tokens count.
    assert!(["stored", "improved"].contains(&rows[0].0.as_str()), "{rows:?}");
    assert_eq!(rows[0].1.as_deref(), Some("built after 1 repair turn"));
    assert_eq!(rows[0].2, 2 * 150);
    let child: String =
        query(&db, &format!("SELECT code FROM programs WHERE id = {}", rows[0].3.unwrap()), |r| r.get(0))
            .pop()
            .unwrap();
    assert!(
        child.contains("    (best.0 + 1e-9, best.1, best.2)\n") && !child.contains("no_such_method"),
        "{child}"
    );
    // Iteration 2's repair gave nothing to build: the build failure stands.
    assert_eq!(rows[1].0, "build_failed", "{rows:?}");
    assert!(rows[1].1.as_deref().unwrap().contains("no_such_method"), "{rows:?}");

    // Both iterations' exchanges are kept, the failed one included, each turn
    // with its answer and what came of it.
    let log = openevolve_db::prompt_log_path(&db);
    let exchange = |i: i64| -> String {
        query(&log, &format!("SELECT exchange FROM exchanges WHERE iteration = {i}"), |r| r.get(0))
            .pop()
            .unwrap()
    };
    let failed = exchange(2);
    let order = [
        "# user\n",
        "objective(x, y).no_such_method()",
        "# result\nbuild_failed:",
        "# user (repair turn 1)",
        NO_BLOCKS,
        "# result\nnot_applied:",
    ];
    let at: Vec<usize> =
        order.iter().map(|s| failed.find(s).unwrap_or_else(|| panic!("{s:?} in {failed}"))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{failed}");
    assert!(
        exchange(1).contains("# result\nstored") || exchange(1).contains("# result\nimproved"),
        "{}",
        exchange(1)
    );
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["builds_repaired"], 1, "{summary}");
}

#[test]
fn an_answer_that_changes_nothing_is_asked_for_a_real_change() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        &SEQUENTIAL_CONFIG
            .replace("max_iterations: 6", "max_iterations: 1")
            .replace("repair_turns: 0", "repair_turns: 1"),
    );
    let out = tmp.path().join("run");
    // Small models often hand the program back as it was.
    let same = "<<<<<<< SEARCH\n    best\n=======\n    best\n>>>>>>> REPLACE\n";
    let llm = ScriptedLlm::start(replies(&[same, REFINE]), 0, Duration::ZERO);
    let (code, stderr, _) = run_fm(&config, &out, &llm, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(llm.requests(), 2);
    let again: serde_json::Value = serde_json::from_str(&llm.prompts.lock().unwrap()[1]).unwrap();
    let asked = again["messages"][1]["content"].as_str().unwrap();
    assert!(
        asked.contains("it gave the code as it was") && asked.contains("Change what the code does"),
        "{asked}"
    );

    let db = out.join("evolution.db");
    let rows: Vec<(String, Option<String>)> =
        query(&db, "SELECT outcome, message FROM iterations WHERE iteration = 1", |r| {
            Ok((r.get(0)?, r.get(1)?))
        });
    assert!(["stored", "improved"].contains(&rows[0].0.as_str()), "{rows:?}");
    assert_eq!(rows[0].1.as_deref(), Some("built after 1 repair turn"));
    let log = openevolve_db::prompt_log_path(&db);
    let exchange: String =
        query(&log, "SELECT exchange FROM exchanges WHERE iteration = 1", |r| r.get(0)).pop().unwrap();
    let first = exchange.find("# result\nunchanged:").unwrap_or_else(|| panic!("{exchange}"));
    assert!(exchange[first..].contains("# user (repair turn 1)"), "{exchange}");
}

#[test]
fn a_child_that_rustc_knows_how_to_fix_is_fixed_without_a_model_turn() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        &SEQUENTIAL_CONFIG
            .replace("max_iterations: 6", "max_iterations: 1")
            .replace("repair_turns: 0", "repair_turns: 1"),
    );
    let out = tmp.path().join("run");
    // The refinement, but its step lost its `mut` and is assigned again:
    // rustc says to put it back.
    let slip = REFINE.replace("let mut step = 0.5;", "let step = 0.5;");
    let llm = ScriptedLlm::start(replies(&[&slip]), 0, Duration::ZERO);
    let (code, stderr, _) = run_fm(&config, &out, &llm, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(llm.requests(), 1, "no turn with the model");

    let db = out.join("evolution.db");
    let rows: Vec<(String, Option<String>, Option<i64>)> =
        query(&db, "SELECT outcome, message, child_id FROM iterations WHERE iteration = 1", |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        });
    assert!(["stored", "improved"].contains(&rows[0].0.as_str()), "{rows:?}");
    assert_eq!(rows[0].1.as_deref(), Some("built after rustc's suggested fixes"));
    let child: String =
        query(&db, &format!("SELECT code FROM programs WHERE id = {}", rows[0].2.unwrap()), |r| r.get(0))
            .pop()
            .unwrap();
    assert!(
        child.contains("    let mut step = 0.5;\n") && child.contains("let explore = budget / 2;"),
        "{child}"
    );
    let log = openevolve_db::prompt_log_path(&db);
    let exchange: String =
        query(&log, "SELECT exchange FROM exchanges WHERE iteration = 1", |r| r.get(0)).pop().unwrap();
    let order = ["# result\nbuild_failed:", "E0384", "# rustc\n", "`let mut step", "# result\n"];
    let at: Vec<usize> =
        order.iter().map(|s| exchange.rfind(s).unwrap_or_else(|| panic!("{s:?} in {exchange}"))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{exchange}");
    assert_eq!(read_json(&out.join("summary.json"))["builds_repaired"], 1);
}

#[test]
fn a_rewrite_answer_of_the_region_alone_is_taken_and_its_copies_of_fixed_code_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        &SEQUENTIAL_CONFIG.replace("max_iterations: 6", "max_iterations: 1\ndiff_based_evolution: false"),
    );
    let out = tmp.path().join("run");
    // The region between its markers, with a copy of the fixed objective
    // inside, as small models write it; the explanation repeats it.
    let region =
        refining_search("budget / 2", "0.5", "step", "refine").replace("```rust\n", "").replace("```\n", "");
    let block = format!(
        "```rust\n// EVOLVE-BLOCK-START\n/// The function to minimise. Fixed: the evaluator scores against it.\npub fn objective(x: f64, y: f64) -> f64 {{\n    x.sin() * y.cos() + (x * y).sin() + (x * x + y * y) / 20.0\n}}\n\n{region}// EVOLVE-BLOCK-END\n```\n"
    );
    let answer = format!("Refine around the best point.\n{block}That is:\n{block}");
    let llm = ScriptedLlm::start(replies(&[&answer]), 0, Duration::ZERO);
    let (code, stderr, _) = run_fm(&config, &out, &llm, &[]);
    assert_eq!(code, 0, "{stderr}");
    // The prompt asked for the region alone and showed the fixed code apart.
    let prompt = llm.prompts.lock().unwrap()[0].clone();
    assert!(prompt.contains("do not repeat it") && prompt.contains("the region, shown below"), "{prompt}");
    let db = out.join("evolution.db");
    let outcome: String =
        query(&db, "SELECT outcome FROM iterations WHERE iteration = 1", |r| r.get(0)).pop().unwrap();
    assert!(["improved", "stored"].contains(&outcome.as_str()), "{outcome}");
    let notes: String = query(&db, "SELECT inline FROM artifacts WHERE name = 'diff_notes'", |r| {
        Ok(String::from_utf8_lossy(&r.get::<_, Vec<u8>>(0)?).into_owned())
    })
    .pop()
    .unwrap();
    assert!(notes.contains("`pub fn objective(x: f64, y: f64) -> f64 {`"), "{notes}");
}
