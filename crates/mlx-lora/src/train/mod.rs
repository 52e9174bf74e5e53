//! Loss, the training step, the trainer, validation loss and memory counters.
//!
//! The trainer is split so that each part can be replaced on its own (an
//! evolved candidate supplies some of them, the evaluator keeps the rest):
//! the LoRA forward ([`crate::lora::LoraForwardFn`], set on the model), the
//! step ([`TrainStep`]: loss, gradients, update over the micro-batches of one
//! optimizer step), the batching ([`crate::data::BatchFn`]) and the
//! evaluation cadence (`TrainConfig::eval_every`: MLX's lazy graph is
//! evaluated every k steps). [`validation_loss`] always uses the reference
//! loss, so a step cannot change how it is judged.

use std::time::Instant;

use mlx_rs::error::Exception;
use mlx_rs::module::FlattenedModuleParam;
use mlx_rs::optimizers::{Adam, AdamW, Optimizer};
use mlx_rs::{Array, Dtype, memory, nn};

use crate::data::{Batch, BatchFn, BatchOptions, Tokenized, epoch_order};
use crate::model::Llama;
use crate::{Error, Result};

type MlxResult<T> = std::result::Result<T, Exception>;

mod footprint;

use footprint::eval_with_adapters;
pub use footprint::{
    LEAK_FRACTION, LEAK_MIN_BYTES, MemoryGrowth, MemorySample, MemoryStats, largest_batch_within,
    memory_growth, step_peak_memory,
};

/// Summed next-token cross-entropy of `logits` `[B, L, V]` against `targets`
/// `[B, L]` (int32), weighted by `mask` `[B, L]` (f32, 1 where counted).
pub fn masked_cross_entropy_sum(logits: &Array, targets: &Array, mask: &Array) -> MlxResult<Array> {
    let lse = logits.logsumexp_axis(-1, false)?;
    let picked = logits.take_along_axis(targets.expand_dims(-1)?, -1)?.squeeze_axes(&[-1])?;
    lse.subtract(picked)?.multiply(mask)?.sum(None)
}

/// The reference loss: mean cross-entropy over the batch's counted tokens.
pub fn batch_loss(model: &Llama, batch: &Batch) -> MlxResult<Array> {
    let logits = model.forward_batch(batch)?;
    let sum = masked_cross_entropy_sum(&logits, &batch.targets, &batch.mask)?;
    sum.divide(Array::from_f32(batch.tokens.max(1) as f32))
}

/// `exp` of the mean next-token loss over `ids` (one sequence).
pub fn perplexity(model: &Llama, ids: &[u32]) -> Result<f64> {
    if ids.len() < 2 {
        return Err(Error::Data("perplexity needs at least two tokens".into()));
    }
    let n = ids.len() as i32;
    let ids: Vec<i32> = ids.iter().map(|&t| t as i32).collect();
    let inputs = Array::from_slice(&ids[..ids.len() - 1], &[1, n - 1]);
    let targets = Array::from_slice(&ids[1..], &[1, n - 1]);
    let mask = mlx_rs::ops::ones::<f32>(&[1, n - 1])?;
    let logits = model.forward(&inputs)?;
    let total = masked_cross_entropy_sum(&logits, &targets, &mask)?;
    Ok((total.item_exact::<f32>() as f64 / (n - 1) as f64).exp())
}

/// Token-weighted mean loss of `model` over `examples` with the reference
/// loss, batched with [`crate::data::make_batches`] (no packing).
pub fn validation_loss(model: &Llama, examples: &[Tokenized], options: &BatchOptions) -> Result<f64> {
    let refs: Vec<&Tokenized> = examples.iter().collect();
    let options = BatchOptions { pack_len: None, ..*options };
    let mut total = 0.0f64;
    let mut tokens = 0usize;
    for batch in crate::data::make_batches(&refs, &options)? {
        let logits = model.forward(&batch.inputs)?;
        let sum = masked_cross_entropy_sum(&logits, &batch.targets, &batch.mask)?;
        total += sum.item_exact::<f32>() as f64;
        tokens += batch.tokens;
    }
    if tokens == 0 {
        return Err(Error::Data("no tokens to validate on".into()));
    }
    Ok(total / tokens as f64)
}

/// The optimizers mlx-lm offers for LoRA by default.
pub enum Opt {
    Adam(Adam),
    AdamW(AdamW),
}

impl Opt {
    pub fn update(&mut self, model: &mut Llama, grads: &FlattenedModuleParam) -> MlxResult<()> {
        match self {
            Opt::Adam(o) => o.update(model, grads),
            Opt::AdamW(o) => o.update(model, grads),
        }
    }
}

/// Optimizer choice and learning rate.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerConfig {
    Adam { lr: f32 },
    AdamW { lr: f32, weight_decay: f32 },
}

