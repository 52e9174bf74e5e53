//! `packed_sparse.rs` with rows a multiple of 128 positions wide: each
//! batch's examples are packed into rows as wide as its longest example
//! rounded up to 128 (so fewer rows), and padded to that width. MLX's CUDA
//! backend differentiates attention with cuDNN only when the sequence length
//! is a multiple of 128. Exact, as `packed_sparse.rs` is.

use mlx_lora::data::{Batch, BatchOptions, Tokenized, pack_rows, rows_into_batches};
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
/// Mean next-token cross-entropy over the batch's counted tokens, computing
/// logits only at those positions. The output projection (576 × 49,152) and
/// the log-sum-exp over the vocabulary are the largest single cost of a
/// step; with prompts and padding left out of the loss most positions never
/// needed them. Same loss, same gradients: the rows skipped had weight 0.
/// Packed rows attend within their segments.
fn batch_loss(model: &Llama, batch: &Batch) -> Result<Array, Exception> {
    // The mask was made from host data: reading it back waits for nothing
    // (a cast first would be a new lazy array, and reading it a device sync).
    let counted: Vec<i32> = batch
        .mask
        .as_slice::<f32>()
        .iter()
        .enumerate()
        .filter(|(_, m)| **m != 0.0)
        .map(|(i, _)| i as i32)
        .collect();
    let rows = Array::from_slice(&counted, &[counted.len() as i32]);
    let hidden = model.hidden_segmented(&batch.inputs, batch.segments.as_ref())?;
    let width = hidden.shape()[2];
    let picked = hidden.reshape(&[-1, width])?.take_axis(&rows, 0)?;
    let projection = model.output.as_ref().unwrap_or(&model.embed);
    let logits = projection.matmul_t(&picked)?.as_dtype(mlx_rs::Dtype::Float32)?;
    let targets = batch.targets.reshape(&[-1])?.take_axis(&rows, 0)?;
    let ones = mlx_rs::ops::ones::<f32>(&[counted.len() as i32])?;
    let sum = masked_cross_entropy_sum(&logits, &targets, &ones)?;
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
/// The standard batches' examples (`batch_size` at a time, in order), each
/// batch packed: first fit, longest first, into rows no wider than its
/// longest example, with segment ids.
pub fn make_batches(examples: &[&Tokenized], options: &BatchOptions) -> mlx_lora::Result<Vec<Batch>> {
    let mut batches = Vec::new();
    for chunk in examples.chunks(options.batch_size.max(1)) {
        let mut longest_first = chunk.to_vec();
        longest_first.sort_by_key(|t| std::cmp::Reverse(t.tokens.len()));
        let width = (longest_first[0].tokens.len().max(2) - 1).div_ceil(128) * 128;
        let rows = pack_rows(&longest_first, width, options.mask_prompt);
        let packed =
            BatchOptions { batch_size: rows.len(), pack_len: Some(width), pad_multiple: 128, ..*options };
        batches.extend(rows_into_batches(&rows, &packed));
    }
    Ok(batches)
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
