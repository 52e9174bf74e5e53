//! One model behind an OpenAI-compatible `/chat/completions` endpoint (OpenAI,
//! Gemini's OpenAI endpoint, vLLM, llama.cpp, Ollama, LM Studio, mlx-lm).
//! One call is one HTTP request, except that a 400 naming an unsupported
//! parameter is answered by resending once without it.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{StatusCode, Url};
use tracing::{debug, warn};

use crate::model::{
    AnswerFrame, BoxFuture, ChatMessage, ChatModel, ChatRequest, ChatResponse, Role, TokenUsage,
};
use crate::{LlmError, ModelConfig};

/// An API key. Its Debug output is redacted, and it is only ever written into
/// the Authorization header.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// `None` for an empty key: local servers are often configured with `""`.
    pub fn new(key: impl Into<String>) -> Option<Self> {
        let key = key.into();
        (!key.trim().is_empty()).then_some(Self(key))
    }

    /// Replaces every occurrence of the key in `text`, for server messages
    /// that echo what they were sent.
    fn scrub(&self, text: &str) -> String {
        text.replace(&self.0, "[redacted]")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// A reqwest client using rustls with the `ring` provider. Root certificates
/// come from the system, and only when some endpoint uses HTTPS, so that a
/// machine without a CA bundle can still reach a local server over HTTP.
pub fn http_client(https: bool) -> Result<reqwest::Client, LlmError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LlmError::Config(format!("TLS setup failed: {e}")))?;
    let tls = if https {
        builder
            .with_platform_verifier()
            .map_err(|e| LlmError::Config(format!("cannot verify HTTPS servers: {e}")))?
            .with_no_client_auth()
    } else {
        builder.with_root_certificates(rustls::RootCertStore::empty()).with_no_client_auth()
    };
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .map_err(|e| LlmError::Config(format!("cannot build the HTTP client: {e}")))
}

/// `{api_base}/chat/completions`, whether or not `api_base` ends in a slash
/// (Gemini's ends in `/openai/`).
pub fn chat_completions_url(api_base: &str) -> Result<Url, LlmError> {
    let joined = format!("{}/chat/completions", api_base.trim_end_matches('/'));
    let url = Url::parse(&joined).map_err(|e| LlmError::Config(format!("api_base `{api_base}`: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(LlmError::Config(format!("api_base `{api_base}` must start with http:// or https://")));
    }
    Ok(url)
}

/// Models that take `max_completion_tokens` and reject sampling settings
/// (OpenAI's o-series and gpt-5); `openai/o3` style prefixes are ignored.
pub fn is_reasoning_model(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    let o_series = ["o1", "o3", "o4"]
        .iter()
        .any(|p| base.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with('-')));
    o_series || base.starts_with("gpt-5")
}

/// Request parameters a model turned out not to accept. Starts from what the
/// name implies and learns from 400 answers, so later calls skip the failure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ParameterQuirks {
    max_completion_tokens: bool,
    omit_temperature: bool,
    omit_top_p: bool,
    omit_seed: bool,
    omit_reasoning_effort: bool,
}

/// One model at one OpenAI-compatible endpoint.
pub struct OpenAiCompatibleModel {
    http: reqwest::Client,
    url: Url,
    name: String,
    api_key: Option<ApiKey>,
    system_message: Option<String>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    max_tokens: Option<u32>,
    reasoning_effort: Option<String>,
    timeout: Duration,
    /// Whether the server continues a started assistant message (see
    /// [`AnswerFrame`]); set for the llama.cpp servers we start ourselves.
    continues_answers: bool,
    quirks: Mutex<ParameterQuirks>,
}

