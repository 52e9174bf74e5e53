//! The client and ensembles against an HTTP server on 127.0.0.1.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use openevolve_llm::{
    AnswerFrame, ApiKey, ChatMessage, ChatModel, ChatRequest, LlmConfig, LlmError, Llms, ModelConfig,
    OpenAiCompatibleModel,
};
use serde_json::json;
use support::{MockServer, Reply};

const KEY: &str = "sk-test-0123456789-never-print-me";

fn model(name: &str, weight: f64) -> ModelConfig {
    ModelConfig { name: Some(name.into()), weight, ..Default::default() }
}

/// One model, no retries, a short timeout: tests opt into more.
fn config(api_base: &str, models: Vec<ModelConfig>) -> LlmConfig {
    LlmConfig {
        api_base: api_base.into(),
        api_key: Some(KEY.into()),
        models,
        retries: 0,
        retry_delay: 0.01,
        timeout: 5.0,
        ..Default::default()
    }
}

fn llms(config: &LlmConfig) -> Llms {
    Llms::from_config_with_default_key(config, 7, None).expect("valid config")
}

fn prompt() -> Vec<ChatMessage> {
    vec![ChatMessage::user("Improve this function.")]
}

#[tokio::test]
async fn success_returns_text_usage_and_cost() {
    let server = MockServer::start(|_, _| async { Reply::completion("fn better() {}", 1000, 500) }).await;
    let mut config = config(&format!("{}/", server.api_base), vec![model("gpt-4o-mini", 1.0)]);
    config.system_message = Some("You evolve programs.".into());
    config.input_cost_per_million_tokens = Some(2.0);
    config.output_cost_per_million_tokens = Some(8.0);
    let llms = llms(&config);

    let done = llms.models.complete(&prompt(), 3).await.unwrap();
    assert_eq!(done.text, "fn better() {}");
    assert_eq!(done.model, "gpt-4o-mini");
    assert_eq!((done.usage.prompt_tokens, done.usage.completion_tokens), (1000, 500));
    assert!((done.cost_usd.unwrap() - 0.006).abs() < 1e-12); // 1000×2e-6 + 500×8e-6
    assert_eq!(done.attempts, 1);

    let sent = &server.requests()[0];
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("POST", "/v1/chat/completions"));
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(sent.body["model"], "gpt-4o-mini");
    assert_eq!(sent.body["temperature"], 0.7);
    assert_eq!(sent.body["max_tokens"], 4096);
    assert_eq!(sent.body["seed"], done.seed);
    assert_eq!(
        sent.body["messages"],
        json!([{"role": "system", "content": "You evolve programs."}, {"role": "user", "content": "Improve this function."}])
    );

    let usage = llms.usage();
    assert_eq!(usage.total.completions, 1);
    assert_eq!(usage.models["gpt-4o-mini"].completion_tokens, 500);
    assert!((usage.total.cost_usd - 0.006).abs() < 1e-12);
}

