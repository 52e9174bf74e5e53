//! Talking to language models: the `llm:` config section, an OpenAI-compatible
//! chat client, the local provider (a GGUF model on this machine, see
//! [`local`]), the weighted model ensemble, retries and usage accounting.
//!
//! The controller builds [`Llms`] from the config and calls
//! [`LlmEnsemble::complete`] on `models` or `evaluator_models`. An error whose
//! [`LlmError::stops_run`] is true (the budget is spent) should end the run.

pub mod bandit;
mod client;
mod config;
mod ensemble;
mod error;
mod llms;
pub mod local;
mod model;
mod retry;
mod seed;
mod usage;

pub use client::{ApiKey, OpenAiCompatibleModel, chat_completions_url, http_client, is_reasoning_model};
pub use config::{
    LOCAL_MAX_TOKENS, LOCAL_MIN_TIMEOUT_S, LOCAL_PREFIX, LlmConfig, ModelConfig, ModelSelection,
    PROVIDER_LOCAL, PROVIDER_OPENAI,
};
pub use ensemble::{Completion, EnsembleMember, LlmEnsemble};
pub use error::LlmError;
pub use llms::Llms;
pub use model::{
    AnswerFrame, BoxFuture, ChatMessage, ChatModel, ChatRequest, ChatResponse, Role, TokenUsage,
};
pub use retry::RetryPolicy;
pub use usage::{CallRecord, ModelUsage, Prices, Reservation, UsageSnapshot, UsageTracker};
