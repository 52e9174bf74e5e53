//! `openevolve eval` on examples/function_minimization: one program scored
//! as a run would score it, a broken one failing with its build errors, and
//! `--build-only` output that evaluates on its own, without openevolve; the
//! problem folder's config.yaml by default, and `openevolve new`'s problem.

mod common;

use common::*;

fn eval_cmd(program: &std::path::Path) -> std::process::Command {
    let dir = repo_root().join("examples/function_minimization");
    let mut cmd = openevolve();
    cmd.arg("eval")
        .arg(program)
        .arg(dir.join("evaluator.rs"))
        .arg("--config")
        .arg(dir.join("config.yaml"))
        .arg("--cache-dir")
        .arg(cache_dir());
    cmd
}

#[test]
fn eval_scores_one_program_and_builds_for_elsewhere() {
    let initial = repo_root().join("examples/function_minimization/initial.rs");
    let out = eval_cmd(&initial).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let evaluation: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(evaluation["failure"].is_null(), "{evaluation:#}");
    let score = evaluation["metrics"]["combined_score"].as_f64().unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let broken = tmp.path().join("broken.rs");
    let source = std::fs::read_to_string(&initial).unwrap();
    std::fs::write(&broken, source.replacen("// EVOLVE-BLOCK-START", "// EVOLVE-BLOCK-START\nlet x = ;", 1))
        .unwrap();
    let out = eval_cmd(&broken).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("status:  failed (build_failed)") && text.contains("build_errors:"), "{text}");

    let bin = tmp.path().join("bin");
    let out = eval_cmd(&initial).arg("--build-only").arg(&bin).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains(" judge ") && printed.contains("3>result.json"), "{printed}");
    // As printed: the judge, its verdict on fd 3.
    let result = tmp.path().join("result.json");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#""$0" judge "$1" 0 "" 3>"$2""#)
        .arg(bin.join("evaluator"))
        .arg(bin.join("initial.so"))
        .arg(&result)
        .current_dir(tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    let elsewhere = read_json(&result);
    assert_eq!(elsewhere["status"], "ok", "{elsewhere:#}");
    assert_eq!(
        elsewhere["metrics"]["combined_score"].as_f64(),
        Some(score),
        "the same program scores the same"
    );
}

#[test]
fn candidates_build_in_the_edition_candidate_toml_names() {
    // rand 0.8's `rng.gen()`: a name in edition 2021 (the example's), a
    // reserved keyword in 2024 (the default).
    let dir = repo_root().join("examples/function_minimization");
    let source = std::fs::read_to_string(dir.join("initial.rs")).unwrap();
    let with_gen =
        source.replacen("let x = rng.gen_range(-5.0..5.0);", "let x = -5.0 + 10.0 * rng.gen::<f64>();", 1);
    assert_ne!(with_gen, source);
    let tmp = tempfile::tempdir().unwrap();
    let program = tmp.path().join("with_gen.rs");
    std::fs::write(&program, &with_gen).unwrap();
    let manifest = std::fs::read_to_string(dir.join("candidate.toml")).unwrap();
    let run = |manifest: &str| {
        let file = tmp.path().join("candidate.toml");
        std::fs::write(&file, manifest).unwrap();
        let out = eval_cmd(&program).arg("--manifest").arg(&file).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, text) = run(&manifest);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(&manifest.replace("edition = \"2021\"", "edition = \"2024\""));
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("reserved keyword `gen`"), "{text}");
}

#[test]
fn without_config_eval_reads_the_problem_folders_config_yaml() {
    let tmp = tempfile::tempdir().unwrap();
    copy_example("function_minimization", tmp.path());
    // A config that cannot load shows that it was read.
    std::fs::write(tmp.path().join("config.yaml"), "evaluator:\n  timeot: 5\n").unwrap();
    let out = openevolve()
        .arg("eval")
        .arg(tmp.path().join("initial.rs"))
        .arg(tmp.path().join("evaluator.rs"))
        .arg("--cache-dir")
        .arg(cache_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("config.yaml") && stderr.contains("did you mean `timeout`"), "{stderr}");
}

#[test]
fn a_new_problem_evaluates_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("first");
    let out = openevolve().arg("new").arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = openevolve()
        .arg("eval")
        .arg(dir.join("initial.rs"))
        .arg(dir.join("evaluator.rs"))
        .arg("--json")
        .arg("--cache-dir")
        .arg(cache_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let evaluation: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let score = evaluation["metrics"]["combined_score"].as_f64().unwrap();
    assert!(score > 0.5 && score < 1.0, "a coarse grid leaves room to improve: {evaluation:#}");
    // A folder that holds a problem is not written over.
    let again = openevolve().arg("new").arg(&dir).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}
