//! `openevolve run` on the two training examples, end to end, on the CPU at
//! the `tiny` size with the real model and data: a scripted LLM on
//! 127.0.0.1 answers first with a known-good change (a reference candidate's
//! code) and then with one that does not build. The good child is built
//! against mlx-rs, checked, trained, scored above the initial program and
//! written to `best/`; the broken one is recorded with the compiler's
//! reason. The LoRA example is answered with a SEARCH/REPLACE diff, the
//! memory example with rewritten regions, the two ways a model answers.
//! One test, so that the runs (which measure speed) go one at a time.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

/// The bodies of `source`'s EVOLVE-BLOCK regions, markers excluded.
fn region_bodies(source: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in source.lines() {
        match line.trim() {
            l if l.starts_with("// EVOLVE-BLOCK-START") => current = Some(Vec::new()),
            "// EVOLVE-BLOCK-END" => bodies.push(current.take().expect("a started region").join("\n")),
            _ => {
                if let Some(lines) = current.as_mut() {
                    lines.push(line);
                }
            }
        }
    }
    bodies
}

/// The example's config for a two-iteration run against `llm`: one trial
/// per training, no repair turns (each answer is one iteration).
fn run_config(example: &TrainingExample, tmp: &Path, extra: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(example.dir().join("config.yaml")).unwrap();
    for expected in ["max_iterations: 40\n", "    trials: 2\n", "  num_islands: 2\n"] {
        assert!(text.contains(expected), "the example's config changed: update this test");
    }
    let text = text
        .replace("max_iterations: 40\n", &format!("max_iterations: 2\nrepair_turns: 0\n{extra}"))
        .replace("    trials: 2\n", "    trials: 1\n")
        .replace("  num_islands: 2\n", "  num_islands: 1\n");
    write_config(tmp, &text)
}

/// Runs `example` against the scripted `answers`; checks what every run of
/// this test must show and returns the run's database.
fn evolve(example: &TrainingExample, tmp: &Path, extra_config: &str, answers: &[&str]) -> std::path::PathBuf {
    let config = run_config(example, tmp, extra_config);
    let output = tmp.join("run");
    let llm = ScriptedLlm::start(replies(answers), 0, Duration::ZERO);
    let dir = example.dir();
    let out = openevolve()
        .arg("run")
        .arg(dir.join("initial.rs"))
        .arg(dir.join("evaluator"))
        .args(["--config".as_ref(), config.as_os_str(), "--output".as_ref(), output.as_os_str()])
        .args(["--cache-dir".as_ref(), cache_dir().as_os_str()])
        .args(["--model", "scripted", "--api-base", &llm.api_base, "--quiet"])
        .output()
        .expect("openevolve runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: the run failed\n{stderr}", example.0);
    assert_eq!(llm.requests(), 2, "{stderr}");

    let db = output.join("evolution.db");
    let rows: Vec<(i64, String, Option<String>)> =
        query(&db, "SELECT iteration, outcome, message FROM iterations ORDER BY iteration", |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        });
    let outcomes: Vec<&str> = rows.iter().map(|(_, o, _)| o.as_str()).collect();
    assert_eq!(outcomes, ["initial", "improved", "build_failed"], "{}: {rows:?}", example.0);
    let reason = rows[2].2.as_deref().unwrap_or_default();
    assert!(
        reason.contains("error"),
        "{}: the build failure keeps the compiler's words: {reason}",
        example.0
    );

    let fitness: Vec<(i64, f64)> =
        query(&db, "SELECT iteration_found, fitness FROM programs ORDER BY id", |r| {
            Ok((r.get(0)?, r.get(1)?))
        });
    let initial = fitness.iter().find(|(it, _)| *it == 0).expect("the initial program").1;
    let best = read_json(&output.join("best/best_program_info.json"));
    assert_eq!(best["iteration_found"], 1, "{}: {best}", example.0);
    assert!(best["fitness"].as_f64().unwrap() > initial, "{}: {best} vs the initial {initial}", example.0);
    eprintln!("{}: initial {initial:.4}, best {:.4}", example.0, best["fitness"].as_f64().unwrap());
    db
}

#[test]
fn both_training_examples_evolve_a_known_good_change_and_record_a_broken_one() {
    if !openevolve_testkit::ready(
        "both_training_examples_evolve_a_known_good_change_and_record_a_broken_one",
        &[openevolve_testkit::Prerequisite::Mlx, openevolve_testkit::Prerequisite::LoraData],
    ) {
        return;
    }
    // LoRA: logits only where the loss counts, as one SEARCH/REPLACE of the
    // loss region; then a cadence that is not a usize.
    let lora = TrainingExample("mlx_lora_finetuning");
    let initial = std::fs::read_to_string(lora.dir().join("initial.rs")).unwrap();
    let sparse = std::fs::read_to_string(lora.dir().join("candidates/sparse_logits.rs")).unwrap();
    let (from, to) = (&region_bodies(&initial)[1], &region_bodies(&sparse)[1]);
    assert_ne!(from, to, "the reference candidate changes the loss region");
    let good =
        format!("Logits only where they count.\n<<<<<<< SEARCH\n{from}\n=======\n{to}\n>>>>>>> REPLACE\n");
    let cadence = "pub fn eval_every() -> usize {\n    1\n}";
    assert!(initial.contains(cadence) && sparse.contains(cadence), "eval_every changed: update this test");
    let broken =
        format!("<<<<<<< SEARCH\n{cadence}\n=======\n{}\n>>>>>>> REPLACE\n", cadence.replace("1\n", "1.5\n"));
    let tmp = tempfile::tempdir().unwrap();
    let db = evolve(&lora, tmp.path(), "", &[&good, &broken]);
    let code: String =
        query(&db, "SELECT code FROM programs WHERE iteration_found = 1", |r| r.get(0)).remove(0);
    assert!(code.contains("take_axis(&rows, 0)"), "the stored child is the sparse variant");

    // Memory: the lean settings and step, as rewritten regions; then
    // settings whose micro-batch size is text.
    let memory = TrainingExample("mlx_finetuning_memory");
    let initial = std::fs::read_to_string(memory.dir().join("initial.rs")).unwrap();
    let lean = std::fs::read_to_string(memory.dir().join("candidates/lean.rs")).unwrap();
    let as_regions = |bodies: Vec<String>| {
        let blocks: Vec<String> =
            bodies.iter().map(|b| format!("// EVOLVE-BLOCK-START\n{b}\n// EVOLVE-BLOCK-END")).collect();
        format!("```rust\n{}\n```\n", blocks.join("\n\n"))
    };
    let good = as_regions(region_bodies(&lean));
    let micro = "micro_batch_examples: 0,";
    assert!(initial.contains(micro), "the memory example's settings changed: update this test");
    let broken = as_regions(region_bodies(&initial.replace(micro, "micro_batch_examples: \"two\",")));
    let tmp = tempfile::tempdir().unwrap();
    let db = evolve(&memory, tmp.path(), "diff_based_evolution: false\n", &[&good, &broken]);
    let code: String =
        query(&db, "SELECT code FROM programs WHERE iteration_found = 1", |r| r.get(0)).remove(0);
    assert!(code.contains("pack_len: Some(128)"), "the stored child has the lean settings");
}
