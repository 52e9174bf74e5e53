//! What a request asks for and what is refused before a build, end to end
//! against a scripted server: with `region_scope: one` each request shows
//! one region as changeable, the child goes back into the whole program,
//! and the iteration's record names the region; an answer that redefines a
//! fixed item, or one the length limit cut off, is refused before any build.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use openevolve::prompt::prompt_seed;
use openevolve::regions::RegionFocus;

const SEED: u64 = 7;

/// function_minimization with its entry point as a second region, `entry`.
fn two_region_problem(dir: &Path) -> String {
    copy_example("function_minimization", dir);
    let initial = std::fs::read_to_string(dir.join("initial.rs")).unwrap();
    let entry = "pub fn run_search(budget: usize, seed: u64) -> (f64, f64, f64) {\n    search(budget, &mut SeedableRng::seed_from_u64(seed))\n}\n";
    assert!(initial.contains(entry));
    let initial =
        initial.replace(entry, &format!("// EVOLVE-BLOCK-START entry\n{entry}// EVOLVE-BLOCK-END\n"));
    std::fs::write(dir.join("initial.rs"), &initial).unwrap();
    initial
}

/// `openevolve run` on the problem in `dir`, asking `llm`; asserts success.
fn run(dir: &Path, config: &Path, out: &Path, llm: &ScriptedLlm) {
    let status = openevolve()
        .arg("run")
        .arg(dir.join("initial.rs"))
        .arg(dir.join("evaluator.rs"))
        .args(["--model", "scripted", "--api-base", &llm.api_base, "--cache-dir"])
        .arg(cache_dir())
        .arg("--config")
        .arg(config)
        .arg("--output")
        .arg(out)
        .output()
        .expect("openevolve runs");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
}

#[test]
fn one_region_per_request_shows_one_region_and_records_it() {
    let tmp = tempfile::tempdir().unwrap();
    let initial = two_region_problem(tmp.path());
    let config = write_config(
        tmp.path(),
        &SEQUENTIAL_CONFIG
            .replace("max_iterations: 6", "max_iterations: 2\ndiff_based_evolution: false\nregion_scope: one")
            .replace("random_seed: 7", &format!("random_seed: {SEED}")),
    );
    // The first answer changes the region the first request asks for.
    let focus = RegionFocus::choose(&initial, prompt_seed(SEED, 1)).expect("two regions");
    let first = match focus.label.as_str() {
        "entry" => "```rust\npub fn run_search(budget: usize, seed: u64) -> (f64, f64, f64) {\n    // another stream of the seed\n    search(budget, &mut SeedableRng::seed_from_u64(seed ^ 0x5eed))\n}\n```\n".to_string(),
        _ => refining_search("budget / 2", "0.5", "step", "refine"),
    };
    // The second defines the fixed objective again.
    let second = "```rust\npub fn objective(x: f64, y: f64) -> f64 {\n    x + y\n}\n```\n";
    let llm = ScriptedLlm::start(replies(&[&first, second]), 0, Duration::ZERO);
    let out = tmp.path().join("run");
    run(tmp.path(), &config, &out, &llm);

    // Each request (its JSON body) shows one region between markers, and says which.
    let prompts = llm.prompts.lock().unwrap().clone();
    assert_eq!(prompts.len(), 2);
    let marked = |p: &str| p.matches("EVOLVE-BLOCK-START").count();
    // The system message names the marker; the fixed code, the region
    // shown and the task's example hold the focused region's marker line.
    assert_eq!(marked(&prompts[0]), 4, "{}", prompts[0]);
    assert_eq!(prompts[0].matches(&format!("EVOLVE-BLOCK-START {}\\n", focus.label)).count(), 3);
    assert!(prompts[0].contains(&format!("This request is about region {} alone", focus.label)));
    assert!(prompts[0].contains("(not changed in this request)"), "{}", prompts[0]);
    assert!(prompts[0].contains("Use only the standard library and `rand`: no other crate can be used."));

    let db = out.join("evolution.db");
    let rows = query(
        &db,
        "SELECT outcome, region, message FROM iterations WHERE iteration > 0 ORDER BY iteration",
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, Option<String>>(2)?)),
    );
    assert!(["improved", "stored"].contains(&rows[0].0.as_str()), "{rows:?}");
    assert_eq!(rows[0].1.as_deref(), Some(focus.label.as_str()));
    // The stored child is the whole program: both regions, as marked before.
    let child: String =
        query(&db, "SELECT code FROM programs WHERE iteration_found = 1", |r| r.get(0)).pop().unwrap();
    assert_eq!(marked(&child), 2);
    assert!(child.contains("// EVOLVE-BLOCK-START entry\n") && child.contains("// EVOLVE-BLOCK-START\n"));
    // The redefinition is refused without a build.
    assert_eq!(rows[1].0, "not_applied", "{rows:?}");
    let message = rows[1].2.clone().unwrap_or_default();
    assert!(message.contains("defines `objective`, which the fixed code already defines"), "{message}");
}

