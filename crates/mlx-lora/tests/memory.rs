//! MLX's memory counters over training: the trace flags a leaking step and
//! not the standard one, and the batch size for a memory budget follows the
//! measured peaks. Its own test binary, and one test at a time: the counters
//! are process-wide, so other tests' arrays would show in them.
//! Needs scripts/setup-lora-data.sh.

use std::sync::Mutex;

use mlx_lora::data::{BatchOptions, Tokenized, WordnetOptions, build_wordnet, make_batches, tokenize_all};
use mlx_lora::lora::{self, LoraConfig};
use mlx_lora::model::Llama;
use mlx_lora::tokenizer::Tokenizer;
use mlx_lora::train::{OptimizerConfig, StandardStep, TrainConfig, train};
use mlx_lora::weights::LoadOptions;
use mlx_rs::Array;

/// Held by each test for its whole run.
static COUNTERS: Mutex<()> = Mutex::new(());

fn load() -> (Llama, Tokenizer) {
    let path = mlx_lora::paths::smollm2_gguf().expect("model (run scripts/setup-lora-data.sh)");
    let (model, file) = Llama::load_gguf(&path, LoadOptions::default()).unwrap();
    (model, Tokenizer::from_gguf(&file).unwrap())
}

fn train_examples(tok: &Tokenizer, n: usize) -> Vec<Tokenized> {
    let dir = mlx_lora::paths::wordnet_dir().expect("WordNet (run scripts/setup-lora-data.sh)");
    let splits = build_wordnet(
        &dir,
        &WordnetOptions { max_train: n, max_valid: 0, max_test: 0, chat: false, max_entries: 1 },
    )
    .unwrap();
    tokenize_all(tok, &splits.train, 64).unwrap()
}

fn batch_options(tok: &Tokenizer) -> BatchOptions {
    BatchOptions { batch_size: 4, mask_prompt: true, pad_id: tok.pad_id, pad_multiple: 8, pack_len: None }
}

/// A step that keeps every step's logits alive: the leak the memory trace
/// is there to catch.
struct LeakyStep {
    kept: Vec<Array>,
}

impl mlx_lora::train::TrainStep for LeakyStep {
    fn step(
        &mut self,
        model: &mut Llama,
        optimizer: &mut mlx_lora::train::Opt,
        micro_batches: &[mlx_lora::data::Batch],
    ) -> mlx_lora::Result<mlx_lora::train::StepOutput> {
        let logits = model.forward(&micro_batches[0].inputs)?;
        logits.eval()?;
        self.kept.push(logits);
        StandardStep.step(model, optimizer, micro_batches)
    }
}

#[test]
fn the_memory_trace_flags_a_step_that_leaks_and_not_the_standard_one() {
    let _counters = COUNTERS.lock().unwrap_or_else(|e| e.into_inner());
    let (base, tok) = load();
    let train_set = train_examples(&tok, 32);
    let config = TrainConfig {
        iters: 8,
        batch: batch_options(&tok),
        grad_accumulation: 1,
        optimizer: OptimizerConfig::Adam { lr: 1e-4 },
        eval_every: 1,
        seed: 5,
    };
    let run = |step: &mut dyn mlx_lora::train::TrainStep| {
        let mut model = base.clone();
        lora::apply(&mut model, &LoraConfig { num_layers: 2, ..LoraConfig::default() }).unwrap();
        train(&mut model, &train_set, &config, step, make_batches).unwrap()
    };
    let sound = run(&mut StandardStep);
    assert_eq!(sound.memory_trace.iter().map(|s| s.step).collect::<Vec<_>>(), (1..=8).collect::<Vec<_>>());
    let growth = mlx_lora::train::memory_growth(&sound.memory_trace).unwrap();
    assert!(!growth.leaking, "{growth:?} {:?}", sound.memory_trace);
    // Each kept [4, ≤64, 49152] f32 logits array holds tens of MB.
    let leaky = run(&mut LeakyStep { kept: Vec::new() });
    let growth = mlx_lora::train::memory_growth(&leaky.memory_trace).unwrap();
    assert!(growth.leaking && growth.bytes_per_step > 10e6, "{growth:?}");
}

#[test]
fn the_batch_size_is_bounded_by_a_memory_budget() {
    use mlx_lora::train::{largest_batch_within, step_peak_memory};
    let _counters = COUNTERS.lock().unwrap_or_else(|e| e.into_inner());
    let (mut model, tok) = load();
    lora::apply(&mut model, &LoraConfig { num_layers: 2, ..LoraConfig::default() }).unwrap();
    let train_set = train_examples(&tok, 16);
    let options = batch_options(&tok);
    let adam = OptimizerConfig::Adam { lr: 1e-4 };
    let peaks: Vec<usize> = [1, 2, 8]
        .iter()
        .map(|&size| step_peak_memory(&model, &train_set, &options, adam, &mut StandardStep, size).unwrap())
        .collect();
    eprintln!("peak MLX memory at batch 1, 2, 8: {peaks:?}");
    assert!(peaks[0] < peaks[1] && peaks[1] < peaks[2], "{peaks:?}");
    let pick = |budget| {
        largest_batch_within(&model, &train_set, &options, adam, &mut StandardStep, &[8, 1, 2], budget)
    };
    assert_eq!(pick(usize::MAX).unwrap(), 8);
    assert_eq!(pick((peaks[1] + peaks[2]) / 2).unwrap(), 2);
    assert_eq!(pick((peaks[0] + peaks[1]) / 2).unwrap(), 1);
    let err = pick(peaks[0] / 2).unwrap_err().to_string();
    assert!(err.contains("no batch size of [1, 2, 8] trains within"), "{err}");
}
