//! The `llm:` section of config.yaml. Keys, meanings and defaults follow
//! OpenEvolve's `LLMConfig`: settings at `llm:` level are shared defaults that
//! each entry of `models` / `evaluator_models` may override.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One model of an ensemble. Unset fields take the `llm:`-level value.
// Debug is written by hand below so that API keys never reach logs.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Model name as the endpoint knows it; for `provider: local`, a name from
    /// `openevolve models list` (a `local/` prefix selects that provider).
    pub name: Option<String>,
    /// How the model is reached: `openai` (any OpenAI-compatible endpoint) or
    /// `local` (a GGUF model on this machine's CPU); unset inherits `llm.provider`.
    pub provider: Option<String>,
    /// For `provider: local`: a GGUF file to run instead of the fetched model
    /// that `name` stands for.
    pub model_path: Option<String>,
    /// Relative chance of this model being chosen for a request.
    pub weight: f64,
    /// Base URL of an OpenAI-compatible API (ending before `/chat/completions`).
    pub api_base: Option<String>,
    /// API key; `${VAR}` reads it from the environment. Never logged.
    pub api_key: Option<String>,
    pub system_message: Option<String>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: Option<u32>,
    /// Seconds before a request is abandoned.
    pub timeout: Option<f64>,
    /// Retries after a failed request.
    pub retries: Option<u32>,
    /// Seconds before the first retry (later retries back off exponentially).
    pub retry_delay: Option<f64>,
    /// Base of the per-request seed; `None` takes the run's seed.
    pub random_seed: Option<u64>,
    /// For reasoning models: `low`, `medium` or `high`.
    pub reasoning_effort: Option<String>,
    /// US dollars per million prompt tokens, for the cost estimate and budget.
    pub input_cost_per_million_tokens: Option<f64>,
    /// US dollars per million completion tokens (reasoning tokens included).
    pub output_cost_per_million_tokens: Option<f64>,
}

/// Settings for the LLMs (`llm:` in config.yaml).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// Models that propose mutations, chosen by weight.
    pub models: Vec<ModelConfig>,
    /// Models that give LLM feedback on programs; empty means `models`.
    pub evaluator_models: Vec<ModelConfig>,
    pub api_base: String,
    /// API key shared by all models; `None` reads `OPENAI_API_KEY`.
    pub api_key: Option<String>,
    pub system_message: Option<String>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: u32,
    pub timeout: f64,
    pub retries: u32,
    pub retry_delay: f64,
    pub random_seed: Option<u64>,
    pub reasoning_effort: Option<String>,
    /// Older spelling of a two-model ensemble, folded into `models`.
    pub primary_model: Option<String>,
    pub primary_model_weight: Option<f64>,
    pub secondary_model: Option<String>,
    pub secondary_model_weight: Option<f64>,
    /// Shared default of each model's price per million prompt tokens (USD).
    pub input_cost_per_million_tokens: Option<f64>,
    /// Shared default of each model's price per million completion tokens (USD).
    pub output_cost_per_million_tokens: Option<f64>,
    /// Estimated spend (USD, all models together) at which the run stops
    /// cleanly; `None` means no limit. Needs prices for every model.
    /// (OpenEvolve's `max_budget_usd` is a per-call Claude Code budget instead.)
    pub run_budget_usd: Option<f64>,
    /// Requests in flight at once across all models of the run.
    pub max_concurrent_requests: usize,
    /// Shared default of each model's provider (`openai` or `local`); unset
    /// means `openai`, or `local` for a model named `local/...`.
    pub provider: Option<String>,
    /// Where local models and their runtime are kept; unset means
    /// `$XDG_CACHE_HOME/openevolve/models` (else `~/.cache/openevolve/models`).
    pub local_model_dir: Option<String>,
    /// CPU threads a local model generates with; unset means every core
    /// (see `local::default_threads`).
    pub local_threads: Option<usize>,
    /// Requests a local model server answers at once (llama.cpp's slots,
    /// which split `local_context`); unset follows `evaluator.parallel_evaluations`
    /// as far as the cores allow (see `local::default_slots`).
    pub local_slots: Option<usize>,
    /// Context window (prompt plus answer, in tokens) of a local model.
    pub local_context: u32,
    /// The Python 3.10+ interpreter that runs the local model server.
    pub local_python: String,
    /// How `models` are chosen: by their weights, or by a bandit that learns
    /// which one improves programs most per token (see `bandit`).
    pub model_selection: ModelSelection,
    /// The bandit's exploration factor (`model_selection: ucb`).
    pub ucb_exploration: f64,
}

