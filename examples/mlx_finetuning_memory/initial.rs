//! Memory-lean LoRA fine-tuning of SmolLM2-135M-Instruct on WordNet
//! definitions, as the evaluator runs it (see README.md). The EVOLVE-BLOCK
//! regions hold what trades memory for speed: the trainer's settings
//! (micro-batches, a memory budget, packing, attention in chunks, evaluation
//! and cache cadence, prefetching, the base weights' bits) and the training
//! step (loss, gradients accumulated over the micro-batches in a chosen
//! precision, update). The model, data, the examples of each optimizer step,
//! the step count and the optimizer are the evaluator's; it judges the
//! trained adapters itself, on held-out data.

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
        // 0: the experiment's batch size (all 8 examples of a step at once).
        micro_batch_examples: 0,
        memory_budget_mb: None,
        // Some(n): whole examples share rows of at most n positions.
        pack_len: None,
        attention_query_chunk: None,
        eval_every: 1,
        clear_cache_every: None,
        prefetch_steps: 0,
        // Some(8) or Some(4): base weights quantized at load.
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
            // Nothing is computed yet: unless evaluated here (e.g.
            // `mlx_rs::transforms::eval` of `grads` and `loss`), every
            // micro-batch's graph, activations included, stays alive until
            // the trainer evaluates the whole step.
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
