//! A weighted ensemble of models (`llm.models` for mutations,
//! `llm.evaluator_models` for feedback): model choice, per-request seeds,
//! retries, the cap on concurrent requests and usage accounting. The run's
//! two ensembles are built together in `llms.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tracing::{debug, warn};

use crate::bandit::ModelBandit;
use crate::model::{AnswerFrame, ChatMessage, ChatModel, ChatRequest, TokenUsage};
use crate::retry::RetryPolicy;
use crate::seed::{mix, request_seed, unit_interval, weighted_index};
use crate::usage::{CallRecord, Prices, UsageTracker};
use crate::{LlmConfig, LlmError, ModelConfig};

/// Worst-case completion length assumed for the budget when a model sets none.
const ASSUMED_MAX_TOKENS: u32 = 4096;

/// One model of an ensemble and how to use it.
pub struct EnsembleMember {
    pub model: Arc<dyn ChatModel>,
    /// Relative chance of being chosen; 0 never is.
    pub weight: f64,
    pub retry: RetryPolicy,
    pub prices: Prices,
    /// Completion limit, for the worst-case cost reserved against the budget.
    pub max_tokens: Option<u32>,
    /// Base of this model's request seeds (`random_seed`, else the run's).
    pub seed_base: u64,
}

impl EnsembleMember {
    /// A member for `config` (already resolved) reached through `model`.
    pub fn from_config(model: Arc<dyn ChatModel>, config: &ModelConfig, run_seed: u64) -> Self {
        // Unresolved fields fall back to the `llm:` defaults.
        let defaults = LlmConfig::default();
        let delay = config.retry_delay.filter(|d| d.is_finite() && *d >= 0.0).unwrap_or(defaults.retry_delay);
        let retries = config.retries.unwrap_or(defaults.retries);
        Self {
            model,
            weight: config.weight,
            retry: RetryPolicy::new(retries, Duration::from_secs_f64(delay)),
            prices: Prices {
                input_per_million: config.input_cost_per_million_tokens,
                output_per_million: config.output_cost_per_million_tokens,
            },
            max_tokens: config.max_tokens,
            seed_base: config.random_seed.unwrap_or(run_seed),
        }
    }

    /// Upper bound of a call's cost: prompt at one token per 3 characters
    /// (text averages nearer 4), completion at the full `max_tokens`.
    fn worst_case_cost(&self, messages: &[ChatMessage]) -> f64 {
        let chars: usize = messages.iter().map(|m| m.content.chars().count()).sum();
        let usage = TokenUsage {
            prompt_tokens: chars.div_ceil(3) as u64,
            completion_tokens: u64::from(self.max_tokens.unwrap_or(ASSUMED_MAX_TOKENS)),
        };
        self.prices.cost(usage).unwrap_or(0.0)
    }
}

/// What both ensembles of a run share: the request cap and the usage ledger.
pub(crate) struct RunLimits {
    requests: Semaphore,
    usage: Arc<UsageTracker>,
}

impl RunLimits {
    pub(crate) fn new(max_concurrent_requests: usize, usage: Arc<UsageTracker>) -> Self {
        Self { requests: Semaphore::new(max_concurrent_requests.max(1)), usage }
    }
}

/// A model's answer with its accounting.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    /// Name of the model that answered.
    pub model: String,
    pub usage: TokenUsage,
    /// Estimated cost in US dollars; `None` for models without prices.
    pub cost_usd: Option<f64>,
    /// The seed sent with the request.
    pub seed: u64,
    /// HTTP attempts it took (1 without retries).
    pub attempts: u32,
    /// Whether the model's length limit ended the answer (finish reason
    /// `length`): the answer is incomplete.
    pub cut_off: bool,
}

/// Models chosen by weight for each request.
pub struct LlmEnsemble {
    members: Vec<EnsembleMember>,
    run_seed: u64,
    /// Keeps the two ensembles' choices and seeds independent.
    stream: u64,
    limits: Arc<RunLimits>,
    /// Calls made so far per iteration, so that a second call in the same
    /// iteration gets a new seed and a new draw.
    calls_per_iteration: Mutex<HashMap<u64, u64>>,
    /// With `model_selection: ucb`, what chooses the model instead of the
    /// weights.
    bandit: Option<Mutex<ModelBandit>>,
}