/// `llm.model_selection`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelSelection {
    /// Each request draws a model by `weight` (OpenEvolve's way).
    #[default]
    Weights,
    /// An upper confidence bound on improvement per token.
    Ucb,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            models: Vec::new(),
            evaluator_models: Vec::new(),
            api_base: "https://api.openai.com/v1".into(),
            api_key: None,
            system_message: None,
            temperature: Some(0.7),
            top_p: None,
            max_tokens: 4096,
            timeout: 60.0,
            retries: 3,
            retry_delay: 5.0,
            random_seed: None,
            reasoning_effort: None,
            primary_model: None,
            primary_model_weight: None,
            secondary_model: None,
            secondary_model_weight: None,
            input_cost_per_million_tokens: None,
            output_cost_per_million_tokens: None,
            run_budget_usd: None,
            max_concurrent_requests: 4,
            provider: None,
            local_model_dir: None,
            local_threads: None,
            local_slots: None,
            local_context: 8192,
            local_python: "python3".into(),
            model_selection: ModelSelection::Weights,
            ucb_exploration: 1.0,
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            name: None,
            provider: None,
            model_path: None,
            weight: 1.0,
            api_base: None,
            api_key: None,
            system_message: None,
            temperature: None,
            top_p: None,
            max_tokens: None,
            timeout: None,
            retries: None,
            retry_delay: None,
            random_seed: None,
            reasoning_effort: None,
            input_cost_per_million_tokens: None,
            output_cost_per_million_tokens: None,
        }
    }
}

/// A value `validate` refuses: the key (relative to `llm:`) and what would be valid.
pub type InvalidValue = (String, String);

impl LlmConfig {
    /// Folds the legacy `primary_model`/`secondary_model` keys into `models`,
    /// copies `models` to an empty `evaluator_models`, and fills every model's
    /// unset fields from the `llm:` level, as OpenEvolve does.
    pub fn resolve_models(&mut self) {
        if let Some(name) = self.primary_model.take() {
            let weight = self.primary_model_weight.take().unwrap_or(1.0);
            self.models.push(ModelConfig { name: Some(name), weight, ..Default::default() });
        }
        if let Some(name) = self.secondary_model.take() {
            let weight = self.secondary_model_weight.take().unwrap_or(0.2);
            if weight > 0.0 {
                self.models.push(ModelConfig { name: Some(name), weight, ..Default::default() });
            }
        }
        self.primary_model_weight = None;
        self.secondary_model_weight = None;
        if self.evaluator_models.is_empty() {
            self.evaluator_models = self.models.clone();
        }
        let shared = self.clone();
        for model in self.models.iter_mut().chain(self.evaluator_models.iter_mut()) {
            model.inherit(&shared);
        }
    }
}

impl ModelConfig {
    fn inherit(&mut self, shared: &LlmConfig) {
        fn fill<T: Clone>(slot: &mut Option<T>, shared: Option<T>) {
            if slot.is_none() {
                *slot = shared;
            }
        }
        fill(&mut self.provider, shared.provider.clone());
        if self.provider.is_none() && self.name.as_deref().is_some_and(|n| n.starts_with(LOCAL_PREFIX)) {
            self.provider = Some(PROVIDER_LOCAL.into());
        }
        fill(&mut self.api_base, Some(shared.api_base.clone()));
        fill(&mut self.api_key, shared.api_key.clone());
        fill(&mut self.system_message, shared.system_message.clone());
        fill(&mut self.temperature, shared.temperature);
        fill(&mut self.top_p, shared.top_p);
        // A local model gets short answers and time to give them, unless it
        // sets its own.
        let (max_tokens, timeout) = match self.is_local() {
            true => (shared.max_tokens.min(LOCAL_MAX_TOKENS), shared.timeout.max(LOCAL_MIN_TIMEOUT_S)),
            false => (shared.max_tokens, shared.timeout),
        };
        fill(&mut self.max_tokens, Some(max_tokens));
        fill(&mut self.timeout, Some(timeout));
        fill(&mut self.retries, Some(shared.retries));
        fill(&mut self.retry_delay, Some(shared.retry_delay));
        fill(&mut self.random_seed, shared.random_seed);
        fill(&mut self.reasoning_effort, shared.reasoning_effort.clone());
        fill(&mut self.input_cost_per_million_tokens, shared.input_cost_per_million_tokens);
        fill(&mut self.output_cost_per_million_tokens, shared.output_cost_per_million_tokens);
    }
}

