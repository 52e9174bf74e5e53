//! For a GPU: logits only where the loss counts (exact), base weights in 8
//! bits (an approximation the loss rule judges), the graph evaluated every
//! step.

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
        // The whole step at once, one example per row.
        micro_batch_examples: 0,
        memory_budget_mb: None,
        pack_len: None,
        attention_query_chunk: None,
        eval_every: 1,
        clear_cache_every: None,
        prefetch_steps: 1,
        // Base weights in 8 bits: half the bf16 weights' memory.
        quantize_bits: Some(8),
    }
}
// EVOLVE-BLOCK-END

// EVOLVE-BLOCK-START
/// Precision of the gradients while they are summed over micro-batches.
const GRADIENT_DTYPE: Dtype = Dtype::Float32;

/// Mean next-token cross-entropy over the batch's counted tokens, with
/// logits only at those positions: the output projection (576 × 49,152) and
/// the log-sum-exp over the vocabulary, the largest activations of a step,
/// skip the prompt and padding rows, whose weight in the loss is 0.
fn batch_loss(model: &Llama, batch: &Batch) -> Result<Array, Exception> {
    // The mask was made from host data: reading it waits for nothing.
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
    let logits = projection.matmul_t(&picked)?.as_dtype(Dtype::Float32)?;
    let targets = batch.targets.reshape(&[-1])?.take_axis(&rows, 0)?;
    let ones = mlx_rs::ops::ones::<f32>(&[counted.len() as i32])?;
    let sum = masked_cross_entropy_sum(&logits, &targets, &ones)?;
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
