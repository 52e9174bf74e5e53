//! The LoRA layer and where adapters go.
//!
//! A [`LoraLinear`] holds a frozen base matrix `W` (`[out, in]`, dense or
//! quantized) and, when adapted, two trainable matrices `A` (`[in, r]`) and
//! `B` (`[r, out]`): `y = x·Wᵀ + scale·(x·A)·B`. `A` starts uniform in
//! ±1/√in and `B` at zero, so an adapted model starts equal to the base.
//! The forward is a plain function pointer ([`LoraForwardFn`]) so that another
//! implementation (e.g. an evolved one) can be swapped in without touching the
//! model; [`standard_forward`] is the reference.

use std::collections::HashMap;
use std::path::Path;

use mlx_rs::error::Exception;
use mlx_rs::macros::ModuleParameters;
use mlx_rs::module::{ModuleParameters as _, Param};
use mlx_rs::{Array, random};

use crate::model::Llama;
use crate::weights::Tensor;
use crate::{Error, Result};

/// `forward(x, base, a, b, scale)`: the output of an adapted projection.
pub type LoraForwardFn = fn(&Array, &Tensor, &Array, &Array, f32) -> std::result::Result<Array, Exception>;

/// The reference forward: `x·Wᵀ + scale·(x·A)·B`, the adapter's term cast
/// back to the activations' dtype (A and B are f32; a bf16 model stays bf16).
pub fn standard_forward(
    x: &Array,
    base: &Tensor,
    a: &Array,
    b: &Array,
    scale: f32,
) -> std::result::Result<Array, Exception> {
    let y = base.matmul_t(x)?;
    let z = x.matmul(a)?.matmul(b)?.multiply(Array::from_f32(scale))?;
    y.add(z.as_dtype(x.dtype())?)
}

/// A linear layer with an optional low-rank adapter.
#[derive(Debug, Clone, ModuleParameters)]
pub struct LoraLinear {
    pub base: Tensor,
    #[param]
    pub lora_a: Param<Option<Array>>,
    #[param]
    pub lora_b: Param<Option<Array>>,
    pub scale: f32,
    pub forward_fn: LoraForwardFn,
}

impl LoraLinear {
    /// A layer without an adapter.
    pub fn frozen(base: Tensor) -> Self {
        Self {
            base,
            lora_a: Param::new(None),
            lora_b: Param::new(None),
            scale: 0.0,
            forward_fn: standard_forward,
        }
    }

    pub fn is_adapted(&self) -> bool {
        self.lora_a.value.is_some()
    }

    /// Adds an adapter of `rank` with `scale`; `A` drawn from `key`.
    pub fn adapt(&mut self, rank: i32, scale: f32, key: &Array) -> Result<()> {
        let shape = self.base.shape();
        let (out_dims, in_dims) = (shape[0], shape[1]);
        let bound = 1.0 / (in_dims as f32).sqrt();
        let a = random::uniform::<_, f32>(-bound, bound, &[in_dims, rank][..], key)?;
        let b = mlx_rs::ops::zeros::<f32>(&[rank, out_dims])?;
        self.lora_a = Param::new(Some(a));
        self.lora_b = Param::new(Some(b));
        self.scale = scale;
        Ok(())
    }

    pub fn forward(&self, x: &Array) -> std::result::Result<Array, Exception> {
        match (&self.lora_a.value, &self.lora_b.value) {
            (Some(a), Some(b)) => (self.forward_fn)(x, &self.base, a, b, self.scale),
            _ => self.base.matmul_t(x),
        }
    }

    /// The adapter's rank (0 when not adapted).
    pub fn rank(&self) -> i32 {
        self.lora_a.value.as_ref().map_or(0, |a| a.shape()[1])
    }
}

/// Which attention projections get adapters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoraTarget {
    QProj,
    KProj,
    VProj,
    OProj,
}

/// Adapter placement and size; the defaults are mlx-lm's (rank 8, scale 20,
/// no dropout, q and v projections) except `num_layers`, mlx-lm's 16.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LoraConfig {
    /// Adapters go on the last `num_layers` blocks.
    pub num_layers: i32,
    pub rank: i32,
    pub scale: f32,
    pub targets: Vec<LoraTarget>,
    /// Seed of the `A` initialisation.
    pub seed: u64,
}

