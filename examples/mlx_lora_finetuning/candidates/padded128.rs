//! The standard training with every batch padded to a multiple of 128
//! positions instead of the experiment's `pad_multiple`: padding is left out
//! of the loss, so the result is the same. A probe of the `gpu` size: MLX's
//! CUDA backend differentiates attention with cuDNN only when the sequence
//! length is a multiple of 128. Everything else is `initial.rs`.

use mlx_lora::data::{Batch, BatchOptions, Tokenized, rows_to_batch};
use mlx_lora::experiment::Hooks;
use mlx_lora::model::Llama;
use mlx_lora::train::{Opt, StepOutput, TrainStep, masked_cross_entropy_sum};
use mlx_lora::weights::Tensor;
use mlx_rs::error::Exception;
use mlx_rs::module::FlattenedModuleParam;
use mlx_rs::{Array, nn};

// EVOLVE-BLOCK-START
/// The output of an adapted projection: `x·Wᵀ + scale·(x·A)·B`, where `W`
/// (`[out, in]`) is frozen and `A` (`[in, r]`), `B` (`[r, out]`) train. The
/// adapter's term is cast to the activations' dtype (A and B are f32).
pub fn lora_forward(x: &Array, base: &Tensor, a: &Array, b: &Array, scale: f32) -> Result<Array, Exception> {
    let y = base.matmul_t(x)?;
    let z = x.matmul(a)?.matmul(b)?.multiply(Array::from_f32(scale))?;
    y.add(z.as_dtype(x.dtype())?)
}
// EVOLVE-BLOCK-END

// EVOLVE-BLOCK-START
/// Mean next-token cross-entropy over the batch's counted tokens.
fn batch_loss(model: &Llama, batch: &Batch) -> Result<Array, Exception> {
    let logits = model.forward(&batch.inputs)?;
    let sum = masked_cross_entropy_sum(&logits, &batch.targets, &batch.mask)?;
    sum.divide(Array::from_f32(batch.tokens.max(1) as f32))
}

/// One optimizer step over the micro-batches of a gradient-accumulation
/// group: value-and-grad per micro-batch, averaged with token weights, then
/// one update. Returns the mean loss over the group's tokens (lazy).
pub struct Step;

impl TrainStep for Step {
    fn step(
        &mut self,
        model: &mut Llama,
        optimizer: &mut Opt,
        micro_batches: &[Batch],
    ) -> mlx_lora::Result<StepOutput> {
        let total: usize = micro_batches.iter().map(|b| b.tokens).sum();
        let loss_fn = |model: &mut Llama, batch: &Batch| -> Result<Vec<Array>, Exception> {
            Ok(vec![batch_loss(model, batch)?])
        };
        let mut value_and_grad = nn::value_and_grad(loss_fn);
        let mut grads: Option<FlattenedModuleParam> = None;
        let mut loss = Array::from_f32(0.0);
        for batch in micro_batches {
            let weight = Array::from_f32(batch.tokens as f32 / total.max(1) as f32);
            let (values, g) = value_and_grad(model, batch)?;
            loss = loss.add(values[0].multiply(&weight)?)?;
            let mut acc = grads.take().unwrap_or_default();
            for (name, grad) in g {
                let weighted = grad.multiply(&weight)?;
                let sum = match acc.remove(&name) {
                    Some(previous) => previous.add(weighted)?,
                    None => weighted,
                };
                acc.insert(name, sum);
            }
            grads = Some(acc);
        }
        optimizer.update(model, &grads.unwrap_or_default())?;
        Ok(StepOutput { loss, tokens: total })
    }
}
// EVOLVE-BLOCK-END

// EVOLVE-BLOCK-START
/// Batches of `batch_size` examples in the given order, one example per row,
/// padded to the longest row (rounded up to `pad_multiple`); prompt tokens
/// are left out of the loss when `mask_prompt` is set.
pub fn make_batches(examples: &[&Tokenized], options: &BatchOptions) -> mlx_lora::Result<Vec<Batch>> {
    let options = &BatchOptions { pad_multiple: options.pad_multiple.div_ceil(128).max(1) * 128, ..*options };
    let rows: Vec<Vec<(u32, bool)>> = examples
        .iter()
        .map(|t| {
            t.tokens
                .iter()
                .enumerate()
                .map(|(i, &tok)| (tok, !options.mask_prompt || i >= t.prompt_len))
                .collect()
        })
        .collect();
    Ok(rows.chunks(options.batch_size.max(1)).map(|chunk| rows_to_batch(chunk, options)).collect())
}

/// Evaluate MLX's graph (losses, adapters, optimizer state) every this many steps.
pub fn eval_every() -> usize {
    1
}
// EVOLVE-BLOCK-END

/// The parts above, as the trainer takes them.
pub fn hooks() -> Hooks {
    Hooks { lora_forward, step: Box::new(Step), batch_fn: make_batches, eval_every: Some(eval_every()) }
}

openevolve_sdk::export_candidate! { hooks: fn() -> mlx_lora::experiment::Hooks }
