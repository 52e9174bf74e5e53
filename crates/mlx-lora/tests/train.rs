//! LoRA training on the real model and data: a short run lowers the
//! validation loss, adapters round-trip through safetensors, gradient
//! accumulation and the evaluation cadence do not change the result, a
//! plugged-in LoRA forward is used, and memory counters are reported.
//! Needs scripts/setup-lora-data.sh.

use std::time::Instant;

use mlx_lora::data::{BatchOptions, Tokenized, WordnetOptions, build_wordnet, make_batches, tokenize_all};
use mlx_lora::experiment::{Experiment, Hooks, run};
use mlx_lora::lora::{self, LoraConfig, LoraTarget, adapter_arrays};
use mlx_lora::model::Llama;
use mlx_lora::tokenizer::Tokenizer;
use mlx_lora::train::{
    OptimizerConfig, StandardStep, TrainConfig, accumulated_gradients, train, validation_loss,
};
use mlx_lora::weights::{LoadOptions, Tensor};
use mlx_rs::Array;
use mlx_rs::error::Exception;

const MAX_LEN: usize = 64;

fn load() -> (Llama, Tokenizer) {
    let path = mlx_lora::paths::smollm2_gguf().expect("model (run scripts/setup-lora-data.sh)");
    let (model, file) = Llama::load_gguf(&path, LoadOptions::default()).unwrap();
    (model, Tokenizer::from_gguf(&file).unwrap())
}

fn data(tok: &Tokenizer, train: usize, valid: usize) -> (Vec<Tokenized>, Vec<Tokenized>) {
    let dir = mlx_lora::paths::wordnet_dir().expect("WordNet (run scripts/setup-lora-data.sh)");
    let splits = build_wordnet(
        &dir,
        &WordnetOptions { max_train: train, max_valid: valid, max_test: 0, chat: false, max_entries: 1 },
    )
    .unwrap();
    (tokenize_all(tok, &splits.train, MAX_LEN).unwrap(), tokenize_all(tok, &splits.valid, MAX_LEN).unwrap())
}

fn batch_options(tok: &Tokenizer) -> BatchOptions {
    BatchOptions { batch_size: 4, mask_prompt: true, pad_id: tok.pad_id, pad_multiple: 8, pack_len: None }
}

fn max_abs_diff(a: &Array, b: &Array) -> f32 {
    a.subtract(b).unwrap().abs().unwrap().max(None).unwrap().item_exact::<f32>()
}

