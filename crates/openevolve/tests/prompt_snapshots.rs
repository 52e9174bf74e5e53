//! Rendered prompts for a fixed parent and fixed inspirations, compared with
//! files under `tests/snapshots/`. After an intended change to the templates
//! or the builder, rewrite them with
//!     UPDATE_SNAPSHOTS=1 cargo test -p openevolve --test prompt_snapshots
//! and review the diff of `tests/snapshots/` before committing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use openevolve::config::PromptConfig;
use openevolve::diff::EvolutionMode;
use openevolve::prompt::{
    ProgramLabel, Prompt, PromptBuilder, PromptContext, PromptError, PromptProgram, RepairCause, prompt_seed,
};

const PARENT_CODE: &str = "\
use std::f64::consts::PI;

// EVOLVE-BLOCK-START
fn step(x: f64) -> f64 {
    let y = x * 0.5;
    y + 1.0
}
// EVOLVE-BLOCK-END

fn main() {
    println!(\"{}\", step(PI));
}
";

fn metrics(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn program(id: &str, label: ProgramLabel, code: &str, score: f64) -> PromptProgram {
    PromptProgram {
        id: id.into(),
        code: code.into(),
        metrics: metrics(&[("combined_score", score), ("runtime_ms", 12.5)]),
        artifacts: BTreeMap::new(),
        generation: 3,
        island: 0,
        feature_cell: vec![2, 5],
        label,
        changes: None,
    }
}

fn context() -> PromptContext {
    let mut parent = program("p-17", ProgramLabel::TopProgram, PARENT_CODE, 0.625);
    parent.generation = 4;
    parent.artifacts = BTreeMap::from([
        (
            "stderr".to_string(),
            "\x1b[33mwarning\x1b[0m: unused variable `z`\nusing api_key=abc123secret\n".to_string(),
        ),
        ("timing".to_string(), "step: 12.5 ms".to_string()),
    ]);
    let mut worse = program("c-21", ProgramLabel::Inspiration, PARENT_CODE, 0.5);
    worse.changes = Some("@@ line 5: -1 +1\n- let y = x * 0.5;\n+ let y = x * 0.4;".into());
    let mut better = program("c-22", ProgramLabel::Inspiration, PARENT_CODE, 0.75);
    better.changes = Some("@@ line 6: -1 +1\n- y + 1.0\n+ y + 1.25".into());
    let top = program("t-1", ProgramLabel::TopProgram, &PARENT_CODE.replace("0.5", "0.55"), 0.9);
    let mut migrant = program("m-3", ProgramLabel::Migrant, &PARENT_CODE.replace("x * 0.5", "x.sqrt()"), 0.7);
    migrant.island = 2;
    PromptContext {
        parent,
        previous_attempts: vec![better, worse],
        top_programs: vec![top.clone()],
        diverse_programs: vec![program(
            "d-8",
            ProgramLabel::Diverse,
            &PARENT_CODE.replace("y + 1.0", "y * y"),
            0.4,
        )],
        inspirations: vec![top, migrant],
        island: 1,
        iteration: 7,
        feature_dimensions: vec!["complexity".into(), "diversity".into()],
        last_failure: Some("the SEARCH text of block 1 was not found inside the EVOLVE-BLOCK regions".into()),
        focus: None,
    }
}

fn config() -> PromptConfig {
    PromptConfig {
        island_system_messages: vec![None, Some("You are an expert in numerical Rust.".into())],
        include_changes_under_chars: Some(200),
        suggest_simplification_after_chars: Some(150),
        ..PromptConfig::default()
    }
}

fn render(config: PromptConfig, mode: EvolutionMode, seed: u64) -> Prompt {
    PromptBuilder::with_parts(config, mode, "rust").unwrap().build(&context(), seed).unwrap()
}

fn check_snapshot(name: &str, prompt: &Prompt) {
    let text = format!("===== system =====\n{}\n===== user =====\n{}\n", prompt.system, prompt.user);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; create it with UPDATE_SNAPSHOTS=1", path.display()));
    assert!(
        expected == text,
        "{name} differs from the snapshot; if intended, rerun with UPDATE_SNAPSHOTS=1 and review.\n--- rendered ---\n{text}"
    );
}

#[test]
fn diff_mode_prompt_matches_snapshot() {
    check_snapshot("prompt_diff_mode.txt", &render(config(), EvolutionMode::Diff, prompt_seed(42, 7)));
}

#[test]
fn rewrite_mode_prompt_matches_snapshot() {
    check_snapshot(
        "prompt_rewrite_mode.txt",
        &render(config(), EvolutionMode::FullRewrite, prompt_seed(42, 7)),
    );
}

#[test]
fn artifacts_are_filtered_and_can_be_left_out() {
    let user = render(config(), EvolutionMode::Diff, 1).user;
    assert!(user.contains("api_key=[REDACTED]") && !user.contains("abc123secret"), "{user}");
    assert!(!user.contains('\x1b'));
    let hidden = render(PromptConfig { include_artifacts: false, ..config() }, EvolutionMode::Diff, 1).user;
    assert!(!hidden.contains("unused variable"), "{hidden}");
}

#[test]
fn stochastic_phrasing_follows_the_seed() {
    let opening = |seed| render(config(), EvolutionMode::Diff, seed).user.lines().next().unwrap().to_string();
    assert_eq!(opening(prompt_seed(1, 2)), opening(prompt_seed(1, 2)));
    let openings: std::collections::BTreeSet<String> = (0..12).map(|i| opening(prompt_seed(1, i))).collect();
    assert!(openings.len() > 1, "{openings:?}");
    let fixed = PromptConfig { use_template_stochasticity: false, ..config() };
    let firsts: std::collections::BTreeSet<String> = (0..6)
        .map(|i| render(fixed.clone(), EvolutionMode::Diff, i).user.lines().next().unwrap().to_string())
        .collect();
    assert_eq!(firsts.len(), 1);
}

#[test]
fn config_variations_replace_built_in_phrasings() {
    let config = PromptConfig {
        template_variations: BTreeMap::from([("opening".to_string(), vec!["Make it faster.".to_string()])]),
        ..config()
    };
    assert!(render(config, EvolutionMode::Diff, 3).user.starts_with("Make it faster.\n"));
}

#[test]
fn template_dir_replaces_templates_file_by_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("top_programs.tera"),
        "\n\nTOP: {% for p in top_programs %}{{ p.id }}{% endfor %}",
    )
    .unwrap();
    let config = PromptConfig { template_dir: Some(dir.path().display().to_string()), ..config() };
    let user = render(config, EvolutionMode::Diff, 3).user;
    assert!(user.contains("\n\nTOP: t-1\n"), "{user}");
    assert!(user.contains("## The current program"), "built-in parts stay: {user}");
}