impl LlmEnsemble {
    /// The ensemble of `members`; `stream` keeps its choices and seeds apart
    /// from the other ensemble's.
    pub(crate) fn new(
        members: Vec<EnsembleMember>,
        run_seed: u64,
        stream: u64,
        limits: Arc<RunLimits>,
    ) -> Self {
        Self { members, run_seed, stream, limits, calls_per_iteration: Mutex::default(), bandit: None }
    }

    /// Names of the members, in config order.
    pub fn model_names(&self) -> Vec<&str> {
        self.members.iter().map(|m| m.model.name()).collect()
    }

    /// Chooses models with a bandit from now on (`model_selection: ucb`).
    pub fn learn_model_choice(&mut self, exploration: f64) {
        let eligible = self.members.iter().map(|m| m.weight > 0.0).collect();
        self.bandit = Some(Mutex::new(ModelBandit::new(eligible, exploration)));
    }

    /// Whether a bandit chooses the models (`model_selection: ucb`).
    pub fn learns_model_choice(&self) -> bool {
        self.bandit.is_some()
    }

    /// Tells the bandit, if any, what an answer of `model` earned: the
    /// child's fitness gain over its parent, for `tokens` tokens.
    pub fn record_outcome(&self, model: &str, gain: f64, tokens: u64) {
        let Some(bandit) = &self.bandit else { return };
        if let Some(index) = self.members.iter().position(|m| m.model.name() == model) {
            bandit.lock().unwrap_or_else(|e| e.into_inner()).record(index, gain, tokens);
        }
    }

