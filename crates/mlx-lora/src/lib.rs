//! LoRA fine-tuning of Llama-family models on `mlx-rs`.
//!
//! The parts, each usable alone:
//! - [`config`] and [`weights`]: the model's shape and its weights, read from a
//!   GGUF file (quantized tensors dequantized at load, or kept 4-bit for QLoRA)
//!   or from a safetensors checkpoint with a `config.json`;
//! - [`model`]: the decoder (embeddings, RMSNorm, grouped-query attention with
//!   RoPE through MLX's fast kernels, SwiGLU MLP, tied output) and greedy
//!   generation;
//! - [`lora`]: the LoRA layer with a pluggable forward, adapter placement the
//!   way mlx-lm does it by default, adapter save/load as safetensors;
//! - [`tokenizer`]: the byte-level BPE tokenizer rebuilt from GGUF metadata and
//!   the ChatML template;
//! - [`data`]: mlx-lm's JSONL formats, the WordNet instruction set built
//!   deterministically, tokenization with prompt masks, padded or packed batches;
//! - [`train`]: the loss, the training step behind a trait, the trainer with
//!   gradient accumulation and an evaluation cadence, validation loss, MLX's
//!   memory counters;
//! - [`settings`]: settings that trade memory for speed without changing
//!   what is trained (micro-batches, a memory budget, exact packing,
//!   attention in query chunks, evaluation and cache cadence, prefetching,
//!   quantized base weights), read from JSON and applied by
//!   [`settings::train_with_settings`];
//! - [`experiment`]: a whole run (load, data, adapters, training, validation)
//!   from a preset (`tiny` for CPU tests, `full` for a GPU) with the pluggable
//!   parts bundled as [`experiment::Hooks`].
//!
//! How an evaluator judges a training run (sealed runs, checks of replaced
//! parts, the loss rule) is the `mlx-lora-eval` crate's.
//!
//! Model and data live outside the repository; `scripts/setup-lora-data.sh`
//! fetches them and [`paths`] finds them.

pub mod config;
pub mod data;
pub mod experiment;
pub mod lora;
pub mod model;
pub mod paths;
pub mod settings;
pub mod tokenizer;
pub mod train;
pub mod weights;

pub use config::LlamaConfig;

/// Whether MLX's default device is a GPU (where memory is the device's, not
/// the process's).
pub fn on_gpu() -> std::result::Result<bool, mlx_rs::error::Exception> {
    let device = mlx_rs::Device::try_default()?.get_type()?;
    Ok(matches!(device, mlx_rs::DeviceType::Gpu))
}
pub use lora::{LoraConfig, LoraForwardFn, LoraLinear};
pub use model::Llama;
pub use tokenizer::Tokenizer;

use mlx_rs::error::Exception;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("MLX: {0}")]
    Mlx(#[from] Exception),
    #[error("MLX I/O: {0}")]
    MlxIo(#[from] mlx_rs::error::IoError),
    #[error("GGUF: {0}")]
    Gguf(#[from] mlx_rs::io::GgufError),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: not found; run scripts/setup-lora-data.sh (or set {var})")]
    Missing { path: String, var: &'static str },
    #[error("model file: {0}")]
    Model(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("data: {0}")]
    Data(String),
    #[error("{path}:{line}: {message}")]
    Jsonl { path: String, line: usize, message: String },
    #[error("adapters: {0}")]
    Adapters(String),
    #[error("training: {0}")]
    Train(String),
}

impl Error {
    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().display().to_string(), source }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
