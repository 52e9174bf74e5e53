//! One whole LoRA run: load the base model, build and tokenize the data, add
//! adapters, train, measure the validation loss before and after. The parts an
//! evolved program may replace come in as [`Hooks`]; everything else (model,
//! data, seeds, data order, step count, the validation loss) is fixed by the
//! [`Experiment`], so two runs with different hooks are comparable.
//!
//! The steps are public on their own as well: [`prepare`] and
//! [`train_prepared`] train without measuring anything else, and
//! [`Validator`] judges saved adapters on a fresh base model, which is how an
//! evaluator keeps the judging out of the trained program's reach.

use std::path::Path;
use std::time::Instant;

use mlx_rs::Dtype;
use serde::{Deserialize, Serialize};

use crate::data::{
    BatchFn, BatchOptions, Tokenized, WordnetOptions, build_wordnet, make_batches, tokenize_all_cached,
};
use crate::lora::{self, LoraConfig, LoraForwardFn};
use crate::model::Llama;
use crate::settings::{Plan, train_with_settings};
use crate::tokenizer::Tokenizer;
use crate::train::{
    OptimizerConfig, StandardStep, TrainConfig, TrainReport, TrainStep, train, validation_loss,
};
use crate::weights::LoadOptions;
use crate::{Error, Result};

mod validator;

pub use validator::Validator;

/// The replaceable parts of a run.
pub struct Hooks {
    pub lora_forward: LoraForwardFn,
    pub step: Box<dyn TrainStep>,
    pub batch_fn: BatchFn,
    /// Evaluate MLX's graph every k steps; `None` keeps the experiment's.
    pub eval_every: Option<usize>,
}

impl Hooks {
    /// The reference implementation of every part.
    pub fn standard() -> Self {
        Self {
            lora_forward: lora::standard_forward,
            step: Box::new(StandardStep),
            batch_fn: make_batches,
            eval_every: None,
        }
    }
}

/// The presets, smallest first, by name.
const PRESETS: [(&str, fn() -> Experiment); 3] =
    [("tiny", Experiment::tiny), ("full", Experiment::full), ("gpu", Experiment::gpu)];

/// The presets' names, smallest first.
pub const SIZES: [&str; 3] = [PRESETS[0].0, PRESETS[1].0, PRESETS[2].0];

/// Everything that fixes a run apart from the hooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub name: String,
    pub data: WordnetOptions,
    /// Tokens per example at most.
    pub max_len: usize,
    pub lora: LoraConfig,
    pub train: TrainConfig,
    /// Activations and dense weights: `f32` on the CPU, `bf16` on a GPU.
    pub bfloat16: bool,
    /// Keep the base linear layers 4-bit (QLoRA).
    pub keep_quantized: bool,
    /// Or quantize them to this many bits at load (see `LoadOptions`).
    #[serde(default)]
    pub quantize_bits: Option<i32>,
}

impl Experiment {
    /// Small enough for two CPU cores in well under a minute: 8 adapted
    /// layers, 256 examples of at most 64 tokens, 12 steps of batch 4.
    pub fn tiny() -> Self {
        Self {
            name: "tiny".into(),
            data: WordnetOptions { max_train: 256, max_valid: 32, max_test: 32, chat: false, max_entries: 1 },
            max_len: 64,
            lora: LoraConfig { num_layers: 8, ..LoraConfig::default() },
            train: TrainConfig {
                iters: 12,
                batch: BatchOptions {
                    batch_size: 4,
                    mask_prompt: true,
                    pad_id: 2,
                    pad_multiple: 8,
                    pack_len: None,
                },
                grad_accumulation: 1,
                optimizer: OptimizerConfig::Adam { lr: 3e-4 },
                eval_every: 1,
                seed: 1,
            },
            bfloat16: false,
            keep_quantized: false,
            quantize_bits: None,
        }
    }

    /// For a GPU: mlx-lm's default placement (16 layers), 2000 examples of at
    /// most 128 tokens, 200 steps of batch 16, bf16.
    pub fn full() -> Self {
        Self {
            name: "full".into(),
            data: WordnetOptions {
                max_train: 2000,
                max_valid: 200,
                max_test: 200,
                chat: false,
                max_entries: 1,
            },
            max_len: 128,
            lora: LoraConfig::default(),
            train: TrainConfig {
                iters: 200,
                batch: BatchOptions {
                    batch_size: 16,
                    mask_prompt: true,
                    pad_id: 2,
                    pad_multiple: 8,
                    pack_len: None,
                },
                grad_accumulation: 1,
                optimizer: OptimizerConfig::Adam { lr: 1e-4 },
                eval_every: 1,
                seed: 1,
            },
            bfloat16: true,
            keep_quantized: false,
            quantize_bits: None,
        }
    }

