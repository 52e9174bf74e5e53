//! The `openevolve` binary as a user meets it: help, exit codes, and the
//! messages for bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn openevolve() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_openevolve"));
    cmd.env_remove("OPENAI_API_KEY").env_remove("RUST_LOG");
    cmd
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output { status, stdout, stderr } = cmd.output().expect("binary runs");
    (
        status.code().expect("exited normally"),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A problem folder with an initial program and an evaluator file.
fn problem(dir: &Path, initial: &str) -> (PathBuf, PathBuf) {
    let i = dir.join("initial.rs");
    let e = dir.join("evaluator.rs");
    std::fs::write(&i, initial).unwrap();
    std::fs::write(&e, "// evaluator\n").unwrap();
    (i, e)
}

const GOOD_INITIAL: &str = "fn main() {}\n// EVOLVE-BLOCK-START\nfn f() -> u32 { 1 }\n// EVOLVE-BLOCK-END\n";

#[test]
fn help_works_on_every_command() {
    for args in [&["--help"][..], &["run", "--help"], &["config", "--help"], &["config", "check", "--help"]] {
        let (code, out, _) = run(openevolve().args(args));
        assert_eq!(code, 0, "{args:?}");
        assert!(out.contains("Usage:"), "{args:?}: {out}");
    }
    let (_, out, _) = run(openevolve().args(["run", "--help"]));
    for flag in [
        "--config",
        "--output",
        "--iterations",
        "--checkpoint",
        "--target-score",
        "--api-base",
        "--model",
        "--log-level",
    ] {
        assert!(out.contains(flag), "run --help lacks {flag}");
    }
}

#[test]
fn bad_usage_exits_2() {
    let (code, _, err) = run(openevolve().args(["run", "--no-such-flag"]));
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = run(openevolve().arg("frobnicate"));
    assert_eq!(code, 2);
}

#[test]
fn config_check_prints_the_effective_default_config() {
    let file = repo_root().join("configs/default_config.yaml");
    let (code, out, err) = run(openevolve().args(["config", "check"]).arg(&file));
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "no warnings expected: {err}");
    let mut printed: openevolve::Config = serde_yaml::from_str(&out).expect("stdout is the config as YAML");
    // What resolving derives (the cascade's fitness exclusions) is no key.
    printed.resolve();
    // No endpoint is named, so a run uses the local model, and says so.
    let mut expected = openevolve::Config::default();
    expected.use_default_local_model();
    expected.resolve();
    assert_eq!(printed, expected);
    assert!(out.contains("# models a run uses: local/qwen2.5-coder-1.5b on this CPU"), "{out}");
    assert!(out.contains("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"), "{out}");
}

#[test]
fn config_check_names_a_misspelled_key_its_line_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.yaml");
    std::fs::write(&file, "max_iterations: 3\ndatabse:\n  population_size: 10\n").unwrap();
    let (code, out, err) = run(openevolve().args(["config", "check"]).arg(&file));
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("config.yaml:line 2: `databse`: unknown key `databse`; did you mean `database`?"),
        "{err}"
    );

    std::fs::write(&file, "database:\n  num_island: 3\n").unwrap();
    let (code, _, err) = run(openevolve().args(["config", "check"]).arg(&file));
    assert_eq!(code, 2);
    assert!(
        err.contains("line 2: `database.num_island`") && err.contains("did you mean `num_islands`?"),
        "{err}"
    );
}

#[test]
fn config_check_masks_secrets_and_prints_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.yaml");
    std::fs::write(
        &file,
        "llm:\n  api_key: ${OE_CLI_TEST_KEY}\n  models: [{name: m}]\ndatabase:\n  in_memory: true\n",
    )
    .unwrap();
    let (code, out, err) =
        run(openevolve().args(["config", "check"]).arg(&file).env("OE_CLI_TEST_KEY", "sk-test-123456"));
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("sk-test-123456") && !err.contains("sk-test-123456"));
    assert!(out.contains("api_key: '********'") || out.contains("api_key: \"********\""), "{out}");
    assert!(out.contains("# models a run uses: m at https://api.openai.com/v1"), "{out}");
    assert!(err.contains("warning:") && err.contains("line 5: `database.in_memory`"), "{err}");

    // The same file without the variable set is bad input naming it.
    let (code, _, err) = run(openevolve().args(["config", "check"]).arg(&file));
    assert_eq!(code, 2);
    assert!(err.contains("`OE_CLI_TEST_KEY` is not set"), "{err}");
}

