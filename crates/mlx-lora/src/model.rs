//! The Llama-family decoder: token embedding, `num_layers` blocks of
//! RMSNorm → grouped-query attention (RoPE, MLX's fused attention kernel) →
//! residual → RMSNorm → SwiGLU MLP → residual, a final RMSNorm and the output
//! projection (tied to the embedding when the model has no `output` tensor).
//! Only LoRA adapters are module parameters; base weights are constants of the
//! graph, so gradients never flow into them.

use mlx_rs::error::Exception;
use mlx_rs::fast::{self, ScaledDotProductAttentionMask};
use mlx_rs::io::GgufFile;
use mlx_rs::macros::ModuleParameters;
use mlx_rs::ops::indexing::{IndexOp, argmax_axis};
use mlx_rs::{Array, Dtype};

use crate::Result;
use crate::config::LlamaConfig;
use crate::lora::{LoraConfig, LoraForwardFn, LoraLinear};
use crate::weights::{LoadOptions, Tensor, Weights};

type MlxResult<T> = std::result::Result<T, Exception>;

#[derive(Debug, Clone, ModuleParameters)]
pub struct Attention {
    #[param]
    pub q_proj: LoraLinear,
    #[param]
    pub k_proj: LoraLinear,
    #[param]
    pub v_proj: LoraLinear,
    #[param]
    pub o_proj: LoraLinear,
    pub num_heads: i32,
    pub num_kv_heads: i32,
    pub head_dim: i32,
    pub rope_theta: f32,
    pub rope_traditional: bool,
}

/// What attention needs besides its input: which keys each query may see,
/// and whether to process the queries in chunks.
#[derive(Debug, Clone, Default)]
pub struct AttentionContext {
    /// Additive mask `[B, 1, L, L]` (0 where a query may attend, −∞ where
    /// not) for packed rows; `None` is plain causal attention.
    pub mask: Option<Array>,
    /// Queries per chunk: each chunk attends to the keys up to its end, so
    /// the scores held at once are `chunk × L` instead of `L × L`. The same
    /// result as one pass.
    pub query_chunk: Option<i32>,
}

impl AttentionContext {
    /// The mask for `segments` `[B, L]`: causal, and within a segment.
    pub fn for_segments(segments: &Array, dtype: Dtype) -> MlxResult<Array> {
        let l = segments.shape()[1];
        let same = segments.expand_dims(-1)?.eq(segments.expand_dims(-2)?)?;
        let positions = Array::arange::<_, i32>(None, l, None)?;
        let causal = positions.expand_dims(-1)?.ge(positions.expand_dims(0)?)?;
        let allowed = same.logical_and(causal)?.expand_dims(1)?;
        let zero = Array::from_f32(0.0).as_dtype(dtype)?;
        let blocked = Array::from_f32(f32::NEG_INFINITY).as_dtype(dtype)?;
        mlx_rs::ops::select(&allowed, &zero, &blocked)
    }
}

impl Attention {
    pub fn forward(&self, x: &Array, context: &AttentionContext) -> MlxResult<Array> {
        let (b, l) = (x.shape()[0], x.shape()[1]);
        let heads = |t: Array, n: i32| t.reshape(&[b, l, n, self.head_dim])?.transpose_axes(&[0, 2, 1, 3]);
        let rope =
            |t: &Array| fast::rope(t, self.head_dim, self.rope_traditional, self.rope_theta, 1.0, 0, None);
        let q = rope(&heads(self.q_proj.forward(x)?, self.num_heads)?)?;
        let k = rope(&heads(self.k_proj.forward(x)?, self.num_kv_heads)?)?;
        let v = heads(self.v_proj.forward(x)?, self.num_kv_heads)?;
        let scale = 1.0 / (self.head_dim as f32).sqrt();
        let attend = |q: Array, k: Array, v: Array, mask: Option<&Array>| {
            let mode =
                mask.map_or(ScaledDotProductAttentionMask::Causal, ScaledDotProductAttentionMask::Array);
            fast::scaled_dot_product_attention(q, k, v, scale, mode, None)
        };
        let o = match context.query_chunk {
            Some(chunk) if chunk > 0 && chunk < l => {
                let mut parts = Vec::new();
                let mut start = 0;
                while start < l {
                    let end = (start + chunk).min(l);
                    // MLX aligns a causal mask with fewer queries than keys
                    // to the last keys: query `start + i` sees keys ..= start + i.
                    let mask = context.mask.as_ref().map(|m| m.index((.., .., start..end, ..end)));
                    parts.push(attend(
                        q.index((.., .., start..end, ..)),
                        k.index((.., .., ..end, ..)),
                        v.index((.., .., ..end, ..)),
                        mask.as_ref(),
                    )?);
                    start = end;
                }
                mlx_rs::ops::concatenate(&parts, 2)?
            }
            _ => attend(q, k, v, context.mask.as_ref())?,
        };
        let o = o.transpose_axes(&[0, 2, 1, 3])?.reshape(&[b, l, self.num_heads * self.head_dim])?;
        self.o_proj.forward(&o)
    }
}

