//! Reading a model's tensors: GGUF (as MLX loads it natively: Q4_0/Q4_1 as
//! 4-bit and Q8_0 as 8-bit affine-quantized arrays with group size 32) and
//! safetensors with Hugging Face names. Tensors are keyed by their GGUF names
//! (`token_embd`, `blk.N.attn_q`, ...), without the `.weight` suffix.

use std::collections::HashMap;
use std::path::Path;

use mlx_rs::error::Exception;
use mlx_rs::io::GgufFile;
use mlx_rs::ops::{dequantize, quantized_matmul};
use mlx_rs::{Array, Dtype};

use crate::config::LlamaConfig;
use crate::{Error, Result};

/// GGUF quantizes in blocks of 32 values for every type MLX reads.
pub const GGUF_GROUP_SIZE: i32 = 32;

/// A weight matrix `[out, in]`, dense or affine-quantized (MLX's packing).
#[derive(Debug, Clone)]
pub enum Tensor {
    Dense(Array),
    Quantized { weight: Array, scales: Array, biases: Array, group_size: i32, bits: i32 },
}

impl Tensor {
    /// `[out, in]` of the logical (dequantized) matrix, or the array's shape.
    pub fn shape(&self) -> Vec<i32> {
        match self {
            Tensor::Dense(a) => a.shape().to_vec(),
            Tensor::Quantized { weight, bits, .. } => {
                let s = weight.shape();
                vec![s[0], s[1] * 32 / bits]
            }
        }
    }

    /// The arrays that hold it.
    pub fn arrays(&self) -> Vec<&Array> {
        match self {
            Tensor::Dense(a) => vec![a],
            Tensor::Quantized { weight, scales, biases, .. } => vec![weight, scales, biases],
        }
    }

    pub fn is_quantized(&self) -> bool {
        matches!(self, Tensor::Quantized { .. })
    }

    /// The dense matrix in `dtype`.
    pub fn to_dense(&self, dtype: Dtype) -> Result<Array> {
        Ok(match self {
            Tensor::Dense(a) => a.as_dtype(dtype)?,
            Tensor::Quantized { weight, scales, biases, group_size, bits } => {
                dequantize(weight, scales, biases, *group_size, *bits)?.as_dtype(dtype)?
            }
        })
    }

    /// `x · Wᵀ`.
    pub fn matmul_t(&self, x: &Array) -> std::result::Result<Array, Exception> {
        Ok(match self {
            Tensor::Dense(w) => x.matmul(w.t())?,
            Tensor::Quantized { weight, scales, biases, group_size, bits } => {
                quantized_matmul(x, weight, scales, biases, true, *group_size, *bits)?
            }
        })
    }

    /// Rows `ids` of the matrix (an embedding lookup), dense in `dtype`.
    pub fn rows(&self, ids: &Array, dtype: Dtype) -> std::result::Result<Array, Exception> {
        Ok(match self {
            Tensor::Dense(w) => w.take_axis(ids, 0)?.as_dtype(dtype)?,
            Tensor::Quantized { weight, scales, biases, group_size, bits } => dequantize(
                weight.take_axis(ids, 0)?,
                scales.take_axis(ids, 0)?,
                &biases.take_axis(ids, 0)?,
                *group_size,
                *bits,
            )?
            .as_dtype(dtype)?,
        })
    }

    /// Bytes the arrays hold.
    pub fn nbytes(&self) -> usize {
        match self {
            Tensor::Dense(a) => a.nbytes(),
            Tensor::Quantized { weight, scales, biases, .. } => {
                weight.nbytes() + scales.nbytes() + biases.nbytes()
            }
        }
    }
}

/// How to hold the base weights in memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadOptions {
    /// Dtype of dense weights and of the activations.
    pub dtype: Dtype,
    /// Keep the linear layers 4-bit as the file has them (QLoRA). On the
    /// CPU MLX's quantized matmul is slow, so the default dequantizes once at
    /// load.
    pub keep_quantized: bool,
    /// Otherwise, quantize the linear layers to this many bits (2, 3, 4, 5,
    /// 6 or 8; MLX's affine scheme, groups of 32) from their dense values.
    /// 8 bits hold the file's 4-bit values exactly, at a quarter of f32's
    /// memory.
    pub quantize_bits: Option<i32>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self { dtype: Dtype::Float32, keep_quantized: false, quantize_bits: None }
    }
}

/// Bit widths MLX's affine quantization packs.
pub const QUANT_BITS: [i32; 6] = [2, 3, 4, 5, 6, 8];

/// `tensor` quantized to `bits` from its dense values; scales and biases in
/// the activations' `dtype`.
fn quantized(tensor: &Tensor, bits: i32, dtype: Dtype) -> Result<Tensor> {
    if !QUANT_BITS.contains(&bits) {
        return Err(Error::Model(format!("quantize_bits is {bits}; MLX packs {QUANT_BITS:?}")));
    }
    let dense = tensor.to_dense(Dtype::Float32)?;
    let (weight, scales, biases) = mlx_rs::ops::quantize(&dense, GGUF_GROUP_SIZE, bits)?;
    Ok(Tensor::Quantized {
        weight,
        scales: scales.as_dtype(dtype)?,
        biases: biases.as_dtype(dtype)?,
        group_size: GGUF_GROUP_SIZE,
        bits,
    })
}