impl Default for LoraConfig {
    fn default() -> Self {
        Self {
            num_layers: 16,
            rank: 8,
            scale: 20.0,
            targets: vec![LoraTarget::QProj, LoraTarget::VProj],
            seed: 0,
        }
    }
}

/// Adds adapters to `model` per `config`, deterministically from its seed.
pub fn apply(model: &mut Llama, config: &LoraConfig) -> Result<()> {
    let total = model.layers.len() as i32;
    if config.num_layers < 1 || config.num_layers > total || config.rank < 1 {
        return Err(Error::Adapters(format!(
            "num_layers {} (model has {total}) and rank {} must be at least 1",
            config.num_layers, config.rank
        )));
    }
    for index in (total - config.num_layers)..total {
        let attn = &mut model.layers[index as usize].attn;
        for (t, target) in config.targets.iter().enumerate() {
            let key =
                random::key(config.seed.wrapping_mul(1 << 20).wrapping_add((index * 4 + t as i32) as u64))?;
            let proj = match target {
                LoraTarget::QProj => &mut attn.q_proj,
                LoraTarget::KProj => &mut attn.k_proj,
                LoraTarget::VProj => &mut attn.v_proj,
                LoraTarget::OProj => &mut attn.o_proj,
            };
            proj.adapt(config.rank, config.scale, &key)?;
        }
    }
    model.lora = Some(config.clone());
    Ok(())
}

/// The adapter arrays by name (`layers.29.attn.q_proj.lora_a`, ...).
pub fn adapter_arrays(model: &Llama) -> HashMap<String, Array> {
    model.trainable_parameters().flatten().into_iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

const CONFIG_KEY: &str = "mlx_lora.config";

/// Writes the adapters and their config (as safetensors metadata).
pub fn save_adapters(model: &Llama, path: &Path) -> Result<()> {
    let config = model.lora.as_ref().ok_or_else(|| Error::Adapters("the model has no adapters".into()))?;
    let arrays = adapter_arrays(model);
    let metadata =
        HashMap::from([(CONFIG_KEY.to_string(), serde_json::to_string(config).expect("plain struct"))]);
    Array::save_safetensors(arrays.iter().map(|(k, v)| (k.as_str(), v)), &metadata, path)?;
    Ok(())
}

/// Reads adapters written by [`save_adapters`] into `model`: applies their
/// config when the model has none, then replaces every adapter array, checking
/// that names and shapes match exactly.
pub fn load_adapters(model: &mut Llama, path: &Path) -> Result<LoraConfig> {
    let (arrays, metadata) = Array::load_safetensors_with_metadata(path)?;
    let config: LoraConfig = metadata
        .get(CONFIG_KEY)
        .ok_or_else(|| Error::Adapters(format!("{}: no {CONFIG_KEY} metadata", path.display())))
        .and_then(|s| serde_json::from_str(s).map_err(|e| Error::Adapters(format!("{CONFIG_KEY}: {e}"))))?;
    match &model.lora {
        None => apply(model, &config)?,
        Some(existing) if *existing == LoraConfig { seed: existing.seed, ..config.clone() } => {}
        Some(existing) => {
            return Err(Error::Adapters(format!("file has config {config:?}, model has {existing:?}")));
        }
    }
    let expected = adapter_arrays(model);
    if expected.len() != arrays.len() {
        return Err(Error::Adapters(format!(
            "{} arrays in the file, {} adapters in the model",
            arrays.len(),
            expected.len()
        )));
    }
    for (name, array) in &arrays {
        let want = expected.get(name).ok_or_else(|| Error::Adapters(format!("unexpected array {name}")))?;
        if want.shape() != array.shape() {
            return Err(Error::Adapters(format!(
                "{name}: shape {:?}, expected {:?}",
                array.shape(),
                want.shape()
            )));
        }
    }
    model.update_flattened(arrays.into_iter().map(|(k, v)| (std::rc::Rc::from(k.as_str()), v)).collect());
    Ok(config)
}
