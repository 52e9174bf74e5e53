//! The decoder's shape, read from GGUF metadata or a Hugging Face `config.json`.

use mlx_rs::io::GgufFile;
use serde::Deserialize;

use crate::{Error, Result};

/// Hyper-parameters of a Llama-family decoder.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    pub vocab_size: i32,
    pub hidden_size: i32,
    pub num_layers: i32,
    pub num_heads: i32,
    pub num_kv_heads: i32,
    pub head_dim: i32,
    pub intermediate_size: i32,
    pub rope_theta: f32,
    pub rms_norm_eps: f32,
    /// RoPE on interleaved pairs. GGUF files store q/k permuted for it
    /// (llama.cpp's layout); Hugging Face checkpoints use the split halves.
    pub rope_traditional: bool,
    /// Output projection shares the token embedding.
    pub tie_word_embeddings: bool,
}

fn meta_u32(file: &GgufFile, key: &str) -> Result<i32> {
    let a = file.get_metadata_array(key)?.ok_or_else(|| Error::Model(format!("metadata {key} missing")))?;
    Ok(a.as_dtype(mlx_rs::Dtype::Int32)?.item_exact::<i32>())
}

fn meta_f32(file: &GgufFile, key: &str) -> Result<Option<f32>> {
    Ok(match file.get_metadata_array(key)? {
        Some(a) => Some(a.as_dtype(mlx_rs::Dtype::Float32)?.item_exact::<f32>()),
        None => None,
    })
}

impl LlamaConfig {
    /// Reads `llama.*` metadata; the vocabulary size is that of the token list.
    pub fn from_gguf(file: &GgufFile) -> Result<Self> {
        let arch = file.get_metadata_string("general.architecture")?.unwrap_or_default();
        if arch != "llama" {
            return Err(Error::Model(format!("architecture {arch:?}; only llama is supported")));
        }
        let hidden_size = meta_u32(file, "llama.embedding_length")?;
        let num_heads = meta_u32(file, "llama.attention.head_count")?;
        let vocab_size = match file.get_metadata_strings("tokenizer.ggml.tokens")? {
            Some(tokens) => tokens.len() as i32,
            None => meta_u32(file, "llama.vocab_size")?,
        };
        let has_output = file.get_array("output.weight")?.is_some();
        Ok(Self {
            vocab_size,
            hidden_size,
            num_layers: meta_u32(file, "llama.block_count")?,
            num_heads,
            num_kv_heads: meta_u32(file, "llama.attention.head_count_kv")?,
            head_dim: hidden_size / num_heads,
            intermediate_size: meta_u32(file, "llama.feed_forward_length")?,
            rope_theta: meta_f32(file, "llama.rope.freq_base")?.unwrap_or(10_000.0),
            rms_norm_eps: meta_f32(file, "llama.attention.layer_norm_rms_epsilon")?.unwrap_or(1e-5),
            rope_traditional: true,
            tie_word_embeddings: !has_output,
        })
    }

    /// Parses a Hugging Face `config.json` of a Llama model.
    pub fn from_hf_json(text: &str) -> Result<Self> {
        #[derive(Deserialize)]
        struct Hf {
            vocab_size: i32,
            hidden_size: i32,
            num_hidden_layers: i32,
            num_attention_heads: i32,
            num_key_value_heads: Option<i32>,
            head_dim: Option<i32>,
            intermediate_size: i32,
            rope_theta: Option<f32>,
            rms_norm_eps: Option<f32>,
            tie_word_embeddings: Option<bool>,
        }
        let hf: Hf = serde_json::from_str(text).map_err(|e| Error::Model(format!("config.json: {e}")))?;
        Ok(Self {
            vocab_size: hf.vocab_size,
            hidden_size: hf.hidden_size,
            num_layers: hf.num_hidden_layers,
            num_heads: hf.num_attention_heads,
            num_kv_heads: hf.num_key_value_heads.unwrap_or(hf.num_attention_heads),
            head_dim: hf.head_dim.unwrap_or(hf.hidden_size / hf.num_attention_heads),
            intermediate_size: hf.intermediate_size,
            rope_theta: hf.rope_theta.unwrap_or(10_000.0),
            rms_norm_eps: hf.rms_norm_eps.unwrap_or(1e-5),
            rope_traditional: false,
            tie_word_embeddings: hf.tie_word_embeddings.unwrap_or(true),
        })
    }

    /// Parameters of the model (embedding counted once when tied).
    pub fn num_parameters(&self) -> i64 {
        let (d, f, v) = (self.hidden_size as i64, self.intermediate_size as i64, self.vocab_size as i64);
        let kv = (self.num_kv_heads * self.head_dim) as i64;
        let q = (self.num_heads * self.head_dim) as i64;
        let per_layer = d * q + 2 * d * kv + q * d + 3 * d * f + 2 * d;
        let output = if self.tie_word_embeddings { 0 } else { v * d };
        v * d + self.num_layers as i64 * per_layer + d + output
    }
}
