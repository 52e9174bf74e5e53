//! `compiled.rs`'s step with `sparse_logits.rs`'s loss, on batches padded
//! to multiples of 128 positions (as `padded128.rs`): each MLP's
//! `silu(gate)·up` compiled once, logits only where the loss counts, and
//! widths at which MLX's CUDA backend differentiates attention with cuDNN.
//! Each part is exact, so together they are too. Everything else is
//! `initial.rs`.

use mlx_lora::data::{Batch, BatchOptions, Tokenized, rows_to_batch};
use mlx_lora::experiment::Hooks;
use mlx_lora::model::{AttentionContext, Llama};
use mlx_lora::train::{Opt, StepOutput, TrainStep, masked_cross_entropy_sum};
use mlx_lora::weights::Tensor;
use mlx_rs::error::Exception;
use mlx_rs::module::FlattenedModuleParam;
use mlx_rs::transforms::compile::compile;
use mlx_rs::{Array, Dtype, fast, nn};

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
/// `silu(gate) · up`, as one compiled function.
type Swiglu = Box<dyn for<'a> FnMut((&'a Array, &'a Array)) -> Result<Array, Exception>>;
fn swiglu() -> Swiglu {
    Box::new(compile(|(g, u): (&Array, &Array)| nn::silu(g)?.multiply(u), None))
}

/// Mean next-token cross-entropy over the batch's counted tokens, through
/// the model's parts with the compiled functions.
fn batch_loss(model: &Llama, batch: &Batch) -> Result<Array, Exception> {
    let context = AttentionContext { mask: None, query_chunk: model.attention_query_chunk };
    let mut h = model.embed.rows(&batch.inputs, model.dtype)?;
    for layer in &model.layers {
        let normed = fast::rms_norm(&h, Some(&layer.attn_norm), layer.eps)?;
        h = h.add(layer.attn.forward(&normed, &context)?)?;
        let normed = fast::rms_norm(&h, Some(&layer.ffn_norm), layer.eps)?;
        let (g, u) = (layer.mlp.gate.matmul_t(&normed)?, layer.mlp.up.matmul_t(&normed)?);
        let activated = SWIGLU.with_borrow_mut(|swiglu| swiglu((&g, &u)))?;
        h = h.add(layer.mlp.down.matmul_t(&activated)?)?;
    }
    let h = fast::rms_norm(&h, Some(&model.norm), model.config.rms_norm_eps)?;
    // Logits only at the counted positions. The mask was made from host
    // data: reading it back waits for nothing.
    let counted: Vec<i32> = batch
        .mask
        .as_slice::<f32>()
        .iter()
        .enumerate()
        .filter(|(_, m)| **m != 0.0)
        .map(|(i, _)| i as i32)
        .collect();
    let rows = Array::from_slice(&counted, &[counted.len() as i32]);
    let width = h.shape()[2];
    let picked = h.reshape(&[-1, width])?.take_axis(&rows, 0)?;
    let projection = model.output.as_ref().unwrap_or(&model.embed);
    let logits = projection.matmul_t(&picked)?.as_dtype(Dtype::Float32)?;
    let targets = batch.targets.reshape(&[-1])?.take_axis(&rows, 0)?;
    let ones = mlx_rs::ops::ones::<f32>(&[counted.len() as i32])?;
    let sum = masked_cross_entropy_sum(&logits, &targets, &ones)?;
    sum.divide(Array::from_f32(batch.tokens.max(1) as f32))
}

thread_local! {
    // Compiled once per thread and kept: a new `compile` would trace anew.
    static SWIGLU: std::cell::RefCell<Swiglu> = std::cell::RefCell::new(swiglu());
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