#[test]
fn a_broken_template_names_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("parent.tera");
    std::fs::write(&path, "line one\nline two {{ parent.code | }}\nline three\n").unwrap();
    let config = PromptConfig { template_dir: Some(dir.path().display().to_string()), ..config() };
    let err = PromptBuilder::with_parts(config, EvolutionMode::Diff, "rust").err().expect("parse error");
    let message = err.to_string();
    assert!(matches!(err, PromptError::Template { .. }));
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("--> 2:"), "no line number: {message}");
}

#[test]
fn the_island_picks_its_system_message() {
    let mut context = context();
    let builder = PromptBuilder::with_parts(config(), EvolutionMode::Diff, "rust").unwrap();
    assert!(builder.build(&context, 0).unwrap().system.starts_with("You are an expert in numerical Rust."));
    context.island = 0;
    assert!(builder.build(&context, 0).unwrap().system.starts_with(&PromptConfig::default().system_message));
}

#[test]
fn rewrite_prompts_and_repairs_of_a_run_share_a_prefix_through_the_fixed_code() {
    // A local server reuses its cache for the longest prefix a request shares
    // with the one before: the fixed code, the same in every prompt of a run,
    // must come before anything that changes (phrasing, scores, errors).
    let builder = PromptBuilder::with_parts(config(), EvolutionMode::FullRewrite, "rust").unwrap();
    let firsts: Vec<String> =
        (0..6).map(|i| builder.build(&context(), prompt_seed(1, i)).unwrap().user).collect();
    let child = PARENT_CODE.replace("x * 0.5", "x * half");
    let errors = "error[E0425]: cannot find value `half` in this scope";
    let repair = builder.build_repair(RepairCause::BuildFailed { errors }, &child).unwrap();
    let fixed_end = "fn main() {\n    println!(\"{}\", step(PI));\n}\n```";
    let shared =
        &repair[..repair.find(fixed_end).expect("the repair shows the fixed code") + fixed_end.len()];
    assert!(shared.contains("use std::f64::consts::PI;"), "{shared}");
    for first in &firsts {
        assert!(
            first.starts_with(shared),
            "the prompt does not start with the repair's fixed code:\n{first}"
        );
    }
    assert!(firsts.iter().any(|f| f != &firsts[0]), "the phrasings vary after the prefix");
}