/// The provider of OpenAI-compatible endpoints, the default.
pub const PROVIDER_OPENAI: &str = "openai";
/// The provider that runs a GGUF model on this machine.
pub const PROVIDER_LOCAL: &str = "local";
/// A model name with this prefix is local unless a provider is given.
pub const LOCAL_PREFIX: &str = "local/";
/// Most tokens in an answer of a local model that sets no `max_tokens` of
/// its own: a CPU writes 10 to 60 tokens/s, and small models do better
/// with short answers.
pub const LOCAL_MAX_TOKENS: u32 = 1024;
/// Least `timeout` of a local model that sets none of its own: it reads a
/// long prompt before it writes.
pub const LOCAL_MIN_TIMEOUT_S: f64 = 600.0;

impl ModelConfig {
    /// Whether this model runs locally: `provider: local`, or no provider and
    /// a name starting with `local/`. Exact for resolved models.
    pub fn is_local(&self) -> bool {
        match self.provider.as_deref() {
            Some(p) => p == PROVIDER_LOCAL,
            None => self.name.as_deref().is_some_and(|n| n.starts_with(LOCAL_PREFIX)),
        }
    }
}

/// Stands in for an API key in Debug output.
fn redacted(key: &Option<String>) -> Option<&'static str> {
    key.as_ref().map(|_| "<redacted>")
}

impl fmt::Debug for ModelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelConfig")
            .field("name", &self.name)
            .field("provider", &self.provider)
            .field("model_path", &self.model_path)
            .field("weight", &self.weight)
            .field("api_base", &self.api_base)
            .field("api_key", &redacted(&self.api_key))
            .field("system_message", &self.system_message)
            .field("temperature", &self.temperature)
            .field("top_p", &self.top_p)
            .field("max_tokens", &self.max_tokens)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("retry_delay", &self.retry_delay)
            .field("random_seed", &self.random_seed)
            .field("reasoning_effort", &self.reasoning_effort)
            .field("input_cost_per_million_tokens", &self.input_cost_per_million_tokens)
            .field("output_cost_per_million_tokens", &self.output_cost_per_million_tokens)
            .finish()
    }
}

impl fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmConfig")
            .field("models", &self.models)
            .field("evaluator_models", &self.evaluator_models)
            .field("api_base", &self.api_base)
            .field("api_key", &redacted(&self.api_key))
            .field("system_message", &self.system_message)
            .field("temperature", &self.temperature)
            .field("top_p", &self.top_p)
            .field("max_tokens", &self.max_tokens)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("retry_delay", &self.retry_delay)
            .field("random_seed", &self.random_seed)
            .field("reasoning_effort", &self.reasoning_effort)
            .field("primary_model", &self.primary_model)
            .field("primary_model_weight", &self.primary_model_weight)
            .field("secondary_model", &self.secondary_model)
            .field("secondary_model_weight", &self.secondary_model_weight)
            .field("input_cost_per_million_tokens", &self.input_cost_per_million_tokens)
            .field("output_cost_per_million_tokens", &self.output_cost_per_million_tokens)
            .field("run_budget_usd", &self.run_budget_usd)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("provider", &self.provider)
            .field("local_model_dir", &self.local_model_dir)
            .field("local_threads", &self.local_threads)
            .field("local_context", &self.local_context)
            .field("local_python", &self.local_python)
            .finish()
    }
}

mod validate;

#[cfg(test)]
mod tests;
