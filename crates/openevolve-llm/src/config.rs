//! The `llm:` section of config.yaml. Keys, meanings and defaults follow
//! OpenEvolve's `LLMConfig`: settings at `llm:` level are shared defaults that
//! each entry of `models` / `evaluator_models` may override.

use serde::{Deserialize, Serialize};

/// One model of an ensemble. Unset fields take the `llm:`-level value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Model name as the endpoint knows it.
    pub name: Option<String>,
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
}

/// Settings for the LLMs (`llm:` in config.yaml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            name: None,
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
        }
    }
}

/// A problem with a value: the key (relative to `llm:`) and what would be valid.
pub type Problem = (String, String);

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

    /// Checks ranges that types alone cannot express.
    pub fn validate(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        check_sampling(&mut problems, "", self.temperature, self.top_p);
        if self.timeout <= 0.0 {
            problems.push(("timeout".into(), format!("must be a positive number of seconds, got {}", self.timeout)));
        }
        if self.retry_delay < 0.0 {
            problems.push(("retry_delay".into(), format!("must be 0 or more seconds, got {}", self.retry_delay)));
        }
        if self.max_tokens == 0 {
            problems.push(("max_tokens".into(), "must be at least 1, got 0".into()));
        }
        check_effort(&mut problems, "", &self.reasoning_effort);
        for (list, models) in [("models", &self.models), ("evaluator_models", &self.evaluator_models)] {
            for (i, m) in models.iter().enumerate() {
                let at = format!("{list}[{i}].");
                if m.name.as_deref().is_none_or(str::is_empty) {
                    problems.push((format!("{list}[{i}].name"), "every model needs a name".into()));
                }
                if !(m.weight.is_finite() && m.weight >= 0.0) {
                    problems.push((format!("{at}weight"), format!("must be 0 or more, got {}", m.weight)));
                }
                check_sampling(&mut problems, &at, m.temperature, m.top_p);
                if let Some(t) = m.timeout.filter(|t| *t <= 0.0) {
                    problems.push((format!("{at}timeout"), format!("must be a positive number of seconds, got {t}")));
                }
                if let Some(d) = m.retry_delay.filter(|d| *d < 0.0) {
                    problems.push((format!("{at}retry_delay"), format!("must be 0 or more seconds, got {d}")));
                }
                check_effort(&mut problems, &at, &m.reasoning_effort);
            }
            if !models.is_empty() && models.iter().all(|m| m.weight <= 0.0) {
                problems.push((list.into(), "at least one model needs a weight above 0".into()));
            }
        }
        problems
    }
}

impl ModelConfig {
    fn inherit(&mut self, shared: &LlmConfig) {
        fn fill<T: Clone>(slot: &mut Option<T>, shared: Option<T>) {
            if slot.is_none() {
                *slot = shared;
            }
        }
        fill(&mut self.api_base, Some(shared.api_base.clone()));
        fill(&mut self.api_key, shared.api_key.clone());
        fill(&mut self.system_message, shared.system_message.clone());
        fill(&mut self.temperature, shared.temperature);
        fill(&mut self.top_p, shared.top_p);
        fill(&mut self.max_tokens, Some(shared.max_tokens));
        fill(&mut self.timeout, Some(shared.timeout));
        fill(&mut self.retries, Some(shared.retries));
        fill(&mut self.retry_delay, Some(shared.retry_delay));
        fill(&mut self.random_seed, shared.random_seed);
        fill(&mut self.reasoning_effort, shared.reasoning_effort.clone());
    }
}

fn check_sampling(problems: &mut Vec<Problem>, at: &str, temperature: Option<f64>, top_p: Option<f64>) {
    if let Some(t) = temperature.filter(|t| !(0.0..=2.0).contains(t)) {
        problems.push((format!("{at}temperature"), format!("must be between 0 and 2, got {t}")));
    }
    if let Some(p) = top_p.filter(|p| !(*p > 0.0 && *p <= 1.0)) {
        problems.push((format!("{at}top_p"), format!("must be above 0 and at most 1, got {p}")));
    }
}

fn check_effort(problems: &mut Vec<Problem>, at: &str, effort: &Option<String>) {
    const EFFORTS: [&str; 4] = ["minimal", "low", "medium", "high"];
    if let Some(e) = effort.as_deref().filter(|e| !EFFORTS.contains(e)) {
        problems.push((
            format!("{at}reasoning_effort"),
            format!("must be one of {}, got `{e}`", EFFORTS.join(", ")),
        ));
    }
}