#[test]
fn tiny_experiment_lowers_validation_loss_and_adapters_round_trip() {
    let experiment = Experiment::tiny();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("adapters.safetensors");
    let report = run(&experiment, &mut Hooks::standard(), Some(&file)).unwrap();
    let t = &report.train;
    eprintln!(
        "validation loss {:.4} -> {:.4}; train loss {:.3} (first 5) -> {:.3} (last 5); {} steps, {} tokens \
         in {:.1}s = {:.0} tokens/s ({} positions, {:.0}/s); peak {:.0} MiB, active {:.0} MiB; load {:.1}s, total {:.1}s",
        report.valid_loss_before,
        report.valid_loss_after,
        t.losses[..5].iter().sum::<f32>() / 5.0,
        t.losses[t.losses.len() - 5..].iter().sum::<f32>() / 5.0,
        t.losses.len(),
        t.tokens,
        t.seconds,
        t.tokens_per_second,
        t.positions,
        t.positions as f64 / t.seconds,
        t.memory.peak as f64 / 1048576.0,
        t.memory.active as f64 / 1048576.0,
        report.load_seconds,
        report.total_seconds,
    );
    assert_eq!(t.losses.len(), experiment.train.iters);
    assert!(t.losses.iter().all(|l| l.is_finite()));
    assert!(report.valid_loss_after < report.valid_loss_before - 0.2, "{report:?}");
    // 2 × (parameters without the embedding lookup + the tied output matmul).
    assert!(
        (2.6e8..2.8e8).contains(&report.forward_flops_per_position),
        "{}",
        report.forward_flops_per_position
    );
    // Memory counters: the f32 base weights (4 bytes × 134.5M) are live the whole run,
    // and activations add to the peak.
    assert!(t.memory.active >= 4 * 134_000_000, "{:?}", t.memory);
    assert!(t.memory.peak > t.memory.active, "{:?}", t.memory);
    assert!(t.tokens > 0 && t.tokens_per_second > 0.0);

    // What an evaluator does with a candidate's adapters: load them into a
    // fresh base model and measure the validation loss itself.
    let (mut model, tok) = load();
    let (_, valid_set) = data(&tok, 0, experiment.data.max_valid);
    let options = BatchOptions { pad_id: tok.pad_id, ..experiment.train.batch };
    let base_loss = validation_loss(&model, &valid_set, &options).unwrap();
    // B starts at zero: before training, the adapted model was the base model.
    assert!(
        (base_loss - report.valid_loss_before).abs() < 1e-4,
        "{base_loss} vs {}",
        report.valid_loss_before
    );
    let config = lora::load_adapters(&mut model, &file).unwrap();
    assert_eq!(config, experiment.lora);
    let adapters = adapter_arrays(&model);
    // mlx-lm's default placement: q and v of each adapted layer, A and B each.
    assert_eq!(adapters.len(), 8 * 2 * 2);
    assert_eq!(adapters["layers.29.attn.q_proj.lora_a"].shape(), &[576, 8]);
    assert_eq!(adapters["layers.29.attn.v_proj.lora_b"].shape(), &[8, 192]);
    assert!(!adapters.contains_key("layers.21.attn.q_proj.lora_a"));
    assert_eq!((model.layers[22].attn.v_proj.rank(), model.layers[21].attn.v_proj.rank()), (8, 0));
    let reloaded = validation_loss(&model, &valid_set, &options).unwrap();
    assert!((reloaded - report.valid_loss_after).abs() < 1e-5, "{reloaded} vs {}", report.valid_loss_after);
    // A model with other adapters refuses the file.
    let mut other = model.clone();
    for layer in &mut other.layers {
        layer.attn.q_proj = mlx_lora::LoraLinear::frozen(layer.attn.q_proj.base.clone());
        layer.attn.v_proj = mlx_lora::LoraLinear::frozen(layer.attn.v_proj.base.clone());
    }
    other.lora = None;
    lora::apply(&mut other, &LoraConfig { rank: 4, ..experiment.lora.clone() }).unwrap();
    assert!(lora::load_adapters(&mut other, &file).is_err());
}

/// `x·Wᵀ + (x·(scale·A·B))`: the same function as the reference forward,
/// computed another way (merging the low-rank product first).
fn merged_forward(x: &Array, base: &Tensor, a: &Array, b: &Array, scale: f32) -> Result<Array, Exception> {
    let delta = a.matmul(b)?.multiply(Array::from_f32(scale))?;
    base.matmul_t(x)?.add(x.matmul(&delta)?)
}

fn broken_forward(x: &Array, base: &Tensor, _a: &Array, _b: &Array, _scale: f32) -> Result<Array, Exception> {
    base.matmul_t(x)
}