impl OptimizerConfig {
    pub fn build(&self) -> Opt {
        match *self {
            OptimizerConfig::Adam { lr } => Opt::Adam(Adam::new(lr)),
            OptimizerConfig::AdamW { lr, weight_decay } => {
                let mut o = AdamW::new(lr);
                o.weight_decay = Array::from_f32(weight_decay);
                Opt::AdamW(o)
            }
        }
    }
}

/// What one optimizer step reports: the mean loss over its tokens (lazy;
/// the trainer reads it at the evaluation cadence) and the token count.
pub struct StepOutput {
    pub loss: Array,
    pub tokens: usize,
}

/// One optimizer step over the micro-batches of a gradient-accumulation group.
pub trait TrainStep {
    fn step(&mut self, model: &mut Llama, optimizer: &mut Opt, micro_batches: &[Batch])
    -> Result<StepOutput>;
}

/// The reference step: [`accumulated_gradients`], then one optimizer update.
#[derive(Debug, Default, Clone, Copy)]
pub struct StandardStep;

/// The reference gradients of one optimizer step: value-and-grad of
/// [`batch_loss`] per micro-batch, averaged with token weights (so two
/// micro-batches give the gradient of their union). Returns the mean loss
/// over all their tokens, the gradients and the token count.
pub fn accumulated_gradients(
    model: &mut Llama,
    micro_batches: &[Batch],
) -> Result<(Array, FlattenedModuleParam, usize)> {
    let total: usize = micro_batches.iter().map(|b| b.tokens).sum();
    if micro_batches.is_empty() || total == 0 {
        return Err(Error::Train("a step without tokens in the loss".into()));
    }
    let loss_fn =
        |model: &mut Llama, batch: &Batch| -> MlxResult<Vec<Array>> { Ok(vec![batch_loss(model, batch)?]) };
    let mut value_and_grad = nn::value_and_grad(loss_fn);
    let mut grads: Option<FlattenedModuleParam> = None;
    let mut loss_sum = Array::from_f32(0.0);
    for batch in micro_batches {
        let weight = Array::from_f32(batch.tokens as f32 / total as f32);
        let (values, g) = value_and_grad(model, batch)?;
        loss_sum = loss_sum.add(values[0].multiply(&weight)?)?;
        grads = Some(match grads {
            None => g.into_iter().map(|(k, v)| Ok((k, v.multiply(&weight)?))).collect::<MlxResult<_>>()?,
            Some(mut acc) => {
                for (k, v) in g {
                    let sum = acc[&k].add(v.multiply(&weight)?)?;
                    acc.insert(k, sum);
                }
                acc
            }
        });
    }
    Ok((loss_sum, grads.expect("at least one micro-batch"), total))
}

impl TrainStep for StandardStep {
    fn step(
        &mut self,
        model: &mut Llama,
        optimizer: &mut Opt,
        micro_batches: &[Batch],
    ) -> Result<StepOutput> {
        let (loss, grads, tokens) = accumulated_gradients(model, micro_batches)?;
        optimizer.update(model, &grads)?;
        Ok(StepOutput { loss, tokens })
    }
}

/// Settings of a training run. The defaults are mlx-lm's where it has one
/// (batch 4, Adam at 1e-5, prompt masked from the loss when asked).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// Optimizer steps.
    pub iters: usize,
    pub batch: BatchOptions,
    /// Micro-batches per optimizer step.
    pub grad_accumulation: usize,
    pub optimizer: OptimizerConfig,
    /// Evaluate MLX's graph (parameters, optimizer state, losses) every k steps.
    pub eval_every: usize,
    /// Seed of the data order.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            iters: 100,
            batch: BatchOptions::default(),
            grad_accumulation: 1,
            optimizer: OptimizerConfig::Adam { lr: 1e-5 },
            eval_every: 1,
            seed: 0,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TrainReport {
    /// Mean training loss of every step.
    pub losses: Vec<f32>,
    /// Tokens in the loss over the run.
    pub tokens: usize,
    /// Token positions fed through the model, padding included (for FLOPs).
    pub positions: usize,
    pub seconds: f64,
    /// `tokens / seconds`.
    pub tokens_per_second: f64,
    pub memory: MemoryStats,
    /// MLX's counters after each evaluation of the graph (every
    /// `eval_every` steps and at the end): see [`memory_growth`].
    #[serde(default)]
    pub memory_trace: Vec<MemorySample>,
}

/// The batches of one epoch over `examples` in the seeded order.
fn epoch_batches(
    examples: &[Tokenized],
    config: &TrainConfig,
    epoch: u64,
    batch_fn: BatchFn,
) -> Result<Vec<Batch>> {
    let order = epoch_order(examples.len(), config.seed, epoch);
    let ordered: Vec<&Tokenized> = order.iter().map(|&i| &examples[i]).collect();
    batch_fn(&ordered, &config.batch)
}

