//! Memory: MLX's allocator counters, their trace over a run and whether it
//! looks like a leak, and the batch size that fits a memory budget.

use mlx_rs::module::ModuleParameters as _;
use mlx_rs::{Array, memory, transforms};

use super::{OptimizerConfig, TrainStep};
use crate::data::{BatchOptions, Tokenized};
use crate::model::Llama;
use crate::{Error, Result};

/// MLX's allocator counters (bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemoryStats {
    pub peak: usize,
    pub active: usize,
}

impl MemoryStats {
    pub fn now() -> Result<Self> {
        Ok(Self { peak: memory::peak_memory()?, active: memory::active_memory()? })
    }
}

/// The memory counters after step `step` (1-based) was evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemorySample {
    pub step: usize,
    pub active: usize,
    pub peak: usize,
}

/// How active memory moved over a run, and whether that looks like a leak.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MemoryGrowth {
    /// Least-squares slope of active memory over steps, after the first
    /// quarter of the samples (warm-up: optimizer state, caches).
    pub bytes_per_step: f64,
    /// The slope over the rest of the run, in bytes.
    pub projected_bytes: f64,
    /// `projected_bytes` above [`LEAK_FRACTION`] of the active memory at the
    /// start of that stretch, and above [`LEAK_MIN_BYTES`].
    pub leaking: bool,
}

/// Growth, as a share of what was active, that counts as a leak.
pub const LEAK_FRACTION: f64 = 0.02;
/// Growth below this is never a leak (allocator noise).
pub const LEAK_MIN_BYTES: f64 = 8.0 * 1024.0 * 1024.0;

/// Whether active memory keeps growing through the run: a step that holds
/// on to arrays from step to step (a leak) grows it by the same amount each
/// step, where a sound one levels off once the optimizer state exists.
/// `None` with fewer than four samples after the warm-up.
pub fn memory_growth(trace: &[MemorySample]) -> Option<MemoryGrowth> {
    let tail = &trace[trace.len() / 4..];
    if tail.len() < 4 {
        return None;
    }
    let n = tail.len() as f64;
    let mean_x = tail.iter().map(|s| s.step as f64).sum::<f64>() / n;
    let mean_y = tail.iter().map(|s| s.active as f64).sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for s in tail {
        let (dx, dy) = (s.step as f64 - mean_x, s.active as f64 - mean_y);
        sxy += dx * dy;
        sxx += dx * dx;
    }
    let bytes_per_step = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let span = (tail[tail.len() - 1].step - tail[0].step) as f64;
    let projected_bytes = bytes_per_step * span;
    let leaking = projected_bytes > LEAK_MIN_BYTES.max(LEAK_FRACTION * tail[0].active as f64);
    Some(MemoryGrowth { bytes_per_step, projected_bytes, leaking })
}

/// MLX's peak memory over one step of `step` at batch size `size`, on a copy
/// of the model and over the longest examples (the worst case a run meets).
pub fn step_peak_memory(
    model: &Llama,
    examples: &[Tokenized],
    options: &BatchOptions,
    optimizer: OptimizerConfig,
    step: &mut dyn TrainStep,
    size: usize,
) -> Result<usize> {
    let mut longest: Vec<&Tokenized> = examples.iter().collect();
    longest.sort_by_key(|t| std::cmp::Reverse(t.tokens.len()));
    if size == 0 || size > longest.len() {
        return Err(Error::Train(format!("batch size {size}: there are {} examples", longest.len())));
    }
    let batch = crate::data::make_batches(&longest[..size], &BatchOptions { batch_size: size, ..*options })?;
    let mut probe = model.clone();
    let mut opt = optimizer.build();
    memory::clear_cache()?;
    memory::reset_peak_memory()?;
    let out = step.step(&mut probe, &mut opt, &batch[..1])?;
    eval_with_adapters(vec![&out.loss], &probe)?;
    let peak = memory::peak_memory()?;
    drop((out, probe, opt));
    memory::clear_cache()?;
    Ok(peak)
}

/// Evaluates `arrays` with the model's adapters (and through them the
/// optimizer state): what a step's graph must have computed.
pub(super) fn eval_with_adapters<'a>(mut arrays: Vec<&'a Array>, model: &'a Llama) -> Result<()> {
    let params = model.trainable_parameters().flatten();
    arrays.extend(params.values().copied());
    transforms::eval(arrays)?;
    Ok(())
}

/// The largest of `sizes` whose step stays within `budget_bytes` of MLX
/// memory ([`step_peak_memory`], smallest size first): a batch size for a
/// run bounded by memory. Errors when not even the smallest fits.
pub fn largest_batch_within(
    model: &Llama,
    examples: &[Tokenized],
    options: &BatchOptions,
    optimizer: OptimizerConfig,
    step: &mut dyn TrainStep,
    sizes: &[usize],
    budget_bytes: usize,
) -> Result<usize> {
    let mut sizes = sizes.to_vec();
    sizes.sort_unstable();
    let mut chosen = None;
    for &size in &sizes {
        if step_peak_memory(model, examples, options, optimizer, step, size)? > budget_bytes {
            break;
        }
        chosen = Some(size);
    }
    chosen.ok_or_else(|| {
        Error::Train(format!(
            "no batch size of {sizes:?} trains within {:.0} MB of MLX memory",
            budget_bytes as f64 / 1e6
        ))
    })
}
