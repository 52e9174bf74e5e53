//! The API key in the host's environment reaches neither the candidate's
//! build (`option_env!`) nor its run (`std::env::var`), while what
//! `evaluator.env` names does; names that look like secrets are refused
//! there. Its own binary: it sets a process-wide variable.

mod common;

use std::collections::BTreeMap;

use common::{candidate, config, host};
use openevolve_eval::EvaluatorConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidates_never_see_the_api_key() {
    let secret = "sk-test-must-not-leak-0123456789";
    // SAFETY: set before this binary starts any other thread that reads the
    // environment (this is its only test, and the runtime is idle here).
    unsafe { std::env::set_var("OPENAI_API_KEY", secret) };
    let env = BTreeMap::from([("PROBLEM_DATA_DIR".to_string(), "/data/for/the/problem".to_string())]);
    let with_env = EvaluatorConfig { env, ..config() };
    assert!(with_env.validate().is_empty());
    let e = host("basic", with_env).await.evaluate_source(&candidate("read_secret")).await;
    assert!(e.is_ok(), "{e:#?}");
    assert_eq!(e.metrics["combined_score"], 1.0, "{e:#?}");
    assert!(e.artifacts["stdout"].contains("run time: None, build time: None"), "{e:#?}");
    assert!(e.artifacts["stdout"].contains("PROBLEM_DATA_DIR=Some(\"/data/for/the/problem\")"), "{e:#?}");
    assert!(!format!("{e:?}").contains(secret));

    let leaky = BTreeMap::from([("OPENAI_API_KEY".to_string(), secret.to_string())]);
    let problems = EvaluatorConfig { env: leaky, ..config() }.validate();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, "env.OPENAI_API_KEY");
    assert!(problems[0].1.contains("looks like a secret"), "{problems:?}");
}
