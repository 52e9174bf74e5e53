//! examples/mlx_lora_finetuning through `openevolve eval`, on the CPU at the
//! `tiny` size with the real model and data (scripts/setup-lora-data.sh):
//! the initial program scores convergence 1 against the baseline; an exact
//! faster variant stays inside the 1% rule; broken variants are caught by
//! the evaluator's checks or by the rule. One test, so that the evaluations
//! run one at a time (they measure speed).

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn example() -> PathBuf {
    repo_root().join("examples/mlx_lora_finetuning")
}

/// The example's config with one trial of each variant instead of two.
fn one_trial_config(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(example().join("config.yaml")).unwrap();
    assert!(text.contains("    trials: 2\n"), "the example's config changed: update this test");
    write_config(dir, &text.replace("    trials: 2\n", "    trials: 1\n"))
}

fn evaluate(program: &Path, config: &Path) -> Value {
    let evaluation =
        eval_json(program, &example().join("evaluator"), config, &example().join("candidate.toml"));
    eprintln!(
        "{}: {}",
        program.file_name().unwrap().to_string_lossy(),
        evaluation["artifacts"]["summary"]
            .as_str()
            .or(evaluation["artifacts"]["rejected"].as_str())
            .unwrap_or("")
    );
    evaluation
}

fn metric(e: &Value, name: &str) -> f64 {
    e["metrics"][name].as_f64().unwrap_or_else(|| panic!("no metric {name}: {e:#}"))
}

#[test]
fn the_lora_evaluator_scores_the_initial_program_and_tells_good_from_bad() {
    let tmp = tempfile::tempdir().unwrap();
    let config = one_trial_config(tmp.path());

    let initial = evaluate(&example().join("initial.rs"), &config);
    assert_eq!(metric(&initial, "convergence"), 1.0, "{initial:#}");
    assert_eq!(metric(&initial, "within_tolerance"), 1.0);
    // The same code trained twice with the same seeds: the same adapters.
    assert!(metric(&initial, "loss_relative_difference").abs() < 1e-6, "{initial:#}");
    let (base, trained) =
        (metric(&initial, "base_model_valid_loss"), metric(&initial, "baseline_valid_loss"));
    assert!(trained < base - 0.3, "training should lower the validation loss: {base} -> {trained}");
    assert!((0.7..=1.0).contains(&metric(&initial, "combined_score")));

    // Exact, and cheaper: logits only where the loss counts. Its speed-up is
    // measured by the benchmark in the README, not asserted here.
    let sparse = evaluate(&example().join("candidates/sparse_logits.rs"), &config);
    assert_eq!(metric(&sparse, "within_tolerance"), 1.0, "{sparse:#}");
    assert!(metric(&sparse, "loss_relative_difference").abs() < 1e-3, "{sparse:#}");
    assert!(metric(&sparse, "combined_score") >= 0.7);

    for (name, caught_by) in [
        ("lower_rank", "the LoRA forward differs"),
        ("fake_loss", "returns the loss"),
        ("block_attention", "returns the loss"),
    ] {
        let e = evaluate(&example().join(format!("candidates/{name}.rs")), &config);
        let why =
            e["artifacts"]["rejected"].as_str().unwrap_or_else(|| panic!("{name} was not rejected: {e:#}"));
        assert!(why.contains("check failed") && why.contains(caught_by), "{name}: {why}");
        assert_eq!(metric(&e, "combined_score"), 0.0);
    }

    let skipping = evaluate(&example().join("candidates/skip_steps.rs"), &config);
    assert_eq!(metric(&skipping, "within_tolerance"), 0.0, "{skipping:#}");
    assert!(metric(&skipping, "loss_relative_difference") > 0.01, "{skipping:#}");
    assert!(metric(&skipping, "combined_score") < 0.5, "{skipping:#}");
    assert!(metric(&skipping, "combined_score") < metric(&initial, "combined_score"));
}
