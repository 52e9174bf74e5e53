//! Training settings that trade memory for speed without changing what is
//! trained, as one serializable value a trainer applies: how the examples
//! of an optimizer step are split into micro-batches (or picked to fit a
//! memory budget), packing, attention in query chunks, how often MLX's graph
//! is evaluated and its cache cleared, batches prepared ahead on a thread,
//! and the base weights' precision.
//!
//! The optimizer step itself is the experiment's: the same examples, in the
//! same order, per step, whatever the settings; gradients over a step's
//! micro-batches are combined with token weights, so they are the
//! gradients of the whole step. Only `quantize_bits` changes the numbers
//! (the base weights'), which a loss rule must judge.
//!
//! The memory example evolves a [`TrainingSettings`]; the one it finds is
//! written as JSON, which [`TrainingSettings::from_json_file`] reads back
//! for any run ([`train_with_settings`], `mlx-lora-run --settings FILE`).

use std::path::Path;
use std::sync::mpsc;

use serde::{Deserialize, Serialize};

use crate::data::{Batch, BatchOptions, SegmentToken, Tokenized, batch_rows, epoch_order, rows_into_batches};
use crate::experiment::Experiment;
use crate::model::Llama;
use crate::train::{RunLog, TrainConfig, TrainReport, TrainStep, largest_batch_within};
use crate::{Error, Result};

/// See the module docs. Every field has a default (the standard run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingSettings {
    /// Examples per micro-batch; must divide the examples of one step. `0`:
    /// the experiment's own (`batch_size` examples, `grad_accumulation`
    /// micro-batches per step).
    pub micro_batch_examples: usize,
    /// Pick the largest micro-batch (a divisor of the step's examples, at
    /// most `micro_batch_examples` when set) whose measured step stays
    /// within this many MB of MLX memory.
    pub memory_budget_mb: Option<f64>,
    /// Pack each micro-batch's examples into rows of at most this many
    /// positions, each example still attending only to itself.
    pub pack_len: Option<usize>,
    /// Compute attention in chunks of this many queries.
    pub attention_query_chunk: Option<usize>,
    /// Evaluate MLX's graph every k steps.
    pub eval_every: usize,
    /// Return MLX's cached buffers to the system every k steps.
    pub clear_cache_every: Option<usize>,
    /// Steps' batches prepared ahead on another thread (0: none).
    pub prefetch_steps: usize,
    /// Quantize the base weights to this many bits at load (2–8).
    pub quantize_bits: Option<i32>,
}

impl Default for TrainingSettings {
    fn default() -> Self {
        Self {
            micro_batch_examples: 0,
            memory_budget_mb: None,
            pack_len: None,
            attention_query_chunk: None,
            eval_every: 1,
            clear_cache_every: None,
            prefetch_steps: 0,
            quantize_bits: None,
        }
    }
}

/// What a candidate of the memory example gives: its settings and its step.
pub struct Plan {
    pub settings: TrainingSettings,
    pub step: Box<dyn TrainStep>,
}

impl Plan {
    /// The default settings and the reference step.
    pub fn standard() -> Self {
        Self { settings: TrainingSettings::default(), step: Box::new(crate::train::StandardStep) }
    }
}

/// One step's rows, per micro-batch with the options that batch them.
pub type StepRows = Result<Vec<(Vec<Vec<SegmentToken>>, BatchOptions)>>;

/// Examples per optimizer step of `config`.
pub fn step_examples(config: &TrainConfig) -> usize {
    config.batch.batch_size * config.grad_accumulation
}