impl fmt::Debug for OpenAiCompatibleModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiCompatibleModel")
            .field("name", &self.name)
            .field("url", &self.url.as_str())
            .field("api_key", &self.api_key)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OpenAiCompatibleModel {
    /// A client for `model`, whose fields should already have inherited the
    /// `llm:`-level values (`LlmConfig::resolve_models`). `default_api_key`
    /// is used when the model has no key of its own (`OPENAI_API_KEY`).
    pub fn new(
        http: reqwest::Client,
        model: &ModelConfig,
        default_api_key: Option<ApiKey>,
    ) -> Result<Self, LlmError> {
        let name = model
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| LlmError::Config("a model has no name".into()))?;
        let api_base = model
            .api_base
            .as_deref()
            .ok_or_else(|| LlmError::Config(format!("model `{name}` has no api_base")))?;
        let timeout = model.timeout.unwrap_or(crate::LlmConfig::default().timeout);
        if !(timeout.is_finite() && timeout > 0.0) {
            return Err(LlmError::Config(format!("model `{name}`: timeout must be positive")));
        }
        let reasoning = is_reasoning_model(&name);
        Ok(Self {
            http,
            url: chat_completions_url(api_base)?,
            api_key: model.api_key.clone().and_then(ApiKey::new).or(default_api_key),
            system_message: model.system_message.clone(),
            temperature: model.temperature,
            top_p: model.top_p,
            max_tokens: model.max_tokens,
            reasoning_effort: model.reasoning_effort.clone(),
            timeout: Duration::from_secs_f64(timeout),
            continues_answers: false,
            quirks: Mutex::new(ParameterQuirks {
                max_completion_tokens: reasoning,
                omit_temperature: reasoning,
                omit_top_p: reasoning,
                ..Default::default()
            }),
            name,
        })
    }

    /// Marks the server as one that continues a started answer, so that
    /// requests with an [`AnswerFrame`] are sent framed.
    pub fn continuing_answers(mut self) -> Self {
        self.continues_answers = true;
        self
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    fn quirks(&self) -> ParameterQuirks {
        *self.quirks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn body<'a>(
        &'a self,
        messages: &'a [ChatMessage],
        seed: Option<u64>,
        frame: Option<&'a AnswerFrame>,
        temperature: Option<f64>,
        quirks: ParameterQuirks,
    ) -> RequestBody<'a> {
        let (max_tokens, max_completion_tokens) =
            if quirks.max_completion_tokens { (None, self.max_tokens) } else { (self.max_tokens, None) };
        RequestBody {
            model: &self.name,
            messages,
            temperature: temperature.or(self.temperature).filter(|_| !quirks.omit_temperature),
            top_p: self.top_p.filter(|_| !quirks.omit_top_p),
            max_tokens,
            max_completion_tokens,
            seed: seed.filter(|_| !quirks.omit_seed),
            reasoning_effort: self.reasoning_effort.as_deref().filter(|_| !quirks.omit_reasoning_effort),
            stop: frame.map(|f| f.stop.as_slice()),
        }
    }

    async fn send(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let frame = request.frame.as_ref().filter(|_| self.continues_answers);
        let system = match &self.system_message {
            Some(system) if !request.messages.iter().any(|m| m.role == Role::System) => {
                Some(ChatMessage::system(system.clone()))
            }
            _ => None,
        };
        let started_answer = frame.map(|f| ChatMessage::assistant(f.opening.clone()));
        let messages: Vec<ChatMessage> =
            system.into_iter().chain(request.messages.iter().cloned()).chain(started_answer).collect();
        // Each unsupported parameter is dropped at most once, so this ends.
        loop {
            let quirks = self.quirks();
            let body = self.body(&messages, request.seed, frame, request.temperature, quirks);
            let started = Instant::now();
            debug!(model = %self.name, url = %self.url, seed = ?body.seed, messages = messages.len(), "sending chat request");
            let mut builder = self.http.post(self.url.clone()).timeout(self.timeout).json(&body);
            if let Some(key) = &self.api_key {
                builder = builder.bearer_auth(&key.0);
            }
            let response = builder.send().await.map_err(|e| self.transport_error(&e))?;
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = response.bytes().await.map_err(|e| self.transport_error(&e))?;
            debug!(model = %self.name, status = status.as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "chat response");
            if status.is_success() {
                let response = self.parse_success(&bytes)?;
                return Ok(match frame {
                    Some(frame) => framed(frame, response),
                    None => response,
                });
            }
            let error = ErrorReply::parse(&bytes);
            if status == StatusCode::BAD_REQUEST
                && let Some(adapted) = self.adapt_to_rejection(&error, &body, quirks)
            {
                *self.quirks.lock().unwrap_or_else(|e| e.into_inner()) = adapted;
                continue;
            }
            return Err(self.status_error(status, &headers, &error));
        }
    }

    /// The quirks to resend with, if the 400 says a parameter we sent is not
    /// supported by this model.
    fn adapt_to_rejection(
        &self,
        error: &ErrorReply,
        sent: &RequestBody<'_>,
        quirks: ParameterQuirks,
    ) -> Option<ParameterQuirks> {
        let message = error.message.to_ascii_lowercase();
        let says_unsupported =
            ["unsupported", "not supported", "does not support"].iter().any(|s| message.contains(s))
                || matches!(error.code.as_deref(), Some("unsupported_parameter" | "unsupported_value"));
        if !says_unsupported {
            return None;
        }
        let names = |param: &str| error.param.as_deref() == Some(param) || message.contains(param);
        let mut adapted = quirks;
        let parameter = if sent.max_tokens.is_some() && names("max_tokens") {
            adapted.max_completion_tokens = true;
            "max_tokens"
        } else if sent.temperature.is_some() && names("temperature") {
            adapted.omit_temperature = true;
            "temperature"
        } else if sent.top_p.is_some() && names("top_p") {
            adapted.omit_top_p = true;
            "top_p"
        } else if sent.seed.is_some() && names("seed") {
            adapted.omit_seed = true;
            "seed"
        } else if sent.reasoning_effort.is_some() && names("reasoning_effort") {
            adapted.omit_reasoning_effort = true;
            "reasoning_effort"
        } else {
            return None;
        };
        warn!(model = %self.name, parameter, "the server rejects this parameter for this model; resending without it from now on");
        Some(adapted)
    }

    fn parse_success(&self, bytes: &[u8]) -> Result<ChatResponse, LlmError> {
        let reply: CompletionReply =
            serde_json::from_slice(bytes).map_err(|e| LlmError::MalformedResponse {
                model: self.name.clone(),
                reason: format!("{e}; body starts: {}", self.excerpt(&String::from_utf8_lossy(bytes))),
            })?;
        let empty = |reason: String| LlmError::EmptyResponse { model: self.name.clone(), reason };
        let choice =
            reply.choices.into_iter().next().ok_or_else(|| empty("the list of choices is empty".into()))?;
        let text = choice.message.and_then(|m| m.content).map(MessageContent::into_text).unwrap_or_default();
        if text.is_empty() {
            let why = match choice.finish_reason.as_deref() {
                Some("length") => {
                    "no text before max_tokens ran out (a reasoning model may need more)".to_string()
                }
                Some(reason) => format!("no text (finish_reason `{reason}`)"),
                None => "no text".to_string(),
            };
            return Err(empty(why));
        }
        let usage = reply
            .usage
            .map(|u| TokenUsage { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens });
        debug!(model = %self.name, prompt_tokens = ?usage.map(|u| u.prompt_tokens), completion_tokens = ?usage.map(|u| u.completion_tokens), "chat completion");
        Ok(ChatResponse { text, usage, finish_reason: choice.finish_reason })
    }

    fn status_error(&self, status: StatusCode, headers: &HeaderMap, error: &ErrorReply) -> LlmError {
        let model = self.name.clone();
        let message = self.excerpt(&error.message);
        let code = status.as_u16();
        if status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
            || status.is_server_error()
        {
            LlmError::Unavailable {
                model,
                status: code,
                message,
                retry_after: crate::retry::retry_after(headers),
            }
        } else {
            LlmError::Rejected { model, status: code, message }
        }
    }

    fn transport_error(&self, error: &reqwest::Error) -> LlmError {
        if error.is_timeout() {
            return LlmError::Timeout { model: self.name.clone(), timeout: self.timeout };
        }
        // reqwest's own message is generic; the causes say what happened.
        let mut message = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        LlmError::Connection { model: self.name.clone(), message: self.excerpt(&message) }
    }

    /// Server text fit for an error message: key removed, length bounded.
    fn excerpt(&self, text: &str) -> String {
        const LIMIT: usize = 500;
        let text = match &self.api_key {
            Some(key) => key.scrub(text),
            None => text.to_string(),
        };
        match text.char_indices().nth(LIMIT) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text,
        }
    }
}

