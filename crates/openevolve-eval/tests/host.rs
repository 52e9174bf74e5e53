//! The host's behaviour on well-formed problems: builds, cache, compile
//! errors, ABI refusal, cascades, retries, parallelism, in-process mode.

mod common;

use common::{cache_dir, candidate, compiler, config, host};
use openevolve_eval::{Compiler, DepSet, EvaluatorConfig, FIXED_SOURCE_ARTIFACT, FailureReason, Output};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_candidate_is_scored_and_its_build_cached() {
    let host = host("basic", config()).await;
    let source = candidate("good").replace("10.0", "10.000");
    let first = host.build_candidate(&source).await.unwrap();
    let again = host.build_candidate(&source).await.unwrap();
    assert!(again.cached && again.library == first.library);
    let e = host.evaluate_built(&first).await;
    assert!(e.is_ok(), "{e:#?}");
    assert_eq!(e.metrics["combined_score"], 1.0);
    assert_eq!(e.artifacts["note"], "run returned 1");
    assert_eq!(e.stage_reached, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compile_errors_become_a_trimmed_artifact() {
    let e = host("basic", config()).await.evaluate_source(&candidate("compile_error")).await;
    assert_eq!(e.failure.as_ref().unwrap().reason, FailureReason::BuildFailed);
    let errors = &e.artifacts["build_errors"];
    assert!(errors.contains("error[E0308]: mismatched types"), "{errors}");
    assert!(errors.contains("candidate.rs:2:"), "{errors}");
    assert!(!errors.contains("For more information") && !errors.contains("aborting"), "{errors}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_that_rustc_knows_how_to_fix_comes_back_with_the_fixed_source() {
    let host = host("basic", config()).await;
    let e = host.evaluate_source(&candidate("rustc_can_fix")).await;
    assert_eq!(e.failure.as_ref().unwrap().reason, FailureReason::BuildFailed);
    // The first build sees only the error that hides the others.
    let errors = &e.artifacts["build_errors"];
    assert!(errors.contains("E0425") && !errors.contains("E0384"), "{errors}");
    // All fixed as rustc suggests, over the rounds: the method call and the
    // float module's path (the fix derived where rustc gives none), then
    // `mut` on the binding and `.clone()` where the value moved.
    let fixed = &e.artifacts[FIXED_SOURCE_ARTIFACT];
    assert!(fixed.contains("let mut total = 0.0;") && fixed.contains("let kept = parts.clone();"), "{fixed}");
    assert!(fixed.contains("total * zero.exp() / 10.0 + f64::exp(zero) * rounds * 0.0"), "{fixed}");
    assert!(fixed.contains("for i in 0..3 {\n        if i == 1 {"), "{fixed}");
    assert_eq!(fixed.lines().count(), candidate("rustc_can_fix").lines().count());
    // It was built while being found, so evaluating it is a cache hit.
    let built = host.build_candidate(fixed).await.unwrap();
    assert!(built.cached);
    assert_eq!(host.evaluate_built(&built).await.metrics["combined_score"], 1.0);

    // Errors without a suggested fix give no fixed source.
    let e = host.evaluate_source(&candidate("compile_error")).await;
    assert!(e.artifacts.contains_key("build_errors") && !e.artifacts.contains_key(FIXED_SOURCE_ARTIFACT));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_of_another_type_is_refused() {
    let e = host("basic", config()).await.evaluate_source(&candidate("wrong_type")).await;
    let failure = e.failure.unwrap();
    assert_eq!(failure.reason, FailureReason::CandidateRejected);
    assert!(
        failure.message.contains("`fn() -> f32`") && failure.message.contains("`fn() -> f64`"),
        "{}",
        failure.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_built_against_another_sdk_version_is_refused() {
    let ours = tokio::task::spawn_blocking(compiler).await.unwrap();
    let other = tokio::task::spawn_blocking(move || {
        let deps =
            DepSet::prepare_with_sdk_version(None, &cache_dir(), &ours.toolchain, "0.0.1-other").unwrap();
        Compiler { deps, ..ours }
    })
    .await
    .unwrap();
    let built = other
        .compile(&candidate("good"), "candidate", openevolve_eval::Output::Cdylib, "candidates")
        .await
        .unwrap();
    let e = host("basic", config()).await.evaluate_built(&built).await;
    let failure = e.failure.unwrap();
    assert_eq!(failure.reason, FailureReason::AbiMismatch, "{}", failure.message);
    assert!(
        failure.message.contains("SDK version: candidate has `0.0.1-other`, evaluator has `0.1.0`"),
        "{}",
        failure.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cascade_stops_below_the_threshold_and_records_the_stage() {
    let cfg = EvaluatorConfig { cascade_evaluation: true, cascade_thresholds: vec![0.5, 0.75], ..config() };
    let host = host("cascade", cfg).await;
    assert_eq!(host.stages(), &[1, 2]);
    let weak = host.evaluate_source(&candidate("low_score")).await;
    assert!(weak.is_ok(), "{weak:#?}");
    assert_eq!(weak.stage_reached, Some(1));
    assert!(weak.metrics.contains_key("stage1") && !weak.metrics.contains_key("stage2"));
    let strong = host.evaluate_source(&candidate("good")).await;
    assert_eq!(strong.stage_reached, Some(2));
    assert!(strong.metrics.contains_key("stage2") && !strong.metrics.contains_key("full"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_cascade_evaluate_runs_alone() {
    let e = host("cascade", config()).await.evaluate_source(&candidate("good")).await;
    assert_eq!(e.stage_reached, None);
    assert!(e.metrics.contains_key("full") && !e.metrics.contains_key("stage1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluator_errors_are_retried() {
    let e = host("flaky", EvaluatorConfig { max_retries: 2, ..config() })
        .await
        .evaluate_source(&candidate("good"))
        .await;
    let failure = e.failure.clone().unwrap();
    assert_eq!(failure.reason, FailureReason::EvaluatorError);
    assert!(failure.message.contains("reference data is missing"));
    assert_eq!(e.attempts, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_evaluations_all_complete() {
    let host = host("basic", EvaluatorConfig { parallel_evaluations: 2, ..config() }).await;
    let sources: Vec<String> =
        (0..4).map(|i| candidate("good").replace("10.0", &format!("10.0{i}"))).collect();
    let results = futures_join(&host, &sources).await;
    assert!(results.iter().all(|e| e.is_ok()), "{results:#?}");
}

async fn futures_join(
    host: &openevolve_eval::EvaluatorHost,
    sources: &[String],
) -> Vec<openevolve_eval::Evaluation> {
    let (a, b, c, d) = tokio::join!(
        host.evaluate_source(&sources[0]),
        host.evaluate_source(&sources[1]),
        host.evaluate_source(&sources[2]),
        host.evaluate_source(&sources[3]),
    );
    vec![a, b, c, d]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_new_source_built_by_four_tasks_at_once_builds_for_all() {
    // Two runs sharing a cache (or two tests in one binary) that propose
    // the same code race to build it into the same folder; none may see
    // the other's half-written files. The pid and time make the source new
    // on every run.
    let nonce = format!("10.0{}{}", std::process::id(), std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos());
    let source = candidate("good").replace("10.0", &nonce);
    let compiler = tokio::task::spawn_blocking(compiler).await.unwrap();
    let build = || compiler.compile(&source, "candidate", Output::Cdylib, "candidates");
    let (a, b, c, d) = tokio::join!(build(), build(), build(), build());
    for built in [a, b, c, d] {
        let built = built.unwrap_or_else(|f| panic!("{}", f.diagnostics));
        assert!(built.library.is_file());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_mode_scores_a_trusted_candidate() {
    let host = host("basic", EvaluatorConfig { in_process: true, ..config() }).await;
    let e = host.evaluate_source(&candidate("good")).await;
    assert!(e.is_ok(), "{e:#?}");
    assert_eq!(e.metrics["combined_score"], 1.0);
    let wrong = host.evaluate_source(&candidate("wrong_type")).await;
    assert_eq!(wrong.failure.unwrap().reason, FailureReason::CandidateRejected);
}