impl TrainingSettings {
    /// Reads settings written as JSON; an unknown key is an error that names
    /// the file and the key and lists the known ones.
    pub fn from_json_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::Train(format!("{}: {e}", path.display())))
    }

    /// Errors, naming the setting, for values no run can use with `config`.
    pub fn validate(&self, config: &TrainConfig) -> Result<()> {
        let per_step = step_examples(config);
        let bad = |key: &str, why: String| Err(Error::Train(format!("setting {key}: {why}")));
        if self.micro_batch_examples > 0 && per_step % self.micro_batch_examples != 0 {
            return bad(
                "micro_batch_examples",
                format!("{} does not divide the {per_step} examples of a step", self.micro_batch_examples),
            );
        }
        if self.memory_budget_mb.is_some_and(|mb| !(mb > 0.0)) {
            return bad("memory_budget_mb", "must be above 0".into());
        }
        if self.pack_len == Some(0) || self.attention_query_chunk == Some(0) {
            return bad("pack_len / attention_query_chunk", "must be at least 1 when set".into());
        }
        if self.eval_every == 0 || self.clear_cache_every == Some(0) {
            return bad("eval_every / clear_cache_every", "must be at least 1".into());
        }
        if self.prefetch_steps > 64 {
            return bad("prefetch_steps", format!("{} is more than 64", self.prefetch_steps));
        }
        if let Some(bits) = self.quantize_bits
            && !crate::weights::QUANT_BITS.contains(&bits)
        {
            return bad("quantize_bits", format!("{bits}; one of {:?}", crate::weights::QUANT_BITS));
        }
        Ok(())
    }

    /// Examples per micro-batch (before a memory budget's choice).
    pub fn micro_batch_size(&self, config: &TrainConfig) -> usize {
        if self.micro_batch_examples == 0 { config.batch.batch_size } else { self.micro_batch_examples }
    }

    /// The experiment as these settings load it (the base weights' bits).
    pub fn apply_to(&self, experiment: &Experiment) -> Experiment {
        let mut e = experiment.clone();
        if self.quantize_bits.is_some() {
            e.quantize_bits = self.quantize_bits;
            e.keep_quantized = false;
        }
        e
    }

    /// How one micro-batch's examples become a batch.
    fn batch_options(&self, config: &TrainConfig, examples: usize) -> BatchOptions {
        BatchOptions { batch_size: examples.max(1), pack_len: self.pack_len, ..config.batch }
    }

    /// The rows of each micro-batch of one step's examples (in order),
    /// with the options that turn them into a batch: plain host data.
    pub fn step_rows(
        &self,
        config: &TrainConfig,
        micro_batch_examples: usize,
        examples: &[&Tokenized],
    ) -> StepRows {
        examples
            .chunks(micro_batch_examples.max(1))
            .map(|chunk| {
                let options = self.batch_options(config, chunk.len());
                Ok((batch_rows(chunk, &options)?, options))
            })
            .collect()
    }

    /// The micro-batches of one step's examples.
    pub fn step_batches(
        &self,
        config: &TrainConfig,
        micro_batch_examples: usize,
        examples: &[&Tokenized],
    ) -> Result<Vec<Batch>> {
        Ok(to_batches(self.step_rows(config, micro_batch_examples, examples)?))
    }
}

fn to_batches(rows: Vec<(Vec<Vec<SegmentToken>>, BatchOptions)>) -> Vec<Batch> {
    rows.iter().flat_map(|(rows, options)| rows_into_batches(rows, options)).collect()
}

/// The examples of each step: the data in the seeded order, epoch after
/// epoch, `per_step` at a time.
struct StepExamples<'a> {
    examples: &'a [Tokenized],
    per_step: usize,
    seed: u64,
    epoch: u64,
    order: std::vec::IntoIter<usize>,
}

impl<'a> StepExamples<'a> {
    fn new(examples: &'a [Tokenized], config: &TrainConfig) -> Self {
        Self {
            examples,
            per_step: step_examples(config),
            seed: config.seed,
            epoch: 0,
            order: Vec::new().into_iter(),
        }
    }

    /// The next step's examples; none when there are no examples at all.
    fn next_step(&mut self) -> Vec<&'a Tokenized> {
        let mut step = Vec::with_capacity(self.per_step);
        while step.len() < self.per_step && !self.examples.is_empty() {
            match self.order.next() {
                Some(i) => step.push(&self.examples[i]),
                None => {
                    self.order = epoch_order(self.examples.len(), self.seed, self.epoch).into_iter();
                    self.epoch += 1;
                }
            }
        }
        step
    }
}

/// The examples of the first `steps` optimizer steps of a run over
/// `examples` with `config`, in the order the trainer uses them.
pub fn first_steps<'a>(
    examples: &'a [Tokenized],
    config: &TrainConfig,
    steps: usize,
) -> Vec<Vec<&'a Tokenized>> {
    let mut all = StepExamples::new(examples, config);
    (0..steps).map(|_| all.next_step()).collect()
}