/// The whole answer of a continued one: the opening we sent (which some
/// servers echo at the start of the reply and others leave out, as llama.cpp
/// has done in turn), what the model wrote, and the closing where it stopped
/// (servers leave the stop text out). An answer cut off by `max_tokens` gets
/// no closing.
fn framed(frame: &AnswerFrame, response: ChatResponse) -> ChatResponse {
    let opening = if response.text.starts_with(&frame.opening) { "" } else { frame.opening.as_str() };
    let stopped = response.finish_reason.as_deref() == Some("stop");
    let closing = if stopped { frame.closing.as_str() } else { "" };
    ChatResponse { text: format!("{opening}{}{closing}", response.text), ..response }
}

impl ChatModel for OpenAiCompatibleModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn complete<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse, LlmError>> {
        Box::pin(self.send(request))
    }
}

mod wire;
use wire::{CompletionReply, ErrorReply, MessageContent, RequestBody};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_api_base_with_or_without_trailing_slash() {
        let gemini =
            chat_completions_url("https://generativelanguage.googleapis.com/v1beta/openai/").unwrap();
        assert_eq!(
            gemini.as_str(),
            "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"
        );
        assert_eq!(
            chat_completions_url("http://localhost:8080/v1").unwrap().as_str(),
            "http://localhost:8080/v1/chat/completions"
        );
        assert!(chat_completions_url("localhost:8080").is_err());
        assert!(chat_completions_url("not a url").is_err());
    }

    #[test]
    fn recognises_reasoning_models() {
        for name in ["o1", "o1-mini", "o3-2025-04-16", "o4-mini", "gpt-5", "gpt-5-mini", "openai/o3"] {
            assert!(is_reasoning_model(name), "{name}");
        }
        for name in ["gpt-4o", "o1lama", "qwen3-coder", "gemini-2.5-flash", "gpt-4.1"] {
            assert!(!is_reasoning_model(name), "{name}");
        }
    }

    #[test]
    fn error_bodies_of_several_shapes() {
        let openai = ErrorReply::parse(br#"{"error":{"message":"Unsupported parameter: 'max_tokens'","param":"max_tokens","code":"unsupported_parameter"}}"#);
        assert_eq!(openai.param.as_deref(), Some("max_tokens"));
        assert_eq!(openai.code.as_deref(), Some("unsupported_parameter"));
        assert_eq!(ErrorReply::parse(br#"{"error":"model not loaded"}"#).message, "model not loaded");
        assert_eq!(ErrorReply::parse(br#"[{"error":{"message":"quota"}}]"#).message, "quota");
        assert_eq!(ErrorReply::parse(b"Bad Gateway").message, "Bad Gateway");
    }

    #[test]
    fn empty_keys_are_no_keys_and_debug_hides_keys() {
        assert!(ApiKey::new("  ").is_none());
        let key = ApiKey::new("sk-very-secret").unwrap();
        assert!(!format!("{key:?}").contains("secret"));
        assert_eq!(key.scrub("got sk-very-secret twice: sk-very-secret"), "got [redacted] twice: [redacted]");
    }
}