#[test]
fn a_build_repair_in_rewrite_mode_marks_the_refused_line_in_the_regions() {
    let child = PARENT_CODE.replace("x * 0.5", "x * half");
    let line = child.lines().position(|l| l.contains("x * half")).unwrap() + 1;
    let errors =
        format!("error[E0425]: cannot find value `half` in this scope\n  --> candidate.rs:{line}:9\n");
    let mark = "// error on the next line: cannot find value `half` in this scope -- declare `half` with `let` before this line, or use a name that exists\n";
    let rewrite = PromptBuilder::with_parts(config(), EvolutionMode::FullRewrite, "rust").unwrap();
    let repair = rewrite.build_repair(RepairCause::BuildFailed { errors: &errors }, &child).unwrap();
    // Right above the line, with its indent, and nowhere in the fixed code.
    assert!(repair.contains(&format!("\n    {mark}    let y = x * half;\n")), "{repair}");
    assert_eq!(repair.matches(mark).count(), 1, "{repair}");
    // A SEARCH text must match the code as it is: no mark in diff mode.
    let diff = PromptBuilder::with_parts(config(), EvolutionMode::Diff, "rust").unwrap();
    let repair = diff.build_repair(RepairCause::BuildFailed { errors: &errors }, &child).unwrap();
    assert!(!repair.contains("error on the next line") && repair.contains("x * half"), "{repair}");
}

#[test]
fn an_answer_with_nothing_to_apply_is_asked_for_again_with_its_reason_and_the_regions() {
    let builder = PromptBuilder::with_parts(config(), EvolutionMode::FullRewrite, "rust").unwrap();
    let reason = "the answer has no fenced code block";
    let again = builder.build_repair(RepairCause::NotApplied { reason }, PARENT_CODE).unwrap();
    let build = builder
        .build_repair(RepairCause::BuildFailed { errors: "error[E0425]: cannot find value" }, PARENT_CODE)
        .unwrap();
    // The fixed code first (the server's cached prefix), then the reason,
    // the regions as they are, and the format asked for.
    let fixed = again.find("use std::f64::consts::PI;").expect("the fixed code");
    let said = again.find(reason).expect("the reason");
    let region = again.find("x * 0.5").expect("the region's code");
    assert!(fixed < said && said < region, "{again}");
    assert!(again.contains("its own ```rust block that starts with its start marker line"), "{again}");
    // Not the build repair's words: nothing failed to build.
    assert!(!again.contains("did not build") && !again.contains("compiler"), "{again}");
    assert!(build.contains("did not build") && !build.contains(reason), "{build}");
    // An answer that changed nothing that counts is asked for a real change,
    // not for the same change again.
    let reason = "it gave the code as it was";
    let same = builder.build_repair(RepairCause::NoChange { reason }, PARENT_CODE).unwrap();
    assert!(same.contains(reason) && same.contains("Change what the code does"), "{same}");
    assert!(!same.contains("Give your change again") && !same.contains("did not build"), "{same}");
    assert!(
        again.contains("Give your change again") && !again.contains("Change what the code does"),
        "{again}"
    );
}

#[test]
fn the_simplification_hint_counts_only_the_code_the_model_may_change() {
    // PARENT_CODE is 174 characters, its region's body about 55: fixed code
    // cannot be simplified, so it must not trigger the hint.
    let config = PromptConfig { suggest_simplification_after_chars: Some(100), ..config() };
    let builder = PromptBuilder::with_parts(config, EvolutionMode::FullRewrite, "rust").unwrap();
    let hinted = |code: &str| {
        let mut context = context();
        context.parent.code = code.to_string();
        builder.build(&context, 0).unwrap().user.contains("characters long (over 100)")
    };
    assert!(!hinted(PARENT_CODE));
    let long_region =
        PARENT_CODE.replace("    y + 1.0\n", &format!("{}    y\n", "    let y = y + 1.0;\n".repeat(5)));
    assert!(hinted(&long_region));
    // Without markers the whole program is the model's to change.
    assert!(hinted(&PARENT_CODE.replace("// EVOLVE-BLOCK-START\n", "").replace("// EVOLVE-BLOCK-END\n", "")));
}