#[test]
fn config_check_of_a_missing_file_exits_2() {
    let (code, _, err) = run(openevolve().args(["config", "check", "no/such/config.yaml"]));
    assert_eq!(code, 2);
    assert!(err.contains("no/such/config.yaml"), "{err}");
}

#[test]
fn run_refuses_bad_inputs_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (initial, evaluator) = problem(dir.path(), "fn main() {}\n");
    let out = dir.path().join("out");
    let base = || {
        let mut c = openevolve();
        c.arg("run").arg(&initial).arg(&evaluator).arg("--output").arg(&out);
        c
    };
    let (code, _, err) = run(&mut base());
    assert_eq!(code, 2);
    assert!(err.contains("no EVOLVE-BLOCK region"), "{err}");

    std::fs::write(&initial, GOOD_INITIAL).unwrap();
    // An endpoint without a model (with neither, the run uses the local model).
    let (code, _, err) = run(base().args(["--api-base", "http://127.0.0.1:9/v1"]));
    assert_eq!(code, 2);
    assert!(err.contains("no LLM model configured") && err.contains("--api-base"), "{err}");

    let (code, _, err) = run(base().args(["--model", "gpt-4o-mini"]));
    assert_eq!(code, 2);
    assert!(err.contains("needs an API key") && err.contains("OPENAI_API_KEY"), "{err}");

    let (code, _, err) = run(base().args(["--log-level", "LOUD"]));
    assert_eq!(code, 2);
    assert!(err.contains("--log-level"), "{err}");

    let (code, _, err) = run(openevolve().arg("run").arg(&initial).arg(dir.path().join("missing.rs")));
    assert_eq!(code, 2);
    assert!(err.contains("missing.rs"), "{err}");
    assert!(!out.exists(), "nothing is created for a run that cannot start");
}

#[test]
fn an_evaluator_that_does_not_build_fails_the_run_with_its_errors_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (initial, evaluator) = problem(dir.path(), GOOD_INITIAL);
    std::fs::write(&evaluator, "fn evaluate( {\n").unwrap();
    let out = dir.path().join("out");
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("openevolve-cli-cache");
    let (code, _, err) = run(openevolve()
        .arg("run")
        .arg(&initial)
        .arg(&evaluator)
        .arg("--output")
        .arg(&out)
        .arg("--cache-dir")
        .arg(&cache)
        .args(["--model", "local", "--api-base", "http://127.0.0.1:9/v1"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot prepare the evaluator"), "{err}");
    let log = std::fs::read_to_string(out.join("logs/openevolve.log")).expect("log file written");
    assert!(log.contains("run directory ready"), "{log}");
}

#[test]
fn a_run_directory_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let (initial, evaluator) = problem(dir.path(), GOOD_INITIAL);
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("evolution.db"), "").unwrap();
    let (code, _, err) = run(openevolve()
        .arg("run")
        .arg(&initial)
        .arg(&evaluator)
        .arg("--output")
        .arg(&out)
        .args(["--model", "local", "--api-base", "http://127.0.0.1:9/v1"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already holds a run") && err.contains("--checkpoint"), "{err}");

    let (code, _, err) = run(openevolve()
        .arg("run")
        .arg(&initial)
        .arg(&evaluator)
        .arg("--checkpoint")
        .arg(dir.path())
        .args(["--model", "local", "--api-base", "http://127.0.0.1:9/v1"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("neither a checkpoint"), "{err}");
}

#[test]
fn config_migrate_comments_out_what_would_be_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openevolve.yaml");
    std::fs::write(
        &file,
        "max_iterations: 3\nalgotune:\n  num_trials: 5\ndatabase:\n  in_memory: true\n  num_islands: 2\n",
    )
    .unwrap();
    let (code, out, err) = run(openevolve().args(["config", "migrate"]).arg(&file));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 keys commented out (algotune, database.in_memory)"), "{err}");
    assert!(
        out.contains("# algotune:\n#   num_trials: 5\n")
            && out.contains("  # in_memory: true\n  num_islands: 2"),
        "{out}"
    );
    // The migrated file checks without a warning.
    let migrated = dir.path().join("migrated.yaml");
    std::fs::write(&migrated, &out).unwrap();
    let (code, _, err) = run(openevolve().args(["config", "check"]).arg(&migrated));
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
}