/// The micro-batch size these settings train with: `micro_batch_examples`
/// (the experiment's batch size when 0), or under a memory budget the largest divisor of
/// the step's examples that fits it, measured.
pub fn choose_micro_batch(
    settings: &TrainingSettings,
    model: &Llama,
    examples: &[Tokenized],
    config: &TrainConfig,
    step: &mut dyn TrainStep,
) -> Result<usize> {
    let per_step = step_examples(config);
    let cap = settings.micro_batch_size(config);
    let Some(budget_mb) = settings.memory_budget_mb else { return Ok(cap) };
    let sizes: Vec<usize> = (1..=cap).filter(|d| per_step % d == 0).collect();
    let options = settings.batch_options(config, 1);
    largest_batch_within(
        model,
        examples,
        &options,
        config.optimizer,
        step,
        &sizes,
        (budget_mb * 1e6) as usize,
    )
}

/// Trains like [`crate::train::train`], the same examples per step in the
/// same order, with `settings` deciding how they are batched and evaluated
/// (see the module docs). The model's attention chunking is set for the
/// run and put back after.
pub fn train_with_settings(
    model: &mut Llama,
    examples: &[Tokenized],
    config: &TrainConfig,
    settings: &TrainingSettings,
    step: &mut dyn TrainStep,
) -> Result<TrainReport> {
    settings.validate(config)?;
    if model.lora.is_none() {
        return Err(Error::Train("the model has no adapters (call lora::apply)".into()));
    }
    if examples.is_empty() || config.iters == 0 {
        return Err(Error::Train("needs examples and iters of at least 1".into()));
    }
    let micro = choose_micro_batch(settings, model, examples, config, step)?;
    let previous_chunk = model.attention_query_chunk;
    model.attention_query_chunk = settings.attention_query_chunk.map(|c| c as i32);
    let config = TrainConfig { eval_every: settings.eval_every, ..config.clone() };
    let result = if settings.prefetch_steps == 0 {
        let mut steps = StepExamples::new(examples, &config);
        run_steps(model, &config, settings, step, || settings.step_rows(&config, micro, &steps.next_step()))
    } else {
        run_prefetched(model, examples, &config, settings, step, micro)
    };
    model.attention_query_chunk = previous_chunk;
    result
}

/// The rows of each step built on a thread of their own, up to
/// `prefetch_steps` ahead; only host data crosses threads, the MLX arrays
/// are made on the training thread.
fn run_prefetched(
    model: &mut Llama,
    examples: &[Tokenized],
    config: &TrainConfig,
    settings: &TrainingSettings,
    step: &mut dyn TrainStep,
    micro: usize,
) -> Result<TrainReport> {
    let (sender, receiver) = mpsc::sync_channel::<StepRows>(settings.prefetch_steps);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut steps = StepExamples::new(examples, config);
            for _ in 0..config.iters {
                if sender.send(settings.step_rows(config, micro, &steps.next_step())).is_err() {
                    break; // training stopped early
                }
            }
        });
        let receiver = receiver;
        let result = run_steps(model, config, settings, step, || {
            receiver.recv().map_err(|_| Error::Train("the batch thread stopped".into()))?
        });
        // Before the scope joins the thread: one blocked on a full channel
        // then sees the error and ends.
        drop(receiver);
        result
    })
}

fn run_steps(
    model: &mut Llama,
    config: &TrainConfig,
    settings: &TrainingSettings,
    step: &mut dyn TrainStep,
    mut next_rows: impl FnMut() -> StepRows,
) -> Result<TrainReport> {
    let mut optimizer = config.optimizer.build();
    let mut log = RunLog::start(config)?;
    for i in 0..config.iters {
        let batches = to_batches(next_rows()?);
        let positions = batches.iter().map(|b| b.inputs.size()).sum::<usize>();
        let out = step.step(model, &mut optimizer, &batches)?;
        log.after_step(i, out, positions, model)?;
        if settings.clear_cache_every.is_some_and(|k| (i + 1) % k == 0) {
            mlx_rs::memory::clear_cache()?;
        }
    }
    log.finish()
}
