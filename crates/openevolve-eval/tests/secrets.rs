//! The API key in the host's environment reaches neither the candidate's
//! build (`option_env!`) nor its run (`std::env::var`). Its own binary: it
//! sets a process-wide variable.

mod common;

use common::{candidate, config, host};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidates_never_see_the_api_key() {
    let secret = "sk-test-must-not-leak-0123456789";
    // SAFETY: set before this binary starts any other thread that reads the
    // environment (this is its only test, and the runtime is idle here).
    unsafe { std::env::set_var("OPENAI_API_KEY", secret) };
    let e = host("basic", config()).await.evaluate_source(&candidate("read_secret")).await;
    assert!(e.is_ok(), "{e:#?}");
    assert_eq!(e.metrics["combined_score"], 1.0, "{e:#?}");
    assert!(e.artifacts["stdout"].contains("run time: None, build time: None"), "{e:#?}");
    assert!(!format!("{e:?}").contains(secret));
}