/// A model's tensors by GGUF name, with its config.
#[derive(Debug)]
pub struct Weights {
    pub config: LlamaConfig,
    pub tensors: HashMap<String, Tensor>,
}

impl Weights {
    /// Removes and returns tensor `name`.
    pub fn take(&mut self, name: &str) -> Result<Tensor> {
        self.tensors.remove(name).ok_or_else(|| Error::Model(format!("tensor {name} missing")))
    }

    /// Reads a GGUF file: config from its metadata, tensors as MLX returns
    /// them, converted per `options` and evaluated (so the file's arrays are freed).
    pub fn from_gguf(file: &GgufFile, options: LoadOptions) -> Result<Self> {
        let config = LlamaConfig::from_gguf(file)?;
        let mut raw = file.arrays()?;
        let names: Vec<String> =
            raw.keys().filter_map(|k| k.strip_suffix(".weight").map(str::to_string)).collect();
        let mut tensors = HashMap::new();
        for name in names {
            let weight = raw.remove(&format!("{name}.weight")).expect("listed key");
            let scales = raw.remove(&format!("{name}.scales"));
            let biases = raw.remove(&format!("{name}.biases"));
            let tensor = match (scales, biases) {
                (Some(scales), Some(biases)) => {
                    let bits = weight.shape()[1] / scales.shape()[1];
                    if !QUANT_BITS.contains(&bits) || weight.dtype() != Dtype::Uint32 {
                        return Err(Error::Model(format!("{name}: unsupported quantization ({bits} bits)")));
                    }
                    Tensor::Quantized { weight, scales, biases, group_size: GGUF_GROUP_SIZE, bits }
                }
                (None, None) => Tensor::Dense(weight),
                _ => return Err(Error::Model(format!("{name}: scales without biases"))),
            };
            // Norms (1-D) are dense in the activations' dtype: MLX's rms_norm
            // returns the promoted type of its input and weight, so f32 norms
            // would turn every later matmul of a bf16 model into f32.
            // Matrices follow the options.
            let tensor = if tensor.shape().len() == 1 {
                Tensor::Dense(tensor.to_dense(options.dtype)?)
            } else if tensor.is_quantized() && options.keep_quantized && name != "token_embd" {
                tensor
            } else if let Some(bits) = options.quantize_bits
                && name != "token_embd"
            {
                quantized(&tensor, bits, options.dtype)?
            } else {
                Tensor::Dense(tensor.to_dense(options.dtype)?)
            };
            tensors.insert(name, tensor);
        }
        let weights = Self { config, tensors };
        weights.eval()?;
        Ok(weights)
    }

    /// Reads a Hugging Face Llama checkpoint: `config.json` and
    /// `model.safetensors` (or every `*.safetensors`) in `dir`, dense weights.
    pub fn from_safetensors_dir(dir: &Path, options: LoadOptions) -> Result<Self> {
        let config_path = dir.join("config.json");
        let text = std::fs::read_to_string(&config_path).map_err(|e| Error::io(&config_path, e))?;
        let config = LlamaConfig::from_hf_json(&text)?;
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::Model(format!("no .safetensors file in {}", dir.display())));
        }
        let mut tensors = HashMap::new();
        for file in files {
            for (name, array) in Array::load_safetensors(&file)? {
                let Some(name) = gguf_name(&name) else { continue };
                // Norms too, as in `from_gguf`.
                tensors.insert(name, Tensor::Dense(array.as_dtype(options.dtype)?));
            }
        }
        let weights = Self { config, tensors };
        weights.eval()?;
        Ok(weights)
    }

    fn eval(&self) -> Result<()> {
        let arrays: Vec<&Array> = self
            .tensors
            .values()
            .flat_map(|t| match t {
                Tensor::Dense(a) => vec![a],
                Tensor::Quantized { weight, scales, biases, .. } => vec![weight, scales, biases],
            })
            .collect();
        mlx_rs::transforms::eval(arrays)?;
        Ok(())
    }
}

/// The GGUF name of a Hugging Face Llama tensor (without `.weight`), or None
/// for tensors the model does not use (e.g. rotary caches).
pub fn gguf_name(hf: &str) -> Option<String> {
    let hf = hf.strip_suffix(".weight")?;
    match hf {
        "model.embed_tokens" => return Some("token_embd".into()),
        "model.norm" => return Some("output_norm".into()),
        "lm_head" => return Some("output".into()),
        _ => {}
    }
    let rest = hf.strip_prefix("model.layers.")?;
    let (layer, part) = rest.split_once('.')?;
    let part = match part {
        "self_attn.q_proj" => "attn_q",
        "self_attn.k_proj" => "attn_k",
        "self_attn.v_proj" => "attn_v",
        "self_attn.o_proj" => "attn_output",
        "mlp.gate_proj" => "ffn_gate",
        "mlp.up_proj" => "ffn_up",
        "mlp.down_proj" => "ffn_down",
        "input_layernorm" => "attn_norm",
        "post_attention_layernorm" => "ffn_norm",
        _ => return None,
    };
    Some(format!("blk.{layer}.{part}"))
}