#[test]
fn an_answer_cut_off_by_the_length_limit_is_asked_again_for_a_shorter_one() {
    let tmp = tempfile::tempdir().unwrap();
    copy_example("function_minimization", tmp.path());
    let config = write_config(
        tmp.path(),
        &SEQUENTIAL_CONFIG
            .replace("max_iterations: 6", "max_iterations: 1\ndiff_based_evolution: false")
            .replace("repair_turns: 0", "repair_turns: 1"),
    );
    // The first answer stops inside its code block; the repair's is whole.
    let whole = refining_search("budget / 2", "0.5", "step", "refine");
    let cut = whole[..whole.len() / 2].to_string();
    let llm = ScriptedLlm::start(vec![Reply::CutOff(cut), Reply::Text(whole)], 0, Duration::ZERO);
    let out = tmp.path().join("run");
    run(tmp.path(), &config, &out, &llm);
    let prompts = llm.prompts.lock().unwrap().clone();
    assert_eq!(prompts.len(), 2, "one repair turn");
    assert!(prompts[1].contains("cut off at the length limit (50 tokens)"), "{}", prompts[1]);
    assert!(prompts[1].contains("give a shorter answer"));
    let db = out.join("evolution.db");
    let outcome: String =
        query(&db, "SELECT outcome FROM iterations WHERE iteration = 1", |r| r.get(0)).pop().unwrap();
    assert!(["improved", "stored"].contains(&outcome.as_str()), "{outcome}");
}

#[test]
fn an_evaluation_skipped_before_a_repair_turn_counts_as_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        &SEQUENTIAL_CONFIG
            .replace("max_iterations: 6", "max_iterations: 2\ndiff_based_evolution: false")
            .replace("repair_turns: 0", "repair_turns: 1"),
    );
    let variant = |explore: &str, note: &str, name: &str| refining_search(explore, "0.5", name, note);
    let first = variant("budget / 2", "refine around the best point", "step");
    // Other code, the same search: skipped by its fingerprint, then a change.
    let renamed = variant("budget / 2", "shrink the steps as we go", "radius");
    let changed = variant("budget / 3", "explore less", "step");
    let llm = ScriptedLlm::start(replies(&[&first, &renamed, &changed]), 0, Duration::ZERO);
    let out = tmp.path().join("run");
    copy_example("function_minimization", tmp.path());
    run(tmp.path(), &config, &out, &llm);
    assert_eq!(llm.requests(), 3);
    let outcome: String =
        query(&out.join("evolution.db"), "SELECT outcome FROM iterations WHERE iteration = 2", |r| r.get(0))
            .pop()
            .unwrap();
    assert_ne!(outcome, "duplicate", "the repair turn's child was evaluated");
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["evaluations_saved"], 1, "{summary}");
}