    /// For a GPU, sized so that the step does real work: every layer
    /// adapted, batches of 32 examples of 1 to 24 definitions (up to 512
    /// tokens, so the longest row of a batch is about 512 and the padding
    /// real data brings is there to win back by packing), 48 steps, bf16.
    pub fn gpu() -> Self {
        let full = Self::full();
        Self {
            name: "gpu".into(),
            data: WordnetOptions {
                max_train: 1536,
                max_valid: 128,
                max_test: 96,
                chat: false,
                max_entries: 24,
            },
            max_len: 512,
            lora: LoraConfig { num_layers: 30, ..LoraConfig::default() },
            train: TrainConfig {
                iters: 48,
                // Widths in steps of 64: a handful of shapes, so MLX's
                // buffer cache and kernel caches are reused, not refilled.
                batch: BatchOptions { batch_size: 32, pad_multiple: 64, ..full.train.batch },
                ..full.train
            },
            ..full
        }
    }

    /// The preset called `name`: [`SIZES`].
    pub fn by_name(name: &str) -> Result<Self> {
        let preset = PRESETS.iter().find(|(preset, _)| *preset == name);
        preset
            .map(|(_, make)| make())
            .ok_or_else(|| Error::Train(format!("unknown experiment size {name:?} (one of {SIZES:?})")))
    }

    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            dtype: if self.bfloat16 { Dtype::Bfloat16 } else { Dtype::Float32 },
            keep_quantized: self.keep_quantized,
            quantize_bits: self.quantize_bits,
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExperimentReport {
    pub experiment: String,
    pub valid_loss_before: f64,
    pub valid_loss_after: f64,
    pub train: TrainReport,
    /// Forward FLOPs per token position of the base model's matmuls
    /// (`2 × parameters`, embedding lookup excluded, output projection included).
    pub forward_flops_per_position: f64,
    pub load_seconds: f64,
    pub total_seconds: f64,
}

/// A run's model with its adapters (untrained) and tokenized data.
pub struct Prepared {
    pub model: Llama,
    pub train_set: Vec<Tokenized>,
    pub valid_set: Vec<Tokenized>,
    /// The experiment's training settings with the tokenizer's pad id.
    pub config: TrainConfig,
    pub load_seconds: f64,
}

/// Loads the base model and the data and adds the adapters.
pub fn prepare(experiment: &Experiment) -> Result<Prepared> {
    Ok(prepare_with_held_out(experiment)?.0)
}

/// [`prepare`], and the test split: examples to warm up on that are
/// neither trained on nor judged.
fn prepare_with_held_out(experiment: &Experiment) -> Result<(Prepared, Vec<Tokenized>)> {
    let start = Instant::now();
    let (mut model, tokenizer) = load_model(experiment)?;
    let splits = build_wordnet(&crate::paths::wordnet_dir()?, &experiment.data)?;
    let cache = crate::paths::token_cache_dir();
    let tokenize = |split| tokenize_all_cached(&tokenizer, split, experiment.max_len, &cache);
    let (train_set, valid_set, test_set) =
        (tokenize(&splits.train)?, tokenize(&splits.valid)?, tokenize(&splits.test)?);
    let mut config = experiment.train.clone();
    config.batch.pad_id = tokenizer.pad_id;
    lora::apply(&mut model, &experiment.lora)?;
    let prepared =
        Prepared { model, train_set, valid_set, config, load_seconds: start.elapsed().as_secs_f64() };
    Ok((prepared, test_set))
}

fn load_model(experiment: &Experiment) -> Result<(Llama, Tokenizer)> {
    let path = crate::paths::smollm2_gguf()?;
    let (model, file) = Llama::load_gguf(&path, experiment.load_options())?;
    let tokenizer = Tokenizer::from_gguf(&file)?;
    Ok((model, tokenizer))
}

/// What a sealed training run gets before it trains (see `mlx_lora_eval::runs`):
/// no training examples yet, and no validation split at all.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSetup {
    pub experiment: Experiment,
    /// The experiment's training settings with the tokenizer's pad id.
    pub config: TrainConfig,
    /// Examples to warm up on: the test split, which is neither trained on
    /// nor judged.
    pub warm_up: Vec<Tokenized>,
}

