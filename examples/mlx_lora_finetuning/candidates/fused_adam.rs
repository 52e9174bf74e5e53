//! A fused optimizer update (a reference candidate for the `gpu` size):
//! Adam's update of all 120 adapter matrices as one compiled function, a
//! kernel or so per matrix where mlx-rs `Adam` runs about fourteen, and no
//! gradient weighting for a single micro-batch (its weight is exactly 1).
//! The profile of the standard step (RESULTS.md) found those small f32
//! kernels to be 1,930 of its 4,209 launches. Everything else is initial.rs.

use mlx_lora::data::{Batch, BatchOptions, Tokenized, rows_to_batch};
use mlx_lora::experiment::Hooks;
use mlx_lora::model::Llama;
use mlx_lora::train::{Opt, StepOutput, TrainStep, masked_cross_entropy_sum};
use mlx_lora::weights::Tensor;
use mlx_rs::error::Exception;
use mlx_rs::module::{FlattenedModuleParam, ModuleParameters};
use mlx_rs::ops::zeros_like;
use mlx_rs::transforms::compile::compile;
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

/// Adam's update of every adapter matrix, as one compiled function: the
/// arithmetic of mlx-rs `Adam` (m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
/// p ← p − lr·m/(√v + ε)), fused into a kernel or so per matrix instead of
/// fourteen. Inputs: lr, β₁, β₂, ε, then fours (p, g, m, v); outputs come
/// in threes (p, m, v).
type FusedAdam = Box<dyn for<'a> FnMut(&'a [Array]) -> Result<Vec<Array>, Exception>>;

fn fused_adam() -> FusedAdam {
    Box::new(compile(
        |inputs: &[Array]| -> Result<Vec<Array>, Exception> {
            let (lr, b1, b2, eps) = (&inputs[0], &inputs[1], &inputs[2], &inputs[3]);
            let one = Array::from_f32(1.0);
            let (one_minus_b1, one_minus_b2) = (one.subtract(b1)?, one.subtract(b2)?);
            let mut out = Vec::with_capacity(inputs.len() / 4 * 3);
            for four in inputs[4..].chunks(4) {
                let (p, g, m, v) = (&four[0], &four[1], &four[2], &four[3]);
                let m = b1.multiply(m)?.add(&one_minus_b1.multiply(g)?)?;
                let v = b2.multiply(v)?.add(&one_minus_b2.multiply(g.square()?)?)?;
                let p = p.subtract(&lr.multiply(&m.divide(&v.sqrt()?.add(eps)?)?)?)?;
                out.extend([p, m, v]);
            }
            Ok(out)
        },
        None,
    ))
}

/// One optimizer step over the micro-batches of a gradient-accumulation
/// group: value-and-grad per micro-batch, averaged with token weights (none
/// needed for a single micro-batch: its weight is exactly 1), then Adam's
/// update, fused. Returns the mean loss over the group's tokens (lazy).
#[derive(Default)]
pub struct Step {
    /// Compiled on the first step and kept: a new `compile` traces anew.
    adam: Option<FusedAdam>,
}

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
        let (loss, grads) = if let [batch] = micro_batches {
            let (values, grads) = value_and_grad(model, batch)?;
            (values[0].clone(), grads)
        } else {
            let mut grads = FlattenedModuleParam::new();
            let mut loss = Array::from_f32(0.0);
            for batch in micro_batches {
                let weight = Array::from_f32(batch.tokens as f32 / total.max(1) as f32);
                let (values, g) = value_and_grad(model, batch)?;
                loss = loss.add(values[0].multiply(&weight)?)?;
                for (name, grad) in g {
                    let weighted = grad.multiply(&weight)?;
                    let sum = match grads.remove(&name) {
                        Some(previous) => previous.add(weighted)?,
                        None => weighted,
                    };
                    grads.insert(name, sum);
                }
            }
            (loss, grads)
        };
        let Opt::Adam(adam) = optimizer else {
            optimizer.update(model, &grads)?;
            return Ok(StepOutput { loss, tokens: total });
        };
        let fused = self.adam.get_or_insert_with(fused_adam);
        let mut params = model.parameters_mut().flatten();
        // A fixed order, so that every step's call has the shapes of the
        // first and reuses its trace.
        let mut names: Vec<_> = grads.keys().filter(|k| params.contains_key(*k)).cloned().collect();
        names.sort();
        let mut inputs = vec![adam.lr.clone(), adam.betas.0.clone(), adam.betas.1.clone(), adam.eps.clone()];
        for name in &names {
            let p: &Array = &*params[name];
            let (m, v) = match adam.state.get(name) {
                Some(state) => state.clone(),
                // Adam starts from zeros: the same first step as its scalar 0.
                None => (zeros_like(p)?, zeros_like(p)?),
            };
            inputs.extend([p.clone(), grads[name].clone(), m, v]);
        }
        let outputs = fused(&inputs)?;
        for (name, three) in names.iter().zip(outputs.chunks(3)) {
            **params.get_mut(name).expect("listed above") = three[0].clone();
            adam.state.insert(name.clone(), (three[1].clone(), three[2].clone()));
        }
        Ok(StepOutput { loss, tokens: total })
    }
}
// EVOLVE-BLOCK-END

// EVOLVE-BLOCK-START
/// Batches of `batch_size` examples in the given order, one example per row,
/// padded to the longest row (rounded up to `pad_multiple`); prompt tokens
/// are left out of the loss when `mask_prompt` is set.
pub fn make_batches(examples: &[&Tokenized], options: &BatchOptions) -> mlx_lora::Result<Vec<Batch>> {
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
    Hooks { lora_forward, step: Box::new(Step::default()), batch_fn: make_batches, eval_every: Some(eval_every()) }
}

openevolve_sdk::export_candidate! { hooks: fn() -> mlx_lora::experiment::Hooks }