#[test]
fn accumulation_cadence_and_plugged_forward_agree_with_the_reference() {
    let (base, tok) = load();
    let (train_set, valid_set) = data(&tok, 16, 8);
    let options = batch_options(&tok);
    let run = |config: &TrainConfig, forward: Option<mlx_lora::LoraForwardFn>| {
        let mut model = base.clone();
        lora::apply(
            &mut model,
            &LoraConfig {
                num_layers: 2,
                targets: vec![LoraTarget::QProj, LoraTarget::VProj],
                ..LoraConfig::default()
            },
        )
        .unwrap();
        if let Some(f) = forward {
            model.set_lora_forward(f);
        }
        let report = train(&mut model, &train_set, config, &mut StandardStep, make_batches).unwrap();
        (report, adapter_arrays(&model), model)
    };
    let start = Instant::now();
    let reference_config = TrainConfig {
        iters: 2,
        batch: options,
        grad_accumulation: 1,
        optimizer: OptimizerConfig::Adam { lr: 1e-3 },
        eval_every: 1,
        seed: 3,
    };
    let (reference, ref_arrays, ref_model) = run(&reference_config, None);

    // The graph evaluated every 2 steps instead of every step: same numbers.
    let (lazy, lazy_arrays, _) = run(&TrainConfig { eval_every: 2, ..reference_config.clone() }, None);
    assert_eq!(lazy.losses, reference.losses);
    for (k, v) in &ref_arrays {
        assert!(max_abs_diff(v, &lazy_arrays[k]) < 1e-6, "{k}");
    }

    // The gradient of a batch of 4 equals the token-weighted accumulation of
    // two micro-batches of 2 (checked on the trained model, where the
    // gradients of A and B are both non-zero).
    let refs: Vec<_> = train_set.iter().collect();
    let whole = make_batches(&refs[..4], &options).unwrap();
    let halves = make_batches(&refs[..4], &BatchOptions { batch_size: 2, ..options }).unwrap();
    assert_eq!((whole.len(), halves.len()), (1, 2));
    let mut model = ref_model.clone();
    let (big_loss, big, big_tokens) = accumulated_gradients(&mut model, &whole).unwrap();
    let (small_loss, small, small_tokens) = accumulated_gradients(&mut model, &halves).unwrap();
    assert_eq!(big_tokens, small_tokens);
    let (big_loss, small_loss) = (big_loss.item_exact::<f32>(), small_loss.item_exact::<f32>());
    assert!((big_loss - small_loss).abs() < 1e-4, "{big_loss} vs {small_loss}");
    assert_eq!(big.len(), 2 * 2 * 2);
    for (k, g) in &big {
        let size = g.abs().unwrap().max(None).unwrap().item_exact::<f32>();
        assert!(size > 0.0, "{k}: zero gradient");
        assert!(max_abs_diff(g, &small[k]) < 1e-3 * size, "{k}");
    }

    // A plugged-in forward is what the model runs: an equivalent one trains
    // the same; one that ignores the adapter learns nothing (its validation
    // loss stays the base model's).
    let (merged, _, merged_model) = run(&reference_config, Some(merged_forward));
    for (a, b) in merged.losses.iter().zip(&reference.losses) {
        assert!((a - b).abs() < 1e-3, "{:?} vs {:?}", merged.losses, reference.losses);
    }
    let ref_valid = validation_loss(&ref_model, &valid_set, &options).unwrap();
    let merged_valid = validation_loss(&merged_model, &valid_set, &options).unwrap();
    assert!((ref_valid - merged_valid).abs() < 1e-3, "{ref_valid} vs {merged_valid}");
    let (_, _, broken_model) = run(&reference_config, Some(broken_forward));
    let base_valid = validation_loss(&base, &valid_set, &options).unwrap();
    let broken_valid = validation_loss(&broken_model, &valid_set, &options).unwrap();
    assert!((broken_valid - base_valid).abs() < 1e-5, "{broken_valid} vs {base_valid}");
    assert!(ref_valid < base_valid, "{ref_valid} vs {base_valid}");
    eprintln!("agreement runs in {:.1}s", start.elapsed().as_secs_f64());
}

#[test]
fn qlora_on_4_bit_base_gives_the_dense_loss_and_gradients() {
    let path = mlx_lora::paths::smollm2_gguf().unwrap();
    let (mut quantized, file) =
        Llama::load_gguf(&path, LoadOptions { keep_quantized: true, ..LoadOptions::default() }).unwrap();
    let tok = Tokenizer::from_gguf(&file).unwrap();
    let (mut dense, _) = load();
    let (train_set, _) = data(&tok, 1, 0);
    let refs: Vec<_> = train_set.iter().collect();
    let batch = make_batches(&refs, &batch_options(&tok)).unwrap();
    let start = Instant::now();
    let config = LoraConfig { num_layers: 2, ..LoraConfig::default() };
    lora::apply(&mut quantized, &config).unwrap();
    lora::apply(&mut dense, &config).unwrap();
    assert!(quantized.layers[29].attn.q_proj.base.is_quantized());
    let (q_loss, q_grads, _) = accumulated_gradients(&mut quantized, &batch).unwrap();
    let (d_loss, d_grads, _) = accumulated_gradients(&mut dense, &batch).unwrap();
    let (q_loss, d_loss) = (q_loss.item_exact::<f32>(), d_loss.item_exact::<f32>());
    assert!((q_loss / d_loss - 1.0).abs() < 0.01, "{q_loss} vs {d_loss}");
    // Gradients flow through the 4-bit matmuls into the adapters (into B
    // only at the start: with B = 0 the gradient of A is zero).
    for (k, g) in &d_grads {
        let size = g.abs().unwrap().max(None).unwrap().item_exact::<f32>();
        let diff = max_abs_diff(g, &q_grads[k]);
        assert!(size > 0.0 || k.ends_with("lora_a"), "{k}: zero gradient");
        assert!(diff <= 0.05 * size, "{k}: {diff} vs {size}");
    }
    eprintln!("QLoRA and dense gradients in {:.1}s", start.elapsed().as_secs_f64());
}