#[tokio::test]
async fn weighted_choice_over_many_calls_with_fresh_seeds() {
    let server =
        MockServer::start(|r, _| async move { Reply::completion(&format!("from {}", r.model()), 10, 10) })
            .await;
    let config = config(&server.api_base, vec![model("heavy", 3.0), model("light", 1.0), model("off", 0.0)]);
    let llms = llms(&config);
    let mut chosen = Vec::new();
    for iteration in 0..400 {
        let done = llms.models.complete(&prompt(), iteration).await.unwrap();
        assert_eq!(done.text, format!("from {}", done.model));
        chosen.push(done.model);
    }
    let counts = chosen.iter().fold(HashMap::new(), |mut c, m| {
        *c.entry(m.as_str()).or_insert(0) += 1;
        c
    });
    let heavy = counts.get("heavy").copied().unwrap_or(0);
    assert!((255..=345).contains(&heavy), "3:1 weights gave {counts:?}");
    assert!(!counts.contains_key("off"), "a zero weight was chosen: {counts:?}");

    let seeds: HashSet<u64> = server.requests().iter().map(|r| r.body["seed"].as_u64().unwrap()).collect();
    assert_eq!(seeds.len(), 400, "every request needs its own seed");

    // Same run seed, same iterations: same choices.
    let again = self::llms(&config);
    for (iteration, model) in chosen.iter().enumerate().take(40) {
        assert_eq!(&again.models.complete(&prompt(), iteration as u64).await.unwrap().model, model);
    }
    // A second call in the same iteration gets a different seed.
    let (first, second) = (
        again.models.complete(&prompt(), 1000).await.unwrap(),
        again.models.complete(&prompt(), 1000).await.unwrap(),
    );
    assert_ne!(first.seed, second.seed);
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after() {
    let server = MockServer::start(|_, index| async move {
        if index == 0 {
            Reply::error(429, "slow down").with_header("retry-after", "1")
        } else {
            Reply::completion("ok", 1, 1)
        }
    })
    .await;
    let mut config = config(&server.api_base, vec![model("m", 1.0)]);
    config.retries = 2;
    let llms = llms(&config);
    let done = llms.models.complete(&prompt(), 0).await.unwrap();
    assert_eq!((done.text.as_str(), done.attempts), ("ok", 2));
    let requests = server.requests();
    let waited = requests[1].received - requests[0].received;
    assert!(waited >= Duration::from_secs(1), "retried after {waited:?}, before Retry-After");
    let usage = &llms.usage().models["m"];
    assert_eq!((usage.requests, usage.failed_requests, usage.completions), (2, 1, 1));
}

#[tokio::test]
async fn server_error_then_success() {
    let server = MockServer::start(|_, index| async move {
        if index == 0 { Reply::error(500, "internal") } else { Reply::completion("recovered", 1, 1) }
    })
    .await;
    let mut config = config(&server.api_base, vec![model("m", 1.0)]);
    config.retries = 3;
    let done = llms(&config).models.complete(&prompt(), 0).await.unwrap();
    assert_eq!((done.text.as_str(), done.attempts), ("recovered", 2));
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn persistent_server_errors_exhaust_the_retries() {
    let server = MockServer::start(|_, _| async { Reply::error(503, "overloaded") }).await;
    let mut config = config(&server.api_base, vec![model("m", 1.0)]);
    config.retries = 2;
    let error = llms(&config).models.complete(&prompt(), 0).await.unwrap_err();
    match &error {
        LlmError::RetriesExhausted { attempts: 3, last, .. } => {
            assert!(matches!(**last, LlmError::Unavailable { status: 503, .. }), "{last:?}")
        }
        other => panic!("expected exhausted retries, got {other:?}"),
    }
    assert!(!error.stops_run());
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockServer::start(|_, _| async { Reply::error(404, "no such model") }).await;
    let mut config = config(&server.api_base, vec![model("m", 1.0)]);
    config.retries = 3;
    let error = llms(&config).models.complete(&prompt(), 0).await.unwrap_err();
    assert!(
        matches!(&error, LlmError::Rejected { status: 404, message, .. } if message == "no such model"),
        "{error:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn hanging_server_hits_the_timeout() {
    let server = MockServer::start(|_, _| async { Reply::Hang }).await;
    let mut config = config(&server.api_base, vec![model("m", 1.0)]);
    config.timeout = 0.3;
    let started = Instant::now();
    let error = llms(&config).models.complete(&prompt(), 0).await.unwrap_err();
    assert!(matches!(error, LlmError::Timeout { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());

    // Timeouts are transient: with one retry the server sees two requests.
    config.retries = 1;
    let error = llms(&config).models.complete(&prompt(), 0).await.unwrap_err();
    assert!(
        matches!(&error, LlmError::RetriesExhausted { attempts: 2, last, .. } if matches!(**last, LlmError::Timeout { .. }))
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn refused_connection_is_a_connection_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = config(&format!("http://127.0.0.1:{port}/v1"), vec![model("m", 1.0)]);
    let error = llms(&config).models.complete(&prompt(), 0).await.unwrap_err();
    assert!(matches!(error, LlmError::Connection { .. }), "{error:?}");
}

#[tokio::test]
async fn malformed_json_is_reported_and_not_retried() {
    let server =
        MockServer::start(|_, _| async { Reply::raw(200, "{\"choices\": [ this is not json") }).await;
    let mut config = config(&server.api_base, vec![model("m", 1.0)]);
    config.retries = 3;
    let error = llms(&config).models.complete(&prompt(), 0).await.unwrap_err();
    assert!(
        matches!(&error, LlmError::MalformedResponse { reason, .. } if reason.contains("this is not json")),
        "{error:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn empty_choice_list_is_an_error() {
    let server =
        MockServer::start(|_, _| async { Reply::json(200, json!({"choices": [], "usage": null})) }).await;
    let error = llms(&config(&server.api_base, vec![model("m", 1.0)]))
        .models
        .complete(&prompt(), 0)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, LlmError::EmptyResponse { reason, .. } if reason.contains("choices")),
        "{error:?}"
    );
}

#[tokio::test]
async fn reasoning_models_get_max_completion_tokens_and_no_temperature() {
    let server = MockServer::start(|_, _| async { Reply::completion("ok", 1, 1) }).await;
    let mut config = config(&server.api_base, vec![model("o3-mini", 1.0)]);
    config.reasoning_effort = Some("high".into());
    llms(&config).models.complete(&prompt(), 0).await.unwrap();
    let body = &server.requests()[0].body;
    assert_eq!(body["max_completion_tokens"], 4096);
    assert_eq!(body["reasoning_effort"], "high");
    assert!(body.get("max_tokens").is_none() && body.get("temperature").is_none(), "{body}");

    // Nor a temperature the caller sets for one request.
    llms(&config).models.complete_with("o3-mini", &prompt(), None, Some(0.2), 1).await.unwrap();
    let body = &server.requests()[1].body;
    assert!(body.get("temperature").is_none(), "{body}");
}

#[tokio::test]
async fn a_request_temperature_replaces_the_models_for_that_request_only() {
    let server = MockServer::start(|_, _| async { Reply::completion("ok", 1, 1) }).await;
    let config = config(&server.api_base, vec![model("coder", 1.0)]);
    let llms = llms(&config);
    llms.models.complete_with("coder", &prompt(), None, Some(0.2), 0).await.unwrap();
    llms.models.complete_with("coder", &prompt(), None, None, 0).await.unwrap();
    let sent: Vec<serde_json::Value> =
        server.requests().iter().map(|r| r.body["temperature"].clone()).collect();
    assert_eq!(sent, [json!(0.2), json!(0.7)]);
}

#[tokio::test]
async fn unsupported_parameter_is_dropped_once_and_remembered() {
    // Like OpenAI's answer when a model accepts only the default temperature.
    let server = MockServer::start(|r, _| async move {
        if r.body.get("temperature").is_some() {
            Reply::json(400, json!({"error": {"message": "Unsupported value: 'temperature' does not support 0.7 with this model.",
                                              "param": "temperature", "code": "unsupported_value"}}))
        } else {
            Reply::completion("ok", 1, 1)
        }
    })
    .await;
    let llms = llms(&config(&server.api_base, vec![model("picky", 1.0)]));
    assert_eq!(llms.models.complete(&prompt(), 0).await.unwrap().text, "ok");
    assert_eq!(llms.models.complete(&prompt(), 1).await.unwrap().text, "ok");
    let with_temperature: Vec<bool> =
        server.requests().iter().map(|r| r.body.get("temperature").is_some()).collect();
    assert_eq!(with_temperature, [true, false, false]);
}

#[tokio::test]
async fn concurrent_requests_are_capped() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    // Requests are held in pairs, so a cap of 2 is reached; were the cap
    // ignored, all six would be in flight together.
    let pair = Arc::new(tokio::sync::Barrier::new(2));
    let (now, peak) = (Arc::clone(&in_flight), Arc::clone(&most));
    let server = MockServer::start(move |_, _| {
        let (now, peak, pair) = (Arc::clone(&now), Arc::clone(&peak), Arc::clone(&pair));
        async move {
            peak.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            pair.wait().await;
            now.fetch_sub(1, Ordering::SeqCst);
            Reply::completion("ok", 1, 1)
        }
    })
    .await;
    let mut config = config(&server.api_base, vec![model("m", 1.0)]);
    config.max_concurrent_requests = 2;
    let llms = Arc::new(llms(&config));
    let mut calls = tokio::task::JoinSet::new();
    for iteration in 0..6 {
        let llms = Arc::clone(&llms);
        calls.spawn(async move { llms.models.complete(&prompt(), iteration).await });
    }
    while let Some(result) = calls.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(most.load(Ordering::SeqCst), 2);
    assert_eq!(server.requests().len(), 6);
}

#[tokio::test]
async fn budget_stops_the_run_before_sending_more() {
    let server = MockServer::start(|_, _| async { Reply::completion("ok", 100_000, 50_000) }).await;
    let mut config = config(&server.api_base, vec![model("m", 1.0)]);
    config.input_cost_per_million_tokens = Some(1.0);
    config.output_cost_per_million_tokens = Some(4.0);
    config.max_tokens = 1000;
    config.run_budget_usd = Some(0.25);
    let llms = llms(&config);
    // 0.1 + 0.2 = $0.30 spent on the first call.
    assert!((llms.models.complete(&prompt(), 0).await.unwrap().cost_usd.unwrap() - 0.3).abs() < 1e-9);
    let error = llms.evaluator_models.complete(&prompt(), 1).await.unwrap_err();
    assert!(error.stops_run(), "{error:?}");
    assert!(matches!(error, LlmError::BudgetExhausted { budget_usd: 0.25, .. }));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn evaluator_models_and_the_default_key() {
    let server = MockServer::start(|r, _| async move { Reply::completion(r.model(), 1, 1) }).await;
    let mut config = config(&server.api_base, vec![model("writer", 1.0)]);
    config.api_key = None;
    config.evaluator_models = vec![model("judge", 1.0)];
    let fallback = ApiKey::new("sk-from-environment");
    let llms = Llms::from_config_with_default_key(&config, 1, fallback).unwrap();
    assert_eq!(llms.models.complete(&prompt(), 0).await.unwrap().text, "writer");
    assert_eq!(llms.evaluator_models.complete(&prompt(), 0).await.unwrap().text, "judge");
    assert!(
        server.requests().iter().all(|r| r.header("authorization") == Some("Bearer sk-from-environment"))
    );

    // No key anywhere (a local server): no Authorization header at all.
    let llms = Llms::from_config_with_default_key(&config, 1, None).unwrap();
    llms.models.complete(&prompt(), 0).await.unwrap();
    assert_eq!(server.requests().last().unwrap().header("authorization"), None);
}

#[tokio::test]
async fn https_endpoints_use_rustls() {
    // A plain-text answer to the TLS handshake: the client must build its TLS
    // setup (ring provider, system roots) and fail the handshake cleanly.
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}/v1", listener.local_addr().unwrap());
    let plain = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await.unwrap();
    });
    let error = llms(&config(&base, vec![model("m", 1.0)])).models.complete(&prompt(), 0).await.unwrap_err();
    // Without TLS the client would have read the 400 and reported `Rejected`.
    assert!(matches!(&error, LlmError::Connection { .. }), "{error:?}");
    plain.await.unwrap();
}

/// A frame for a one-region answer, as the engine makes it.
fn region_frame() -> AnswerFrame {
    AnswerFrame {
        opening: "```rust\n// EVOLVE-BLOCK-START\n".into(),
        stop: vec!["// EVOLVE-BLOCK-END".into(), "```".into()],
        closing: "// EVOLVE-BLOCK-END\n```\n".into(),
    }
}

#[tokio::test]
async fn a_framed_request_starts_the_answer_where_the_server_continues_answers() {
    // Like llama.cpp: the reply is the continuation, without the stop text;
    // some versions echo the started answer first (max_tokens 9 here).
    let server = MockServer::start(|r, _| async move {
        let finish = if r.body["max_tokens"] == 8 { "length" } else { "stop" };
        let echo = if r.body["max_tokens"] == 9 { "```rust\n// EVOLVE-BLOCK-START\n" } else { "" };
        let content = format!("{echo}fn f() {{}}\n");
        let mut reply = json!({"choices": [{"message": {"role": "assistant", "content": content},
                                             "finish_reason": finish}]});
        reply["usage"] = json!({"prompt_tokens": 5, "completion_tokens": 4});
        Reply::json(200, reply)
    })
    .await;
    let settings = ModelConfig {
        name: Some("local".into()),
        api_base: Some(server.api_base.clone()),
        max_tokens: Some(100),
        ..Default::default()
    };
    let http = openevolve_llm::http_client(false).unwrap();
    let request =
        ChatRequest { messages: prompt(), seed: Some(1), frame: Some(region_frame()), temperature: None };

    let continuing = OpenAiCompatibleModel::new(http.clone(), &settings, None).unwrap().continuing_answers();
    let answer = continuing.complete(&request).await.unwrap();
    assert_eq!(answer.text, "```rust\n// EVOLVE-BLOCK-START\nfn f() {}\n// EVOLVE-BLOCK-END\n```\n");
    let sent = &server.requests()[0].body;
    let last = &sent["messages"][1];
    assert_eq!(
        (last["role"].as_str(), last["content"].as_str()),
        (Some("assistant"), Some("```rust\n// EVOLVE-BLOCK-START\n"))
    );
    assert_eq!(sent["stop"], json!(["// EVOLVE-BLOCK-END", "```"]));

    // Cut off by max_tokens: the opening, but no closing that would pass a
    // cut answer off as a whole one.
    let short = ModelConfig { max_tokens: Some(8), ..settings.clone() };
    let cut = OpenAiCompatibleModel::new(http.clone(), &short, None).unwrap().continuing_answers();
    assert_eq!(cut.complete(&request).await.unwrap().text, "```rust\n// EVOLVE-BLOCK-START\nfn f() {}\n");
    // A server that echoes the started answer: the opening is not doubled.
    let echoing = ModelConfig { max_tokens: Some(9), ..settings.clone() };
    let echoing = OpenAiCompatibleModel::new(http.clone(), &echoing, None).unwrap().continuing_answers();
    assert_eq!(echoing.complete(&request).await.unwrap().text, answer.text);

    // A server that does not continue answers gets the request as it is.
    let plain = OpenAiCompatibleModel::new(http, &settings, None).unwrap();
    assert_eq!(plain.complete(&request).await.unwrap().text, "fn f() {}\n");
    let sent = &server.requests()[3].body;
    assert_eq!(sent["messages"].as_array().map(Vec::len), Some(1), "{sent}");
    assert!(sent.get("stop").is_none(), "{sent}");
}
