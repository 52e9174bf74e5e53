//! Talking to language models: the `llm:` config section, an OpenAI-compatible
//! chat client, the weighted model ensemble, retries and usage accounting.

mod config;

pub use config::{LlmConfig, ModelConfig};