#[test]
fn base_weights_quantized_to_8_or_4_bits_at_load_give_the_dense_loss() {
    let path = mlx_lora::paths::smollm2_gguf().unwrap();
    let (dense, tok) = load();
    let (train_set, _) = data(&tok, 1, 0);
    let refs: Vec<_> = train_set.iter().collect();
    let batch = &make_batches(&refs, &batch_options(&tok)).unwrap()[0];
    let loss = |model: &Llama| mlx_lora::train::batch_loss(model, batch).unwrap().item_exact::<f32>();
    let dense_loss = loss(&dense);
    // The embedding (a fifth of the parameters) stays dense.
    for (bits, tolerance, size) in [(8, 1e-3, 0.5), (4, 1e-2, 0.4)] {
        let (model, _) =
            Llama::load_gguf(&path, LoadOptions { quantize_bits: Some(bits), ..LoadOptions::default() })
                .unwrap();
        match &model.layers[0].mlp.up {
            Tensor::Quantized { bits: b, .. } => assert_eq!(*b, bits),
            Tensor::Dense(_) => panic!("{bits}-bit load left the MLP dense"),
        }
        // The file's values are 4-bit: 8 bits hold them (nearly) exactly.
        let q_loss = loss(&model);
        assert!((q_loss / dense_loss - 1.0).abs() < tolerance, "{bits} bits: {q_loss} vs {dense_loss}");
        let ratio = model.base_nbytes() as f64 / dense.base_nbytes() as f64;
        assert!(ratio < size, "{bits} bits: {ratio:.3} of the f32 base's bytes");
    }
    let bad = Llama::load_gguf(&path, LoadOptions { quantize_bits: Some(7), ..LoadOptions::default() });
    assert!(bad.err().unwrap().to_string().contains("quantize_bits is 7"));
}

fn adapted(base: &Llama, layers: i32) -> Llama {
    let mut model = base.clone();
    lora::apply(&mut model, &LoraConfig { num_layers: layers, ..LoraConfig::default() }).unwrap();
    model
}

#[test]
fn packed_rows_and_chunked_attention_compute_what_separate_rows_do() {
    let (base, tok) = load();
    let (train_set, _) = data(&tok, 8, 0);
    let refs: Vec<_> = train_set.iter().collect();
    let options = BatchOptions { batch_size: 8, ..batch_options(&tok) };
    let plain = &make_batches(&refs, &options).unwrap()[0];
    let packed_options = BatchOptions { pack_len: Some(128), pad_multiple: 1, ..options };
    let packed = &make_batches(&refs, &packed_options).unwrap()[0];
    // Fewer, fuller rows, the same tokens in the loss.
    assert!(
        packed.inputs.size() < plain.inputs.size(),
        "{:?} vs {:?}",
        packed.inputs.shape(),
        plain.inputs.shape()
    );
    assert_eq!(packed.tokens, plain.tokens);
    assert!(packed.segments.is_some() && plain.segments.is_none());

    let model = base.clone();
    let loss =
        |m: &Llama, b: &mlx_lora::data::Batch| mlx_lora::train::batch_loss(m, b).unwrap().item_exact::<f32>();
    let reference = loss(&model, plain);
    let packed_loss = loss(&model, packed);
    assert!((packed_loss - reference).abs() < 1e-4 * reference, "{packed_loss} vs {reference}");
    // Without the segment mask, examples see each other: another number.
    let leaky = mlx_lora::data::Batch { segments: None, ..packed.clone() };
    assert!((loss(&model, &leaky) - reference).abs() > 1e-3 * reference);

    // Attention in chunks of 8 queries, on plain and on packed rows.
    let mut chunked = model.clone();
    chunked.attention_query_chunk = Some(8);
    for (batch, want) in [(plain, reference), (packed, reference)] {
        let got = loss(&chunked, batch);
        assert!((got - want).abs() < 1e-4 * want, "chunked {got} vs {want}");
    }
    let whole = model.forward(&plain.inputs).unwrap();
    assert!(max_abs_diff(&chunked.forward(&plain.inputs).unwrap(), &whole) < 1e-3);
}