/// Trains the model's adapters on `examples` for `config.iters` steps: the
/// data in a seeded order, epoch after epoch, `grad_accumulation`
/// micro-batches per step from `batch_fn`, `step` doing the update, the graph
/// evaluated every `eval_every` steps. Peak memory is measured from the start;
/// the counters are sampled at each evaluation (`memory_trace`).
pub fn train(
    model: &mut Llama,
    examples: &[Tokenized],
    config: &TrainConfig,
    step: &mut dyn TrainStep,
    batch_fn: BatchFn,
) -> Result<TrainReport> {
    if model.lora.is_none() {
        return Err(Error::Train("the model has no adapters (call lora::apply)".into()));
    }
    if examples.is_empty() || config.iters == 0 || config.eval_every == 0 || config.grad_accumulation == 0 {
        return Err(Error::Train(
            "needs examples, iters, eval_every and grad_accumulation of at least 1".into(),
        ));
    }
    let mut optimizer = config.optimizer.build();
    let mut log = RunLog::start(config)?;
    let (mut epoch, mut queue) = (0u64, Vec::new().into_iter());
    for i in 0..config.iters {
        let mut micro = Vec::with_capacity(config.grad_accumulation);
        while micro.len() < config.grad_accumulation {
            match queue.next() {
                Some(b) => micro.push(b),
                None => {
                    queue = epoch_batches(examples, config, epoch, batch_fn)?.into_iter();
                    epoch += 1;
                }
            }
        }
        let positions = micro.iter().map(|b| b.inputs.size()).sum::<usize>();
        let out = step.step(model, &mut optimizer, &micro)?;
        log.after_step(i, out, positions, model)?;
    }
    log.finish()
}

/// The bookkeeping of a training loop: losses read and the graph evaluated
/// at the evaluation cadence, tokens and positions counted, the memory
/// counters sampled, the clock. Peak memory is measured from [`RunLog::start`].
pub(crate) struct RunLog {
    iters: usize,
    eval_every: usize,
    start: Instant,
    pending: Vec<Array>,
    losses: Vec<f32>,
    tokens: usize,
    positions: usize,
    memory_trace: Vec<MemorySample>,
}

impl RunLog {
    pub(crate) fn start(config: &TrainConfig) -> Result<Self> {
        memory::reset_peak_memory()?;
        Ok(Self {
            iters: config.iters,
            eval_every: config.eval_every,
            start: Instant::now(),
            pending: Vec::new(),
            losses: Vec::with_capacity(config.iters),
            tokens: 0,
            positions: 0,
            memory_trace: Vec::new(),
        })
    }

    /// After step `i` (0-based): counts it, and at the cadence evaluates the
    /// graph (losses, adapters, and through them the optimizer state).
    pub(crate) fn after_step(
        &mut self,
        i: usize,
        out: StepOutput,
        positions: usize,
        model: &Llama,
    ) -> Result<()> {
        self.tokens += out.tokens;
        self.positions += positions;
        self.pending.push(out.loss);
        if (i + 1) % self.eval_every == 0 || i + 1 == self.iters {
            eval_with_adapters(self.pending.iter().collect(), model)?;
            for loss in self.pending.drain(..) {
                self.losses.push(loss.as_dtype(Dtype::Float32)?.item_exact::<f32>());
            }
            let now = MemoryStats::now()?;
            self.memory_trace.push(MemorySample { step: i + 1, active: now.active, peak: now.peak });
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Result<TrainReport> {
        let seconds = self.start.elapsed().as_secs_f64();
        Ok(TrainReport {
            losses: self.losses,
            tokens: self.tokens,
            positions: self.positions,
            seconds,
            tokens_per_second: self.tokens as f64 / seconds,
            memory: MemoryStats::now()?,
            memory_trace: self.memory_trace,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(active: impl Fn(usize) -> usize) -> Vec<MemorySample> {
        (1..=40).map(|step| MemorySample { step, active: active(step), peak: 0 }).collect()
    }

    #[test]
    fn steady_growth_is_a_leak_and_a_level_run_is_not() {
        const MB: usize = 1 << 20;
        // 600 MB of weights; the optimizer state appears over the first steps.
        let sound = trace(|s| 600 * MB + 4 * MB * s.min(3) + (s % 3) * 64 * 1024);
        let g = memory_growth(&sound).unwrap();
        assert!(!g.leaking, "{g:?}");
        // 1 MB held on to per step: 30 MB over the measured stretch.
        let leak = trace(|s| 600 * MB + MB * s);
        let g = memory_growth(&leak).unwrap();
        assert!(g.leaking && (g.bytes_per_step - MB as f64).abs() < 1.0, "{g:?}");
        // Small growth on a large base stays under the threshold.
        let noise = trace(|s| 600 * MB + 100 * 1024 * s);
        assert!(!memory_growth(&noise).unwrap().leaking);
        assert_eq!(memory_growth(&sound[..4]), None);
    }
}
