//! The JSON of `/chat/completions`: the request body we send and the
//! replies we accept, with the shapes servers differ in (content as text or
//! parts, several error layouts).

use serde::{Deserialize, Serialize};

use crate::model::ChatMessage;

#[derive(Serialize)]
pub(super) struct RequestBody<'a> {
    pub(super) model: &'a str,
    pub(super) messages: &'a [ChatMessage],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) reasoning_effort: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) stop: Option<&'a [String]>,
}

#[derive(Deserialize)]
pub(super) struct CompletionReply {
    pub(super) choices: Vec<Choice>,
    #[serde(default)]
    pub(super) usage: Option<UsageReply>,
}

#[derive(Deserialize)]
pub(super) struct Choice {
    #[serde(default)]
    pub(super) message: Option<ReplyMessage>,
    #[serde(default)]
    pub(super) finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ReplyMessage {
    #[serde(default)]
    pub(super) content: Option<MessageContent>,
}

/// Content is a string almost everywhere; some servers send a list of parts.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Deserialize)]
pub(super) struct ContentPart {
    #[serde(default)]
    pub(super) text: Option<String>,
}

impl MessageContent {
    pub(super) fn into_text(self) -> String {
        match self {
            Self::Text(text) => text,
            Self::Parts(parts) => parts.into_iter().filter_map(|p| p.text).collect(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct UsageReply {
    #[serde(default)]
    pub(super) prompt_tokens: u64,
    #[serde(default)]
    pub(super) completion_tokens: u64,
}

/// The useful parts of an error body, whatever shape the server chose.
#[derive(Debug, Default)]
pub(super) struct ErrorReply {
    pub(super) message: String,
    pub(super) param: Option<String>,
    pub(super) code: Option<String>,
}

impl ErrorReply {
    pub(super) fn parse(bytes: &[u8]) -> Self {
        let raw = String::from_utf8_lossy(bytes).trim().to_string();
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes) else {
            return Self { message: raw, ..Default::default() };
        };
        // OpenAI and most servers: {"error": {"message", "param", "code"}};
        // some send {"error": "text"} or {"message": "text"}; a list is Gemini's.
        let error = match &json {
            serde_json::Value::Array(items) => items.first().and_then(|i| i.get("error")).unwrap_or(&json),
            _ => json.get("error").unwrap_or(&json),
        };
        let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_string);
        Self {
            message: text(error.get("message")).or_else(|| error.as_str().map(str::to_string)).unwrap_or(raw),
            param: text(error.get("param")),
            code: text(error.get("code")),
        }
    }
}
