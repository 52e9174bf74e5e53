//! A leaner run that trains exactly the same: small micro-batches, their
//! examples packed into one row, the gradients summed so far evaluated
//! after each micro-batch (so only one micro-batch's activations are alive
//! at a time), the next step's batches prepared ahead.

use mlx_lora::data::Batch;
use mlx_lora::model::Llama;
use mlx_lora::settings::{Plan, TrainingSettings};
use mlx_lora::train::{Opt, StepOutput, TrainStep, masked_cross_entropy_sum};
use mlx_rs::error::Exception;
use mlx_rs::module::FlattenedModuleParam;
use mlx_rs::{Array, Dtype, nn};

// EVOLVE-BLOCK-START
/// How the trainer batches and schedules the run. Every optimizer step gets
/// the same examples whatever these say; see `TrainingSettings` for each.
pub fn settings() -> TrainingSettings {
    TrainingSettings {
        // Four micro-batches of 2 examples: a quarter of the activations
        // (the logits above all) alive at a time.
        micro_batch_examples: 2,
        memory_budget_mb: None,
        // A micro-batch's examples share a row: no padding between them.
        pack_len: Some(128),
        attention_query_chunk: None,
        // Evaluating every step keeps one step's graph alive, not several.
        eval_every: 1,
        clear_cache_every: None,
        prefetch_steps: 1,
        quantize_bits: None,
    }
}
// EVOLVE-BLOCK-END

// EVOLVE-BLOCK-START
/// Precision of the gradients while they are summed over micro-batches.
const GRADIENT_DTYPE: Dtype = Dtype::Float32;

/// Mean next-token cross-entropy over the batch's counted tokens.
fn batch_loss(model: &Llama, batch: &Batch) -> Result<Array, Exception> {
    let logits = model.forward_batch(batch)?;
    let sum = masked_cross_entropy_sum(&logits, &batch.targets, &batch.mask)?;
    sum.divide(Array::from_f32(batch.tokens.max(1) as f32))
}

/// One optimizer step over the micro-batches of one step's examples:
/// value-and-grad per micro-batch, summed with token weights in
/// `GRADIENT_DTYPE`, then one update in the adapters' own precision.
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
        let mut grads = FlattenedModuleParam::new();
        let mut loss = Array::from_f32(0.0);
        for batch in micro_batches {
            let weight = Array::from_f32(batch.tokens as f32 / total.max(1) as f32);
            let (values, g) = value_and_grad(model, batch)?;
            loss = loss.add(values[0].multiply(&weight)?)?;
            for (name, grad) in g {
                let weighted = grad.multiply(&weight)?.as_dtype(GRADIENT_DTYPE)?;
                let sum = match grads.remove(&name) {
                    Some(previous) => previous.add(weighted)?,
                    None => weighted,
                };
                grads.insert(name, sum);
            }
            mlx_rs::transforms::eval(grads.values().chain([&loss]))?;
        }
        let grads = grads
            .into_iter()
            .map(|(name, g)| Ok((name, g.as_dtype(Dtype::Float32)?)))
            .collect::<Result<FlattenedModuleParam, Exception>>()?;
        optimizer.update(model, &grads)?;
        Ok(StepOutput { loss, tokens: total })
    }
}
// EVOLVE-BLOCK-END

/// The parts above, as the trainer takes them.
pub fn plan() -> Plan {
    Plan { settings: settings(), step: Box::new(Step) }
}

openevolve_sdk::export_candidate! { plan: fn() -> mlx_lora::settings::Plan }