/// SwiGLU: `down(silu(gate(x)) * up(x))`, frozen.
#[derive(Debug, Clone)]
pub struct Mlp {
    pub gate: Tensor,
    pub up: Tensor,
    pub down: Tensor,
}

impl Mlp {
    pub fn forward(&self, x: &Array) -> MlxResult<Array> {
        let g = self.gate.matmul_t(x)?;
        let h = mlx_rs::nn::silu(g)?.multiply(self.up.matmul_t(x)?)?;
        self.down.matmul_t(&h)
    }
}

#[derive(Debug, Clone, ModuleParameters)]
pub struct Block {
    #[param]
    pub attn: Attention,
    pub mlp: Mlp,
    pub attn_norm: Array,
    pub ffn_norm: Array,
    pub eps: f32,
}

impl Block {
    pub fn forward(&self, x: &Array, context: &AttentionContext) -> MlxResult<Array> {
        let h = x.add(self.attn.forward(&fast::rms_norm(x, Some(&self.attn_norm), self.eps)?, context)?)?;
        h.add(self.mlp.forward(&fast::rms_norm(&h, Some(&self.ffn_norm), self.eps)?)?)
    }
}

/// The decoder. Its module parameters are the LoRA adapters only.
#[derive(Debug, Clone, ModuleParameters)]
pub struct Llama {
    pub config: LlamaConfig,
    pub embed: Tensor,
    #[param]
    pub layers: Vec<Block>,
    pub norm: Array,
    /// The output projection when not tied to the embedding.
    pub output: Option<Tensor>,
    /// Dtype of the activations (that of the dense weights).
    pub dtype: Dtype,
    /// The adapters' config once [`crate::lora::apply`] ran.
    pub lora: Option<LoraConfig>,
    /// Attention in chunks of this many queries ([`AttentionContext`]).
    pub attention_query_chunk: Option<i32>,
}

impl Llama {
    /// Builds the model from loaded weights.
    pub fn from_weights(mut weights: Weights, dtype: Dtype) -> Result<Self> {
        let c = weights.config.clone();
        let mut layers = Vec::with_capacity(c.num_layers as usize);
        for i in 0..c.num_layers {
            let mut t = |part: &str| weights.take(&format!("blk.{i}.{part}"));
            // Loaded in `dtype` already (see `Weights`): this only unwraps.
            let dense = |t: Tensor| -> Result<Array> { t.to_dense(dtype) };
            layers.push(Block {
                attn: Attention {
                    q_proj: LoraLinear::frozen(t("attn_q")?),
                    k_proj: LoraLinear::frozen(t("attn_k")?),
                    v_proj: LoraLinear::frozen(t("attn_v")?),
                    o_proj: LoraLinear::frozen(t("attn_output")?),
                    num_heads: c.num_heads,
                    num_kv_heads: c.num_kv_heads,
                    head_dim: c.head_dim,
                    rope_theta: c.rope_theta,
                    rope_traditional: c.rope_traditional,
                },
                mlp: Mlp { gate: t("ffn_gate")?, up: t("ffn_up")?, down: t("ffn_down")? },
                attn_norm: dense(t("attn_norm")?)?,
                ffn_norm: dense(t("ffn_norm")?)?,
                eps: c.rms_norm_eps,
            });
        }
        let embed = weights.take("token_embd")?;
        let norm = weights.take("output_norm")?.to_dense(dtype)?;
        let output = if c.tie_word_embeddings { None } else { Some(weights.take("output")?) };
        Ok(Self { config: c, embed, layers, norm, output, dtype, lora: None, attention_query_chunk: None })
    }

    /// Loads a GGUF file; returns the model and the open file (its metadata
    /// holds the tokenizer).
    pub fn load_gguf(path: &std::path::Path, options: LoadOptions) -> Result<(Self, GgufFile)> {
        let file = open_gguf(path)?;
        let weights = Weights::from_gguf(&file, options)?;
        Ok((Self::from_weights(weights, options.dtype)?, file))
    }

    /// Loads a Hugging Face checkpoint folder (config.json + safetensors).
    pub fn load_safetensors(dir: &std::path::Path, options: LoadOptions) -> Result<Self> {
        Self::from_weights(Weights::from_safetensors_dir(dir, options)?, options.dtype)
    }

