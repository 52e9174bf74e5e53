use super::*;

fn model(name: &str) -> ModelConfig {
    ModelConfig { name: Some(name.into()), ..Default::default() }
}

#[test]
fn prices_are_inherited_unless_overridden() {
    let mut config = LlmConfig {
        models: vec![model("a"), ModelConfig { input_cost_per_million_tokens: Some(9.0), ..model("b") }],
        input_cost_per_million_tokens: Some(1.0),
        output_cost_per_million_tokens: Some(2.0),
        ..Default::default()
    };
    config.resolve_models();
    assert_eq!(config.models[0].input_cost_per_million_tokens, Some(1.0));
    assert_eq!(config.models[1].input_cost_per_million_tokens, Some(9.0));
    assert_eq!(config.models[1].output_cost_per_million_tokens, Some(2.0));
    assert_eq!(config.evaluator_models[1].input_cost_per_million_tokens, Some(9.0));
}

#[test]
fn budget_needs_prices_for_every_model() {
    let mut config = LlmConfig {
        models: vec![model("a"), ModelConfig { output_cost_per_million_tokens: Some(3.0), ..model("b") }],
        input_cost_per_million_tokens: Some(1.0),
        run_budget_usd: Some(5.0),
        ..Default::default()
    };
    config.resolve_models();
    let keys: Vec<String> = config.validate().into_iter().map(|(k, _)| k).collect();
    // `a` lacks an output price; `b` is priced; evaluator_models copied `models`.
    assert_eq!(
        keys,
        ["models[0].output_cost_per_million_tokens", "evaluator_models[0].output_cost_per_million_tokens"]
    );
}

#[test]
fn rejects_bad_budget_prices_and_concurrency() {
    let config = LlmConfig {
        models: vec![ModelConfig { input_cost_per_million_tokens: Some(-1.0), ..model("a") }],
        output_cost_per_million_tokens: Some(f64::NAN),
        run_budget_usd: Some(0.0),
        max_concurrent_requests: 0,
        ..Default::default()
    };
    let keys: Vec<String> = config.validate().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "output_cost_per_million_tokens",
            "run_budget_usd",
            "max_concurrent_requests",
            "models[0].input_cost_per_million_tokens",
        ]
    );
}

#[test]
fn debug_output_hides_api_keys() {
    let config = LlmConfig {
        api_key: Some("sk-shared-secret".into()),
        models: vec![ModelConfig { api_key: Some("sk-model-secret".into()), ..model("a") }],
        ..Default::default()
    };
    let shown = format!("{config:?} {:#?}", config.models[0]);
    assert!(!shown.contains("secret"), "{shown}");
    assert!(shown.contains("<redacted>"));
}

#[test]
fn local_models_by_prefix_or_provider_and_their_checks() {
    let mut config = LlmConfig {
        models: vec![
            model("local/smollm2-135m"),
            ModelConfig { provider: Some("local".into()), ..model("qwen2.5-coder-0.5b") },
            ModelConfig { provider: Some("openai".into()), ..model("local/smollm2-135m") },
            model("gpt-4o-mini"),
        ],
        ..Default::default()
    };
    config.resolve_models();
    let local: Vec<bool> = config.models.iter().map(ModelConfig::is_local).collect();
    assert_eq!(local, [true, true, false, false]);
    assert!(config.validate().is_empty(), "{:?}", config.validate());

    let config = LlmConfig {
        provider: Some("copilot".into()),
        local_threads: Some(0),
        local_context: 100,
        models: vec![
            ModelConfig { provider: Some("local".into()), ..model("no-such-model") },
            ModelConfig { model_path: Some("m.gguf".into()), provider: Some("openai".into()), ..model("b") },
            ModelConfig { model_path: Some("m.gguf".into()), provider: Some("local".into()), ..model("c") },
        ],
        ..Default::default()
    };
    let keys: Vec<String> = config.validate().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        ["provider", "local_threads", "local_context", "models[0].name", "models[1].model_path"]
    );
}

#[test]
fn defaults_list_every_new_key() {
    // The top-level key checker learns valid keys from serialized defaults.
    let llm = serde_json::to_value(LlmConfig::default()).unwrap();
    for key in ["input_cost_per_million_tokens", "output_cost_per_million_tokens", "run_budget_usd"] {
        assert!(llm.get(key).is_some(), "{key}");
    }
    assert_eq!(llm["max_concurrent_requests"], 4);
    let model = serde_json::to_value(ModelConfig::default()).unwrap();
    assert!(model.get("input_cost_per_million_tokens").is_some());
    assert!(model.get("output_cost_per_million_tokens").is_some());
}

#[test]
fn a_local_model_gets_short_answers_and_time_unless_it_sets_its_own() {
    let mut config = LlmConfig {
        max_tokens: 4096,
        timeout: 60.0,
        models: vec![
            model("local/qwen2.5-coder-1.5b"),
            ModelConfig { max_tokens: Some(3000), timeout: Some(30.0), ..model("local/smollm2-135m") },
            model("gpt-4o-mini"),
        ],
        ..Default::default()
    };
    config.resolve_models();
    let limits: Vec<_> = config.models.iter().map(|m| (m.max_tokens, m.timeout)).collect();
    assert_eq!(
        limits,
        [
            (Some(LOCAL_MAX_TOKENS), Some(LOCAL_MIN_TIMEOUT_S)),
            (Some(3000), Some(30.0)),
            (Some(4096), Some(60.0)),
        ]
    );
    // A shared limit tighter than the local cap is kept.
    let mut tight =
        LlmConfig { max_tokens: 256, models: vec![model("local/smollm2-135m")], ..Default::default() };
    tight.resolve_models();
    assert_eq!(tight.models[0].max_tokens, Some(256));
}
