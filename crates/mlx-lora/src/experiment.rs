//! One whole LoRA run: load the base model, build and tokenize the data, add
//! adapters, train, measure the validation loss before and after. The parts an
//! evolved program may replace come in as [`Hooks`]; everything else (model,
//! data, seeds, data order, step count, the validation loss) is fixed by the
//! [`Experiment`], so two runs with different hooks are comparable.

use std::path::Path;
use std::time::Instant;

use mlx_rs::Dtype;
use serde::{Deserialize, Serialize};

use crate::data::{BatchFn, BatchOptions, WordnetOptions, build_wordnet, make_batches, tokenize_all};
use crate::lora::{self, LoraConfig, LoraForwardFn};
use crate::model::Llama;
use crate::tokenizer::Tokenizer;
use crate::train::{
    OptimizerConfig, StandardStep, TrainConfig, TrainReport, TrainStep, train, validation_loss,
};
use crate::weights::LoadOptions;
use crate::{Error, Result};

/// The replaceable parts of a run.
pub struct Hooks {
    pub lora_forward: LoraForwardFn,
    pub step: Box<dyn TrainStep>,
    pub batch_fn: BatchFn,
}

impl Hooks {
    /// The reference implementation of every part.
    pub fn standard() -> Self {
        Self { lora_forward: lora::standard_forward, step: Box::new(StandardStep), batch_fn: make_batches }
    }
}

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
}

impl Experiment {
    /// Small enough for two CPU cores in about a minute: 8 adapted layers,
    /// 256 examples of at most 64 tokens, 20 steps of batch 4.
    pub fn tiny() -> Self {
        Self {
            name: "tiny".into(),
            data: WordnetOptions { max_train: 256, max_valid: 32, max_test: 32, chat: false },
            max_len: 64,
            lora: LoraConfig { num_layers: 8, ..LoraConfig::default() },
            train: TrainConfig {
                iters: 20,
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
        }
    }

    /// For a GPU: mlx-lm's default placement (16 layers), 2000 examples of at
    /// most 128 tokens, 200 steps of batch 16, bf16.
    pub fn full() -> Self {
        Self {
            name: "full".into(),
            data: WordnetOptions { max_train: 2000, max_valid: 200, max_test: 200, chat: false },
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
        }
    }

    pub fn by_name(name: &str) -> Result<Self> {
        match name {
            "tiny" => Ok(Self::tiny()),
            "full" => Ok(Self::full()),
            _ => Err(Error::Train(format!("unknown experiment size {name:?} (tiny or full)"))),
        }
    }

    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            dtype: if self.bfloat16 { Dtype::Bfloat16 } else { Dtype::Float32 },
            keep_quantized: self.keep_quantized,
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

/// Runs `experiment` with `hooks`; writes the trained adapters to
/// `adapters_out` when given. The validation losses use the reference loss
/// and the reference LoRA forward, whatever the hooks.
pub fn run(
    experiment: &Experiment,
    hooks: &mut Hooks,
    adapters_out: Option<&Path>,
) -> Result<ExperimentReport> {
    let start = Instant::now();
    let path = crate::paths::smollm2_gguf()?;
    let (mut model, file) = Llama::load_gguf(&path, experiment.load_options())?;
    let tokenizer = Tokenizer::from_gguf(&file)?;
    drop(file);
    let splits = build_wordnet(&crate::paths::wordnet_dir()?, &experiment.data)?;
    let train_set = tokenize_all(&tokenizer, &splits.train, experiment.max_len)?;
    let valid_set = tokenize_all(&tokenizer, &splits.valid, experiment.max_len)?;
    let mut config = experiment.train.clone();
    config.batch.pad_id = tokenizer.pad_id;
    lora::apply(&mut model, &experiment.lora)?;
    let load_seconds = start.elapsed().as_secs_f64();

    let valid_loss_before = validation_loss(&model, &valid_set, &config.batch)?;
    model.set_lora_forward(hooks.lora_forward);
    let report = train(&mut model, &train_set, &config, hooks.step.as_mut(), hooks.batch_fn)?;
    model.set_lora_forward(lora::standard_forward);
    let valid_loss_after = validation_loss(&model, &valid_set, &config.batch)?;
    if let Some(out) = adapters_out {
        lora::save_adapters(&model, out)?;
    }
    let c = &model.config;
    let matmul_params = c.num_parameters() - (c.vocab_size as i64 * c.hidden_size as i64)
        + if c.tie_word_embeddings { c.vocab_size as i64 * c.hidden_size as i64 } else { 0 };
    Ok(ExperimentReport {
        experiment: experiment.name.clone(),
        valid_loss_before,
        valid_loss_after,
        train: report,
        forward_flops_per_position: 2.0 * matmul_params as f64,
        load_seconds,
        total_seconds: start.elapsed().as_secs_f64(),
    })
}