/// MLX keeps freed buffers for reuse and, on CUDA, does not give them back
/// when an allocation fails: batches whose shapes vary step to step (packed
/// rows, gathered positions) filled an H200's 141 GB with cached buffers
/// around 10–28 GB of live arrays. On a GPU every run's process keeps its
/// cache to a quarter of MLX's memory limit instead (both variants alike).
/// Not on the CPU, where the same bound raised a micro-batched run's resident
/// peak from 815 to 1012 MB (the memory example's `lean.rs`).
fn bound_buffer_cache() -> Result<()> {
    if crate::on_gpu()? {
        mlx_rs::memory::set_cache_limit(mlx_rs::memory::memory_limit()? / 4)?;
    }
    Ok(())
}

impl RunSetup {
    /// The run's model (with untrained adapters) and `train_set`, which the
    /// judge sends when the timed training starts.
    pub fn prepare(&self, train_set: Vec<Tokenized>) -> Result<Prepared> {
        bound_buffer_cache()?;
        let start = Instant::now();
        let (mut model, _) = load_model(&self.experiment)?;
        lora::apply(&mut model, &self.experiment.lora)?;
        Ok(Prepared {
            model,
            train_set,
            valid_set: Vec::new(),
            config: self.config.clone(),
            load_seconds: start.elapsed().as_secs_f64(),
        })
    }
}

/// Trains the prepared model's adapters with `hooks`, then puts the
/// reference LoRA forward back.
pub fn train_prepared(prepared: &mut Prepared, hooks: &mut Hooks) -> Result<TrainReport> {
    let mut config = prepared.config.clone();
    if let Some(k) = hooks.eval_every {
        config.eval_every = k;
    }
    prepared.model.set_lora_forward(hooks.lora_forward);
    let report =
        train(&mut prepared.model, &prepared.train_set, &config, hooks.step.as_mut(), hooks.batch_fn);
    prepared.model.set_lora_forward(lora::standard_forward);
    report
}

/// Forward FLOPs per token position of the base model's matmuls:
/// `2 × parameters`, the embedding lookup excluded, a tied output projection
/// included.
pub fn forward_flops_per_position(model: &Llama) -> f64 {
    let c = &model.config;
    let embedding = c.vocab_size as i64 * c.hidden_size as i64;
    let matmul_params = c.num_parameters() - embedding + if c.tie_word_embeddings { embedding } else { 0 };
    2.0 * matmul_params as f64
}

/// Runs `experiment` with `hooks`; writes the trained adapters to
/// `adapters_out` when given. The validation losses use the reference loss
/// and the reference LoRA forward, whatever the hooks.
pub fn run(
    experiment: &Experiment,
    hooks: &mut Hooks,
    adapters_out: Option<&Path>,
) -> Result<ExperimentReport> {
    run_with(experiment, adapters_out, |prepared| train_prepared(prepared, hooks))
}

/// Runs `experiment` as `plan`'s settings and step train it (the base
/// weights' bits included), measured as [`run`] measures.
pub fn run_with_settings(
    experiment: &Experiment,
    plan: &mut Plan,
    adapters_out: Option<&Path>,
) -> Result<ExperimentReport> {
    let experiment = plan.settings.apply_to(experiment);
    run_with(&experiment, adapters_out, |p| {
        train_with_settings(&mut p.model, &p.train_set, &p.config, &plan.settings, plan.step.as_mut())
    })
}

fn run_with(
    experiment: &Experiment,
    adapters_out: Option<&Path>,
    train: impl FnOnce(&mut Prepared) -> Result<TrainReport>,
) -> Result<ExperimentReport> {
    let start = Instant::now();
    let mut prepared = prepare(experiment)?;
    let valid_loss_before = validation_loss(&prepared.model, &prepared.valid_set, &prepared.config.batch)?;
    let report = train(&mut prepared)?;
    let valid_loss_after = validation_loss(&prepared.model, &prepared.valid_set, &prepared.config.batch)?;
    if let Some(out) = adapters_out {
        lora::save_adapters(&prepared.model, out)?;
    }
    Ok(ExperimentReport {
        experiment: experiment.name.clone(),
        valid_loss_before,
        valid_loss_after,
        train: report,
        forward_flops_per_position: forward_flops_per_position(&prepared.model),
        load_seconds: prepared.load_seconds,
        total_seconds: start.elapsed().as_secs_f64(),
    })
}
