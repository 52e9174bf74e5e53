//! The LLMs of a run: both ensembles built from the config, with the
//! clients they need (HTTP or the local server), sharing one cap on
//! concurrent requests and one usage ledger.

use std::sync::Arc;

use crate::client::{ApiKey, OpenAiCompatibleModel, http_client};
use crate::ensemble::{EnsembleMember, LlmEnsemble, RunLimits};
use crate::local::{LocalPool, LocalSettings};
use crate::model::ChatModel;
use crate::usage::{UsageSnapshot, UsageTracker};
use crate::{LlmConfig, LlmError, ModelConfig, ModelSelection};

/// The LLMs of a run: the mutation ensemble, the feedback ensemble, and the
/// cap and ledger they share.
pub struct Llms {
    /// `llm.models`: propose program changes.
    pub models: LlmEnsemble,
    /// `llm.evaluator_models`: give feedback on programs.
    pub evaluator_models: LlmEnsemble,
    usage: Arc<UsageTracker>,
}

impl Llms {
    /// Clients for every configured model. Models without an `api_key` use
    /// the `OPENAI_API_KEY` environment variable, if set. Local models must
    /// have been fetched; their server starts on the first request.
    pub fn from_config(config: &LlmConfig, run_seed: u64) -> Result<Self, LlmError> {
        let default_key = std::env::var("OPENAI_API_KEY").ok().and_then(ApiKey::new);
        Self::from_config_with_default_key(config, run_seed, default_key)
    }

    /// As `from_config`, with `default_api_key` in place of `OPENAI_API_KEY`.
    pub fn from_config_with_default_key(
        config: &LlmConfig,
        run_seed: u64,
        default_api_key: Option<ApiKey>,
    ) -> Result<Self, LlmError> {
        let mut config = config.clone();
        config.resolve_models();
        if let Some((key, problem)) = config.validate().into_iter().next() {
            return Err(LlmError::Config(format!("llm.{key}: {problem}")));
        }
        if config.models.is_empty() {
            return Err(LlmError::Config("llm.models is empty: name at least one model".into()));
        }
        let all = || config.models.iter().chain(&config.evaluator_models);
        let https = all()
            .filter(|m| !m.is_local())
            .any(|m| m.api_base.as_deref().is_some_and(|b| b.trim_start().starts_with("https:")));
        let http = http_client(https)?;
        let mut local = LocalPool::new(LocalSettings::from_config(&config));
        let mut members = |models: &[ModelConfig]| -> Result<Vec<EnsembleMember>, LlmError> {
            models
                .iter()
                .map(|m| {
                    let client: Arc<dyn ChatModel> = if m.is_local() {
                        Arc::new(local.model(m)?)
                    } else {
                        Arc::new(OpenAiCompatibleModel::new(http.clone(), m, default_api_key.clone())?)
                    };
                    Ok(EnsembleMember::from_config(client, m, run_seed))
                })
                .collect()
        };
        let mut llms = Self::new(
            members(&config.models)?,
            members(&config.evaluator_models)?,
            run_seed,
            config.max_concurrent_requests,
            config.run_budget_usd,
        );
        if config.model_selection == ModelSelection::Ucb {
            llms.models.learn_model_choice(config.ucb_exploration);
        }
        Ok(llms)
    }

    /// Ensembles of any `ChatModel`s (e.g. a local model), sharing a cap of
    /// `max_concurrent_requests` and an optional budget in US dollars.
    pub fn new(
        models: Vec<EnsembleMember>,
        evaluator_models: Vec<EnsembleMember>,
        run_seed: u64,
        max_concurrent_requests: usize,
        run_budget_usd: Option<f64>,
    ) -> Self {
        let usage = UsageTracker::new(run_budget_usd);
        let limits = Arc::new(RunLimits::new(max_concurrent_requests, Arc::clone(&usage)));
        let ensemble = |members, stream| LlmEnsemble::new(members, run_seed, stream, Arc::clone(&limits));
        Self { models: ensemble(models, 0), evaluator_models: ensemble(evaluator_models, 1), usage }
    }

    /// Tokens, requests and cost so far, per model and in total.
    pub fn usage(&self) -> UsageSnapshot {
        self.usage.snapshot()
    }

    /// Continues from the usage saved in a checkpoint, so the budget spans
    /// the whole run rather than restarting on resume.
    pub fn restore_usage(&self, snapshot: &UsageSnapshot) {
        self.usage.restore(snapshot);
    }
}
