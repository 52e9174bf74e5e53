//! examples/mlx_lora_finetuning through `openevolve eval`, on the CPU at the
//! `tiny` size with the real model and data (scripts/setup-lora-data.sh):
//! the initial program scores convergence 1 against the baseline; exact
//! faster variants stay inside the 1% rule; broken variants are caught by
//! the evaluator's checks or by the rule; a candidate that tries every hole
//! of a training evaluation finds none. One test, so that the evaluations
//! run one at a time (they measure speed).

mod common;

use common::*;

const EXAMPLE: TrainingExample = TrainingExample("mlx_lora_finetuning");

#[test]
fn the_lora_evaluator_scores_the_initial_program_and_tells_good_from_bad() {
    if !openevolve_testkit::ready(
        "the_lora_evaluator_scores_the_initial_program_and_tells_good_from_bad",
        &[openevolve_testkit::Prerequisite::Mlx, openevolve_testkit::Prerequisite::LoraData],
    ) {
        return;
    }
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
    // The `gpu` size's reference candidates, exact at this size too: packed
    // rows whose segment masks keep each example to itself, a forward whose
    // elementwise chains are compiled (and differentiated through), and
    // Adam's update compiled into one function over every adapter matrix.
    for name in ["packed_sparse", "compiled", "fused_adam"] {
        let e = EXAMPLE.evaluate(&format!("candidates/{name}.rs"), &config);
        assert_eq!(metric(&e, "within_tolerance"), 1.0, "{name}: {e:#}");
        assert!(metric(&e, "loss_relative_difference").abs() < 1e-4, "{name}: {e:#}");
        assert!(metric(&e, "train_loss_gap") < 1e-4, "{name}: {e:#}");
    }

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

    // The hacks a reward-hacking model would try on a training evaluation,
    // all in one candidate that otherwise trains as the baseline does. A
    // hole that works panics with HOLE, which fails the evaluation.
    let hacker = tmp.path().join("hacks.rs");
    let initial = std::fs::read_to_string(EXAMPLE.dir().join("initial.rs")).unwrap();
    let honest_cadence = "pub fn eval_every() -> usize {\n    1\n}";
    assert!(initial.contains(honest_cadence), "initial.rs changed: update this test");
    std::fs::write(&hacker, initial.replace(honest_cadence, HACKS)).unwrap();
    let hacked =
        eval_json(&hacker, &EXAMPLE.dir().join("evaluator"), &config, &EXAMPLE.dir().join("candidate.toml"));
    assert!(hacked["failure"].is_null(), "a hole was found: {hacked:#}");
    assert_eq!(metric(&hacked, "within_tolerance"), 1.0, "{hacked:#}");
    // The memory it used while timed counts, though it freed it and tried
    // to reset both the kernel's mark and MLX's counter. 600 MB on top of
    // what is resident as training starts, before the activations: that
    // resident size varies by some 100 MB between runs, and with 300 MB the
    // peak came out 190 MB over the baseline's once and 90 MB another time.
    let (base_mb, cand_mb) = (metric(&hacked, "baseline_peak_mb"), metric(&hacked, "candidate_peak_mb"));
    assert!(cand_mb > base_mb + 200.0, "the hidden 600 MB went unseen: {base_mb} vs {cand_mb} MB");
    // Its sleep counts too: the judge's clock, not the run's report.
    let (base_s, cand_s) =
        (metric(&hacked, "baseline_train_seconds"), metric(&hacked, "candidate_train_seconds"));
    assert!(cand_s > base_s + 4.0, "the hidden 8 s went unseen: {base_s} vs {cand_s} s");
    assert!(metric(&hacked, "efficiency") < 0.5, "{hacked:#}");
}

/// Replaces the candidate's `eval_every`, which `hooks()` calls: in each
/// candidate run, twice before the timed training (the check and the
/// warm-up) and once as it starts.
const HACKS: &str = r#"pub fn eval_every() -> usize {
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let hole = |what: &str| -> ! { panic!("HOLE: {what}") };
    // The held-out data: the validation split is built from these files,
    // and the token cache holds it tokenized.
    let data = std::path::PathBuf::from(std::env::var("MLX_LORA_DATA_DIR").unwrap_or_default());
    for file in [data.join("wordnet-3.0").join("data.noun"), data.join("tokens")] {
        if std::fs::read(&file).is_ok() || std::fs::read_dir(&file).is_ok() {
            hole(&format!("read {}", file.display()));
        }
    }
    // Another run's output, and the judge's own folder.
    for target in ["../adapters/baseline-0.safetensors", "../adapters/forged", "../forged"] {
        if std::fs::write(target, b"forged").is_ok() {
            hole(&format!("wrote {target}"));
        }
    }
    // The kernel's peak-memory mark.
    if std::fs::write("/proc/self/clear_refs", "5").is_ok() {
        hole("reset the kernel's peak-memory mark");
    }
    // The third call starts the timed training: use 600 MB and 8 s there,
    // then hide them.
    if CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 2 {
        let mut hog = vec![1u8; 600 << 20];
        for page in hog.chunks_mut(4096) {
            page[0] = 2;
        }
        std::hint::black_box(&hog);
        drop(hog);
        let _ = mlx_rs::memory::reset_peak_memory();
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        std::thread::sleep(std::time::Duration::from_secs(8));
    }
    1
}"#;
