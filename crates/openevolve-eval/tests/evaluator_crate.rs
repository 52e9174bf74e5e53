//! An evaluator given as a crate folder: its modules and its own
//! dependencies (here a path dependency, given relative to the crate) are
//! built into the same dependency set as the candidates', and edits to that
//! local crate are picked up.

use std::path::Path;

use openevolve_eval::{EvaluatorConfig, EvaluatorHost, PrepareError, ProblemFiles};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const CANDIDATE: &str = "// EVOLVE-BLOCK-START\npub fn run() -> f64 { 0.25 }\n// EVOLVE-BLOCK-END\n\
                         openevolve_sdk::export_candidate! { run: fn() -> f64 }\n";

fn problem(dir: &Path) {
    write(
        &dir.join("scoring/Cargo.toml"),
        "[package]\nname = \"scoring\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write(&dir.join("scoring/src/lib.rs"), "pub fn doubled(x: f64) -> f64 { 2.0 * x }\n");
    write(
        &dir.join("evaluator/Cargo.toml"),
        "[package]\nname = \"my-evaluator\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [dependencies]\nscoring = { path = \"../scoring\" }\n",
    );
    write(
        &dir.join("evaluator/src/main.rs"),
        "mod checks;\n\
         use openevolve_sdk::{Candidate, CandidateError, EvaluationResult};\n\
         fn evaluate(c: &Candidate) -> Result<EvaluationResult, CandidateError> {\n\
             let run = openevolve_sdk::candidate_fn!(c, run: fn() -> f64)?;\n\
             let value = run();\n\
             Ok(EvaluationResult::new()\n\
                 .metric(\"combined_score\", scoring::doubled(value))\n\
                 .metric(\"in_range\", checks::in_range(value)))\n\
         }\n\
         openevolve_sdk::evaluator!(evaluate);\n",
    );
    write(
        &dir.join("evaluator/src/checks.rs"),
        "pub fn in_range(x: f64) -> f64 { if (0.0..=1.0).contains(&x) { 1.0 } else { 0.0 } }\n",
    );
}

fn config() -> EvaluatorConfig {
    EvaluatorConfig { timeout: 30.0, max_retries: 0, cascade_evaluation: false, ..EvaluatorConfig::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evaluator_crate_builds_with_its_modules_and_dependencies() {
    let tmp = tempfile::tempdir().unwrap();
    problem(tmp.path());
    let files = ProblemFiles { evaluator: tmp.path().join("evaluator"), candidate_manifest: None };
    let host = EvaluatorHost::prepare(&files, &config(), &tmp.path().join("cache"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let evaluation = host.evaluate_source(CANDIDATE).await;
    assert!(evaluation.is_ok(), "{evaluation:?}");
    assert_eq!(evaluation.metrics["combined_score"], 0.5, "scored through the path dependency");
    assert_eq!(evaluation.metrics["in_range"], 1.0, "and the crate's own module");

    // An edit to the local crate reaches the next preparation: the cached
    // set is rebuilt by cargo, and the evaluator and candidates with it.
    drop(host);
    write(&tmp.path().join("scoring/src/lib.rs"), "pub fn doubled(x: f64) -> f64 { 2.0 * x + 1.0 }\n");
    let host = EvaluatorHost::prepare(&files, &config(), &tmp.path().join("cache"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let evaluation = host.evaluate_source(CANDIDATE).await;
    assert_eq!(evaluation.metrics["combined_score"], 1.5, "{evaluation:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evaluator_crate_without_main_is_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    problem(tmp.path());
    std::fs::remove_file(tmp.path().join("evaluator/src/main.rs")).unwrap();
    let files = ProblemFiles { evaluator: tmp.path().join("evaluator"), candidate_manifest: None };
    let err =
        EvaluatorHost::prepare(&files, &config(), &tmp.path().join("cache")).await.err().expect("refused");
    assert!(matches!(&err, PrepareError::NoEvaluator(p) if p.ends_with("src/main.rs")), "{err}");
}
