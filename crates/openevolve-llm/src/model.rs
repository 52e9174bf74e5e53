//! The backend-neutral face of a chat model: what the ensemble sends and gets
//! back. The OpenAI-compatible client implements it; a local model can too.

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use crate::LlmError;

/// A boxed future, so that `ChatModel` stays usable as `dyn ChatModel`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who wrote a message of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One message of a chat conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        Self { role: Role::System, content: content.into() }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self { role: Role::User, content: content.into() }
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self { role: Role::Assistant, content: content.into() }
    }
}

/// How an answer must begin and where it ends, when the caller knows: a
/// model whose server continues a started answer (llama.cpp's, for local
/// models) is sent `opening` as the start of its answer and stops at `stop`,
/// so that it writes neither a preamble nor anything after the part that
/// counts. Other models are sent the request as it is. Either way the text
/// returned is the whole answer: a continued one comes back as `opening`,
/// what the model wrote, and `closing` where it stopped (at any of `stop`,
/// or where it ended by itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerFrame {
    pub opening: String,
    pub stop: Vec<String>,
    pub closing: String,
}

/// One request to one model. Sampling settings belong to the model, except
/// where a request sets its own temperature.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
    /// Sampling seed; differs per request so that equal prompts can still get
    /// different answers from servers that honour it.
    pub seed: Option<u64>,
    pub frame: Option<AnswerFrame>,
    /// This request's temperature in place of the model's (a build repair
    /// may be asked colder than a first answer); `None`: the model's. Never
    /// sent to a model that takes no temperature (a reasoning model).
    pub temperature: Option<f64>,
}

/// Tokens a request used, as the server reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// A model's answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    pub text: String,
    /// `None` where the server did not report usage.
    pub usage: Option<TokenUsage>,
    /// Why generation ended (`stop`, `length`, ...), if the server said.
    pub finish_reason: Option<String>,
}

/// A chat model that answers one request per call, without retrying: retries,
/// budget and concurrency are the ensemble's business.
pub trait ChatModel: Send + Sync {
    /// The model's name, as used in usage accounting and logs.
    fn name(&self) -> &str;

    /// Sends `request` once.
    fn complete<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse, LlmError>>;
}
