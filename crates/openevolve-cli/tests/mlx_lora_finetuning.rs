//! examples/mlx_lora_finetuning through `openevolve eval`, on the CPU at the
//! `tiny` size with the real model and data (scripts/setup-lora-data.sh):
//! the initial program scores convergence 1 against the baseline; an exact
//! faster variant stays inside the 1% rule; broken variants are caught by
//! the evaluator's checks or by the rule. One test, so that the evaluations
//! run one at a time (they measure speed).

mod common;

use common::*;

const EXAMPLE: TrainingExample = TrainingExample("mlx_lora_finetuning");

#[test]
fn the_lora_evaluator_scores_the_initial_program_and_tells_good_from_bad() {
    let tmp = tempfile::tempdir().unwrap();
    let config = EXAMPLE.one_trial_config(tmp.path());

    let initial = EXAMPLE.evaluate("initial.rs", &config);
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
    let sparse = EXAMPLE.evaluate("candidates/sparse_logits.rs", &config);
    assert_eq!(metric(&sparse, "within_tolerance"), 1.0, "{sparse:#}");
    assert!(metric(&sparse, "loss_relative_difference").abs() < 1e-3, "{sparse:#}");
    assert!(metric(&sparse, "combined_score") >= 0.7);

    for (name, caught_by) in [
        ("lower_rank", "the LoRA forward differs"),
        ("fake_loss", "returns the loss"),
        ("block_attention", "returns the loss"),
    ] {
        let e = EXAMPLE.evaluate(&format!("candidates/{name}.rs"), &config);
        let why =
            e["artifacts"]["rejected"].as_str().unwrap_or_else(|| panic!("{name} was not rejected: {e:#}"));
        assert!(why.contains("check failed") && why.contains(caught_by), "{name}: {why}");
        assert_eq!(metric(&e, "combined_score"), 0.0);
    }

    let skipping = EXAMPLE.evaluate("candidates/skip_steps.rs", &config);
    assert_eq!(metric(&skipping, "within_tolerance"), 0.0, "{skipping:#}");
    assert!(metric(&skipping, "loss_relative_difference") > 0.01, "{skipping:#}");
    assert!(metric(&skipping, "combined_score") < 0.5, "{skipping:#}");
    assert!(metric(&skipping, "combined_score") < metric(&initial, "combined_score"));
}