    /// Final hidden states `[B, L, D]` for token ids `[B, L]` (int32).
    pub fn hidden(&self, tokens: &Array) -> MlxResult<Array> {
        self.hidden_segmented(tokens, None)
    }

    /// [`Llama::hidden`] for rows that may hold several examples:
    /// `segments` `[B, L]` says which (see [`crate::data::Batch::segments`]).
    pub fn hidden_segmented(&self, tokens: &Array, segments: Option<&Array>) -> MlxResult<Array> {
        let context = AttentionContext {
            mask: segments.map(|s| AttentionContext::for_segments(s, self.dtype)).transpose()?,
            query_chunk: self.attention_query_chunk,
        };
        let mut h = self.embed.rows(tokens, self.dtype)?;
        for layer in &self.layers {
            h = layer.forward(&h, &context)?;
        }
        fast::rms_norm(&h, Some(&self.norm), self.config.rms_norm_eps)
    }

    /// Logits `[B, L, V]` in f32.
    pub fn forward(&self, tokens: &Array) -> MlxResult<Array> {
        self.forward_segmented(tokens, None)
    }

    /// Logits of a batch's inputs, packed rows included.
    pub fn forward_batch(&self, batch: &crate::data::Batch) -> MlxResult<Array> {
        self.forward_segmented(&batch.inputs, batch.segments.as_ref())
    }

    /// [`Llama::forward`] with segment ids, as [`Llama::hidden_segmented`].
    pub fn forward_segmented(&self, tokens: &Array, segments: Option<&Array>) -> MlxResult<Array> {
        let h = self.hidden_segmented(tokens, segments)?;
        let logits = match &self.output {
            Some(out) => out.matmul_t(&h)?,
            None => self.embed.matmul_t(&h)?,
        };
        logits.as_dtype(Dtype::Float32)
    }

    /// Sets the forward of every LoRA layer.
    pub fn set_lora_forward(&mut self, f: LoraForwardFn) {
        for layer in &mut self.layers {
            let a = &mut layer.attn;
            for p in [&mut a.q_proj, &mut a.k_proj, &mut a.v_proj, &mut a.o_proj] {
                p.forward_fn = f;
            }
        }
    }

    /// Bytes held by the base weights.
    pub fn base_nbytes(&self) -> usize {
        let mut n = self.embed.nbytes() + self.norm.nbytes() + self.output.as_ref().map_or(0, Tensor::nbytes);
        for l in &self.layers {
            let a = &l.attn;
            n += [&a.q_proj, &a.k_proj, &a.v_proj, &a.o_proj].iter().map(|p| p.base.nbytes()).sum::<usize>();
            n += l.mlp.gate.nbytes() + l.mlp.up.nbytes() + l.mlp.down.nbytes();
            n += l.attn_norm.nbytes() + l.ffn_norm.nbytes();
        }
        n
    }

    /// Greedy decoding from `prompt` until `stop` or `max_new` tokens;
    /// returns the new tokens (without the stop token). Recomputes the whole
    /// sequence each step (no KV cache): fine for short answers.
    pub fn generate_greedy(&self, prompt: &[u32], max_new: usize, stop: &[u32]) -> Result<Vec<u32>> {
        let mut ids: Vec<i32> = prompt.iter().map(|&t| t as i32).collect();
        let mut out = Vec::new();
        for _ in 0..max_new {
            let x = Array::from_slice(&ids, &[1, ids.len() as i32]);
            let logits = self.forward(&x)?;
            let last = logits.index((.., -1, ..));
            let next = argmax_axis(&last, -1, false)?.as_dtype(Dtype::Int32)?;
            let next = next.as_slice::<i32>()[0];
            if stop.contains(&(next as u32)) {
                break;
            }
            out.push(next as u32);
            ids.push(next);
        }
        Ok(out)
    }
}

/// MLX's GGUF reader (gguflib) opens the file read-write. Where only reading
/// is allowed (an evaluation sandbox), it reads a private copy in the temp
/// directory instead, removed once loaded.
fn open_gguf(path: &std::path::Path) -> Result<GgufFile> {
    let direct = match GgufFile::load(path) {
        Ok(file) => return Ok(file),
        Err(e) => e,
    };
    if std::fs::OpenOptions::new().append(true).open(path).is_ok() {
        return Err(direct.into());
    }
    let copy = std::env::temp_dir().join(format!(
        ".{}.{}.gguf",
        path.file_stem().and_then(|s| s.to_str()).unwrap_or("model"),
        std::process::id()
    ));
    std::fs::copy(path, &copy).map_err(|e| crate::Error::io(&copy, e))?;
    let loaded = GgufFile::load(&copy);
    let _ = std::fs::remove_file(&copy);
    Ok(loaded?)
}