    /// The bandit's state, to save with the run; `None` without one.
    pub fn bandit_state(&self) -> Option<ModelBandit> {
        self.bandit.as_ref().map(|b| b.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// Continues from a saved bandit state (same models, same order).
    pub fn restore_bandit(&self, saved: ModelBandit) {
        if let Some(bandit) = &self.bandit {
            let mut current = bandit.lock().unwrap_or_else(|e| e.into_inner());
            if saved.arms.len() == current.arms.len() {
                current.arms = saved.arms;
            }
        }
    }

    /// Each model's share of the requests the bandit was told about, by
    /// name; `None` without a bandit.
    pub fn learned_shares(&self) -> Option<std::collections::BTreeMap<String, f64>> {
        let state = self.bandit_state()?;
        Some(self.model_names().into_iter().map(String::from).zip(state.shares()).collect())
    }

    /// Asks a model to answer `messages`. By weight, choice and seed are
    /// functions of the run seed, `iteration` and how many calls this
    /// iteration made before, so a run is reproducible whatever the timing.
    /// With the bandit the choice also depends on the outcomes reported so
    /// far, and so on timing when iterations overlap. A failed call counts
    /// for the bandit as an answer that gained nothing.
    pub async fn complete(&self, messages: &[ChatMessage], iteration: u64) -> Result<Completion, LlmError> {
        self.complete_framed(messages, None, iteration).await
    }

    /// [`Self::complete`], with the answer's frame where the caller knows it
    /// (models whose server cannot continue an answer ignore it).
    pub async fn complete_framed(
        &self,
        messages: &[ChatMessage],
        frame: Option<&AnswerFrame>,
        iteration: u64,
    ) -> Result<Completion, LlmError> {
        let call @ (_, draw) = self.next_call(iteration);
        let weights: Vec<f64> = self.members.iter().map(|m| m.weight).collect();
        let chosen = match &self.bandit {
            Some(bandit) => bandit.lock().unwrap_or_else(|e| e.into_inner()).choose(),
            None => weighted_index(&weights, unit_interval(mix(draw, 1))),
        };
        let index = chosen.ok_or_else(|| LlmError::Config("no model has a weight above 0".into()))?;
        self.call(index, messages, frame, None, iteration, call).await
    }

    /// Asks the model named `model` (one of [`Self::model_names`]) to answer
    /// `messages`: a follow-up turn goes to the model that gave the first
    /// answer, at `temperature` where the caller sets one (else the
    /// model's). Seeds follow the same rule as [`Self::complete`]'s.
    pub async fn complete_with(
        &self,
        model: &str,
        messages: &[ChatMessage],
        frame: Option<&AnswerFrame>,
        temperature: Option<f64>,
        iteration: u64,
    ) -> Result<Completion, LlmError> {
        let index = self
            .members
            .iter()
            .position(|m| m.model.name() == model)
            .ok_or_else(|| LlmError::Config(format!("no model of this ensemble is called `{model}`")))?;
        self.call(index, messages, frame, temperature, iteration, self.next_call(iteration)).await
    }

    /// How many calls `iteration` made before this one, and this call's draw.
    fn next_call(&self, iteration: u64) -> (u64, u64) {
        let repeat = {
            let mut calls = self.calls_per_iteration.lock().unwrap_or_else(|e| e.into_inner());
            let count = calls.entry(iteration).or_insert(0);
            *count += 1;
            *count - 1
        };
        (repeat, mix(mix(mix(self.run_seed, self.stream), iteration), repeat))
    }

    async fn call(
        &self,
        index: usize,
        messages: &[ChatMessage],
        frame: Option<&AnswerFrame>,
        temperature: Option<f64>,
        iteration: u64,
        (repeat, draw): (u64, u64),
    ) -> Result<Completion, LlmError> {
        let member = &self.members[index];
        let name = member.model.name();
        let seed = request_seed(member.seed_base, self.stream, iteration, repeat);
        debug!(model = name, iteration, repeat, seed, "model chosen");

        let usage = &self.limits.usage;
        let reservation = usage.reserve(member.worst_case_cost(messages))?;
        let request =
            ChatRequest { messages: messages.to_vec(), seed: Some(seed), frame: frame.cloned(), temperature };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = {
                // The permit covers the request only, not the waits between retries.
                let _permit =
                    self.limits.requests.acquire().await.expect("the request semaphore is never closed");
                member.model.complete(&request).await
            };
            usage.record_request(name, result.is_ok());
            let error = match result {
                Ok(response) => {
                    let (usage, estimated) = match response.usage {
                        Some(usage) => (usage, false),
                        None => (estimate_usage(messages, &response.text), true),
                    };
                    let cost_usd = member.prices.cost(usage);
                    reservation.settle(name, CallRecord { usage, cost_usd, estimated });
                    return Ok(Completion {
                        cut_off: response.finish_reason.as_deref() == Some("length"),
                        text: response.text,
                        model: name.to_string(),
                        usage,
                        cost_usd,
                        seed,
                        attempts: attempt,
                    });
                }
                Err(error) => error,
            };
            let retries_used = attempt - 1;
            let failed = |error: LlmError| {
                if let Some(bandit) = &self.bandit {
                    bandit.lock().unwrap_or_else(|e| e.into_inner()).record(index, 0.0, 0);
                }
                Err(error)
            };
            if !error.is_transient() {
                return failed(error);
            }
            if retries_used >= member.retry.retries {
                // Without retries configured the error itself says it best.
                if attempt == 1 {
                    return failed(error);
                }
                return failed(LlmError::RetriesExhausted {
                    model: name.to_string(),
                    attempts: attempt,
                    last: Box::new(error),
                });
            }
            let delay = member.retry.delay_after(&error, retries_used, mix(draw, 2));
            warn!(model = name, iteration, attempt, delay_ms = delay.as_millis() as u64, %error, "LLM request failed; retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

/// Token counts guessed from text length (about 4 characters a token), for
/// servers that report no usage.
fn estimate_usage(messages: &[ChatMessage], answer: &str) -> TokenUsage {
    let prompt: usize = messages.iter().map(|m| m.content.chars().count()).sum();
    TokenUsage {
        prompt_tokens: prompt.div_ceil(4) as u64,
        completion_tokens: answer.chars().count().div_ceil(4) as u64,
    }
}
