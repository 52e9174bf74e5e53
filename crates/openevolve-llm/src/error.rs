//! What can go wrong when asking a model, sorted by what the caller should do:
//! stop the run, give up on this request, or (inside the ensemble) try again.

use std::time::Duration;

/// A failed LLM request. Messages never contain API keys: server text is
/// scrubbed of the key before it is stored here.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The run's estimated spend reached `llm.run_budget_usd`; stop the run.
    /// Requests in flight count with their worst-case cost (`reserved_usd`).
    #[error(
        "LLM run budget of ${budget_usd:.4} reached: ${spent_usd:.4} spent, ${reserved_usd:.4} set aside for requests in flight"
    )]
    BudgetExhausted { spent_usd: f64, reserved_usd: f64, budget_usd: f64 },

    /// The configuration cannot produce a working client.
    #[error("LLM configuration: {0}")]
    Config(String),

    /// The server refused the request for a reason that a retry will not fix
    /// (4xx other than 408 and 429).
    #[error("model `{model}`: HTTP {status}: {message}")]
    Rejected { model: String, status: u16, message: String },

    /// The server was overloaded or failing (429, 408, 5xx).
    #[error("model `{model}`: HTTP {status}: {message}")]
    Unavailable { model: String, status: u16, message: String, retry_after: Option<Duration> },

    /// No complete answer arrived within the model's timeout.
    #[error("model `{model}`: no answer within {timeout:?}")]
    Timeout { model: String, timeout: Duration },

    /// The server could not be reached or the connection broke.
    #[error("model `{model}`: connection failed: {message}")]
    Connection { model: String, message: String },

    /// The body was not the JSON of a chat completion.
    #[error("model `{model}`: malformed response: {reason}")]
    MalformedResponse { model: String, reason: String },

    /// A well-formed answer without any text to use (no choices, or no content).
    #[error("model `{model}`: empty response: {reason}")]
    EmptyResponse { model: String, reason: String },

    /// Every attempt failed with a transient error; `last` is the final one.
    #[error("model `{model}`: gave up after {attempts} attempts: {last}")]
    RetriesExhausted { model: String, attempts: u32, last: Box<LlmError> },
}

impl LlmError {
    /// Whether another attempt at the same request may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Timeout { .. } | Self::Connection { .. })
    }

    /// Whether the run should stop rather than go on to the next iteration.
    pub fn stops_run(&self) -> bool {
        matches!(self, Self::BudgetExhausted { .. } | Self::Config(_))
    }

    /// How long the server asked us to wait before the next attempt.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