#[test]
fn settings_batch_differently_and_train_the_same() {
    use mlx_lora::settings::{TrainingSettings, train_with_settings};
    let (base, tok) = load();
    let (train_set, _) = data(&tok, 16, 0);
    let config = TrainConfig {
        iters: 3,
        batch: BatchOptions { batch_size: 4, ..batch_options(&tok) },
        grad_accumulation: 2,
        optimizer: OptimizerConfig::Adam { lr: 1e-3 },
        eval_every: 1,
        seed: 5,
    };
    let run = |settings: &TrainingSettings| {
        let mut model = adapted(&base, 2);
        let report =
            train_with_settings(&mut model, &train_set, &config, settings, &mut StandardStep).unwrap();
        assert_eq!(model.attention_query_chunk, None, "the run's chunking is put back");
        (report, adapter_arrays(&model))
    };
    // The default settings train exactly as the plain trainer does.
    let (reference, ref_arrays) = run(&TrainingSettings::default());
    let mut model = adapted(&base, 2);
    let plain = train(&mut model, &train_set, &config, &mut StandardStep, make_batches).unwrap();
    assert_eq!(reference.losses, plain.losses);
    assert_eq!((reference.tokens, reference.positions), (plain.tokens, plain.positions));

    // Micro-batches of 2, packed rows, chunked attention, lazy evaluation,
    // cache clearing and prefetching: fewer positions, the same training.
    let lean = TrainingSettings {
        micro_batch_examples: 2,
        pack_len: Some(96),
        attention_query_chunk: Some(16),
        eval_every: 3,
        clear_cache_every: Some(1),
        prefetch_steps: 2,
        ..TrainingSettings::default()
    };
    let (report, arrays) = run(&lean);
    assert_eq!(report.tokens, reference.tokens);
    assert!(report.positions < reference.positions, "{} vs {}", report.positions, reference.positions);
    assert_eq!(report.memory_trace.len(), 1, "evaluated once, at the end");
    for (a, b) in report.losses.iter().zip(&reference.losses) {
        assert!((a - b).abs() < 1e-4 * b, "{:?} vs {:?}", report.losses, reference.losses);
    }
    // Adam turns tiny gradient differences into whole steps where a
    // gradient is near zero, so compare the adapters' change as a whole.
    let start = adapter_arrays(&adapted(&base, 2));
    let sq = |a: Array| a.square().unwrap().sum(None).unwrap().item_exact::<f32>() as f64;
    let (mut diff, mut moved) = (0.0, 0.0);
    for (k, v) in &ref_arrays {
        diff += sq(arrays[k].subtract(v).unwrap());
        moved += sq(v.subtract(&start[k]).unwrap());
    }
    assert!(
        moved > 0.0 && (diff / moved).sqrt() < 2e-2,
        "adapters differ by {:.4} of their change",
        (diff / moved).sqrt()
    );

    // A budget too small for any micro-batch is an error that says so.
    let starved = TrainingSettings { memory_budget_mb: Some(1.0), ..TrainingSettings::default() };
    let mut model = adapted(&base, 2);
    let e = train_with_settings(&mut model, &train_set, &config, &starved, &mut StandardStep).unwrap_err();
    assert!(e.to_string().contains("no batch size"), "{e}");
}

#[test]
fn settings_files_are_read_and_bad_values_named() {
    use mlx_lora::settings::TrainingSettings;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.json");
    let found = TrainingSettings {
        micro_batch_examples: 2,
        pack_len: Some(256),
        quantize_bits: Some(8),
        ..Default::default()
    };
    std::fs::write(&path, serde_json::to_string_pretty(&found).unwrap()).unwrap();
    assert_eq!(TrainingSettings::from_json_file(&path).unwrap(), found);
    // Keys left out keep their defaults.
    std::fs::write(&path, r#"{"eval_every": 4}"#).unwrap();
    assert_eq!(
        TrainingSettings::from_json_file(&path).unwrap(),
        TrainingSettings { eval_every: 4, ..Default::default() }
    );
    std::fs::write(&path, r#"{"micro_batch": 2}"#).unwrap();
    let e = TrainingSettings::from_json_file(&path).unwrap_err().to_string();
    assert!(
        e.contains("settings.json") && e.contains("micro_batch") && e.contains("micro_batch_examples"),
        "{e}"
    );

    let config = TrainConfig {
        batch: BatchOptions { batch_size: 4, ..BatchOptions::default() },
        ..TrainConfig::default()
    };
    let e = TrainingSettings { micro_batch_examples: 3, ..Default::default() }.validate(&config).unwrap_err();
    assert!(e.to_string().contains("3 does not divide the 4 examples"), "{e}");
    let e = TrainingSettings { quantize_bits: Some(7), ..Default::default() }.validate(&config).unwrap_err();
    assert!(e.to_string().contains("quantize_bits"), "{e}");
}
