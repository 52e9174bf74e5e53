//! Checks an evaluator runs on replaceable parts before it trusts their
//! speed. Each compares a part with the reference on the same inputs, so a
//! part that computes something else is caught even where a short training
//! run would hide it: a LoRA forward that drops part of the rank, batching
//! that loses tokens or miscounts them, a step that returns a loss it did not
//! compute, trains on another attention pattern, skips updates or touches the
//! frozen weights.
//!
//! Every check returns `Err` with a sentence saying what differs.

use mlx_rs::{Array, Dtype, random};

use mlx_lora::data::{Batch, BatchFn, BatchOptions, Tokenized, make_batches};
use mlx_lora::lora::{LoraForwardFn, adapter_arrays, standard_forward};
use mlx_lora::model::Llama;
use mlx_lora::settings::{Plan, TrainingSettings, first_steps};
use mlx_lora::train::{OptimizerConfig, StandardStep, TrainConfig, TrainStep};

/// How far a part may be from the reference: relative to the size of what
/// is compared. Reordered float arithmetic stays far inside them; a
/// different computation does not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerances {
    /// Of the adapter's contribution to a projection's output.
    pub forward: f32,
    /// Of a step's loss.
    pub loss: f32,
    /// Of the adapters' change over the checked steps (L2 over all of them).
    pub update: f32,
}

impl Tolerances {
    /// For activations in `dtype`: tight for f32, looser for bf16's 8 bits.
    pub fn for_dtype(dtype: Dtype) -> Self {
        match dtype {
            Dtype::Float32 => Self { forward: 1e-3, loss: 1e-3, update: 2e-2 },
            _ => Self { forward: 5e-2, loss: 1e-2, update: 0.15 },
        }
    }
}

type Check<T = ()> = std::result::Result<T, String>;

type MlxResult<T> = std::result::Result<T, mlx_rs::error::Exception>;

/// An MLX error as a check failure.
fn mlx(what: &'static str) -> impl Fn(mlx_rs::error::Exception) -> String {
    move |e| format!("{what}: MLX error: {e}")
}

fn max_abs(a: &Array) -> MlxResult<f32> {
    Ok(a.as_dtype(Dtype::Float32)?.abs()?.max(None)?.item_exact::<f32>())
}

fn as_f32(a: &Array) -> MlxResult<f32> {
    Ok(a.as_dtype(Dtype::Float32)?.item_exact::<f32>())
}

/// The LoRA forward `f` against [`standard_forward`] on one of the model's
/// adapted projections, with random inputs of two shapes and a non-zero `B`.
pub fn check_lora_forward(f: LoraForwardFn, model: &Llama, tol: &Tolerances) -> Check {
    let proj = model
        .layers
        .iter()
        .flat_map(|l| [&l.attn.q_proj, &l.attn.k_proj, &l.attn.v_proj, &l.attn.o_proj])
        .find(|p| p.is_adapted())
        .ok_or("the model has no adapters to check the forward on")?;
    let (out_dims, in_dims) = (proj.base.shape()[0], proj.base.shape()[1]);
    let rank = proj.rank();
    let run = |shape: [i32; 3], seed: u64| -> MlxResult<Option<String>> {
        let x = random::normal::<f32>(&shape[..], None, None, &random::key(seed)?)?.as_dtype(model.dtype)?;
        let bound = 1.0 / (in_dims as f32).sqrt();
        let a = random::uniform::<_, f32>(-bound, bound, &[in_dims, rank][..], &random::key(seed + 1)?)?;
        let b = random::normal::<f32>(&[rank, out_dims][..], None, 0.05, &random::key(seed + 2)?)?;
        let reference = standard_forward(&x, &proj.base, &a, &b, proj.scale)?;
        let candidate = f(&x, &proj.base, &a, &b, proj.scale)?;
        if candidate.shape() != reference.shape() || candidate.dtype() != reference.dtype() {
            return Ok(Some(format!(
                "the LoRA forward returns shape {:?} {:?} for input {shape:?}; the reference returns {:?} {:?}",
                candidate.shape(),
                candidate.dtype(),
                reference.shape(),
                reference.dtype()
            )));
        }
        let adapter_term = max_abs(&reference.subtract(proj.base.matmul_t(&x)?)?)?;
        let err = max_abs(&candidate.subtract(&reference)?)? / adapter_term.max(f32::MIN_POSITIVE);
        Ok((!(err <= tol.forward)).then(|| {
            format!(
                "the LoRA forward differs from x·Wᵀ + scale·(x·A)·B by {err:.2e} of the adapter's term \
                 (allowed {:.0e}) for input {shape:?}, rank {rank}",
                tol.forward
            )
        }))
    };
    for (shape, seed) in [([2, 5, in_dims], 11), ([1, 16, in_dims], 17)] {
        if let Some(problem) = run(shape, seed).map_err(mlx("the LoRA forward"))? {
            return Err(problem);
        }
    }
    Ok(())
}

/// Host copies of a batch's arrays, after checking their shapes agree.
fn batch_rows(batch: &Batch, index: usize) -> std::result::Result<(Vec<i32>, Vec<f32>), String> {
    let shape = batch.inputs.shape().to_vec();
    if shape.len() != 2 || batch.targets.shape() != shape || batch.mask.shape() != shape {
        return Err(format!(
            "batch {index}: inputs {:?}, targets {:?} and mask {:?} must be the same [rows, length]",
            batch.inputs.shape(),
            batch.targets.shape(),
            batch.mask.shape()
        ));
    }
    let read = |what: &str| format!("batch {index}: cannot read the {what}");
    let targets = batch.targets.as_dtype(Dtype::Int32).map_err(|_| read("targets"))?;
    let mask = batch.mask.as_dtype(Dtype::Float32).map_err(|_| read("mask"))?;
    Ok((
        targets.try_as_slice::<i32>().map_err(|_| read("targets"))?.to_vec(),
        mask.try_as_slice::<f32>().map_err(|_| read("mask"))?.to_vec(),
    ))
}

/// The batches of `batch_fn` against [`make_batches`] over the same
/// examples, optimizer step by optimizer step (`batches_per_step`
/// micro-batches each): each batch's `tokens` must be its mask's sum, and
/// every step must put the same target tokens in the loss as the
/// reference's step of the same number, none lost, added or moved to
/// another step.
pub fn check_batches(
    batch_fn: BatchFn,
    examples: &[&Tokenized],
    options: &BatchOptions,
    batches_per_step: usize,
) -> Check {
    let per_step = |batches: &[Batch]| -> std::result::Result<Vec<Vec<i32>>, String> {
        let mut steps = Vec::new();
        for (s, step) in batches.chunks(batches_per_step.max(1)).enumerate() {
            let mut targets_in_loss = Vec::new();
            for (k, batch) in step.iter().enumerate() {
                let i = s * batches_per_step.max(1) + k;
                let (targets, mask) = batch_rows(batch, i)?;
                let ones = mask.iter().filter(|&&m| m != 0.0).count();
                if mask.iter().any(|&m| m != 0.0 && m != 1.0) {
                    return Err(format!("batch {i}: the mask holds values other than 0 and 1"));
                }
                if ones != batch.tokens {
                    return Err(format!(
                        "batch {i} says it has {} tokens in the loss; its mask has {ones}",
                        batch.tokens
                    ));
                }
                targets_in_loss
                    .extend(targets.iter().zip(&mask).filter(|(_, m)| **m != 0.0).map(|(t, _)| *t));
            }
            targets_in_loss.sort_unstable();
            steps.push(targets_in_loss);
        }
        Ok(steps)
    };
    let candidate = batch_fn(examples, options).map_err(|e| format!("the batching failed: {e}"))?;
    let reference =
        make_batches(examples, options).map_err(|e| format!("the reference batching failed: {e}"))?;
    let (got, want) = (per_step(&candidate)?, per_step(&reference)?);
    if got.len() != want.len() {
        return Err(format!(
            "the batches make {} optimizer steps; the reference's make {}",
            got.len(),
            want.len()
        ));
    }
    if let Some(step) = (0..got.len()).find(|&s| got[s] != want[s]) {
        return Err(format!(
            "optimizer step {step} trains on {} target tokens that are not the reference step's {} (other examples, or a different order)",
            got[step].len(),
            want[step].len()
        ));
    }
    Ok(())
}

/// Every frozen array of the model: embedding, norms, output and the base
/// matrices of every projection.
fn frozen_arrays(model: &Llama) -> Vec<&Array> {
    let mut all: Vec<&Array> = model.embed.arrays();
    all.push(&model.norm);
    if let Some(out) = &model.output {
        all.extend(out.arrays());
    }
    for l in &model.layers {
        let a = &l.attn;
        for p in [&a.q_proj, &a.k_proj, &a.v_proj, &a.o_proj] {
            all.extend(p.base.arrays());
        }
        for t in [&l.mlp.gate, &l.mlp.up, &l.mlp.down] {
            all.extend(t.arrays());
        }
        all.push(&l.attn_norm);
        all.push(&l.ffn_norm);
    }
    all
}

/// `step` against [`StandardStep`]: from the same weights (with `B` drawn
/// small rather than zero, so that `A` gets gradients too) and the same
/// micro-batch groups, each step's loss and token count must match, the
/// adapters must end where the reference's do, and the frozen weights must
/// stay as they were.
pub fn check_step(
    step: &mut dyn TrainStep,
    model: &Llama,
    groups: &[Vec<Batch>],
    optimizer: OptimizerConfig,
    tol: &Tolerances,
) -> Check {
    check_step_on(step, model, &|_| {}, groups, groups, optimizer, tol)
}

/// [`check_step`] where the candidate batches the same examples its own way
/// (`candidate_groups`, step by step the same examples as
/// `reference_groups`) and runs on its own copy of the model, set up by
/// `setup` (e.g. attention in chunks).
pub fn check_step_on(
    step: &mut dyn TrainStep,
    model: &Llama,
    setup: &dyn Fn(&mut Llama),
    candidate_groups: &[Vec<Batch>],
    reference_groups: &[Vec<Batch>],
    optimizer: OptimizerConfig,
    tol: &Tolerances,
) -> Check {
    if candidate_groups.len() != reference_groups.len() {
        return Err(format!(
            "{} candidate steps to check against {} reference steps",
            candidate_groups.len(),
            reference_groups.len()
        ));
    }
    let err = mlx("the step check");
    let start = with_nonzero_b(model)?;
    let (mut reference, mut candidate) = (start.clone(), start.clone());
    setup(&mut candidate);
    let (mut opt_r, mut opt_c) = (optimizer.build(), optimizer.build());
    for (i, (group, own)) in reference_groups.iter().zip(candidate_groups).enumerate() {
        let r = StandardStep
            .step(&mut reference, &mut opt_r, group)
            .map_err(|e| format!("reference step {i}: {e}"))?;
        let c = step.step(&mut candidate, &mut opt_c, own).map_err(|e| format!("step {i} failed: {e}"))?;
        if c.tokens != r.tokens {
            return Err(format!(
                "step {i} reports {} tokens in its loss; the batch has {}",
                c.tokens, r.tokens
            ));
        }
        let (lr, lc) = (as_f32(&r.loss).map_err(&err)?, as_f32(&c.loss).map_err(&err)?);
        if !((lc - lr).abs() <= tol.loss * lr.abs()) {
            return Err(format!(
                "step {i} returns the loss {lc:.5}; the reference loss on the same batch and weights is {lr:.5}"
            ));
        }
    }
    adapters_within(&start, &reference, &candidate, tol, reference_groups.len())?;
    frozen_unchanged(&start, &candidate)
}

/// A copy of `model` whose `lora_b` adapters are small and random (from
/// fixed keys) rather than 0, so that a step's gradients reach every
/// adapter.
fn with_nonzero_b(model: &Llama) -> Check<Llama> {
    let err = mlx("the step check");
    let mut start = model.clone();
    let mut nonzero_b = Vec::new();
    let mut adapters: Vec<_> = adapter_arrays(model).into_iter().collect();
    adapters.sort_by(|a, b| a.0.cmp(&b.0));
    for (i, (name, value)) in adapters.into_iter().enumerate() {
        if name.ends_with("lora_b") {
            let b =
                random::normal::<f32>(value.shape(), None, 1e-3, &random::key(100 + i as u64).map_err(&err)?)
                    .map_err(&err)?;
            nonzero_b.push((std::rc::Rc::from(name.as_str()), b));
        }
    }
    if nonzero_b.is_empty() {
        return Err("the model has no adapters to check the step on".into());
    }
    use mlx_rs::module::ModuleParameters as _;
    start.update_flattened(nonzero_b.into_iter().collect());
    Ok(start)
}

/// The candidate's adapters after `steps` steps from `start` are the
/// reference's, within `tol.update` of the reference's change.
fn adapters_within(
    start: &Llama,
    reference: &Llama,
    candidate: &Llama,
    tol: &Tolerances,
    steps: usize,
) -> Check {
    let err = mlx("the step check");
    let (p0, pr, pc) = (adapter_arrays(start), adapter_arrays(reference), adapter_arrays(candidate));
    if pc.len() != pr.len() || pc.keys().any(|k| !pr.contains_key(k)) {
        return Err("after the steps the model's adapters are not the ones it started with".into());
    }
    let (mut diff2, mut moved2) = (0f64, 0f64);
    for (name, r) in &pr {
        let c = &pc[name];
        if c.shape() != r.shape() {
            return Err(format!("{name} changed shape from {:?} to {:?}", r.shape(), c.shape()));
        }
        let sq = |a: Array| -> MlxResult<f64> {
            Ok(as_f32(&a.as_dtype(Dtype::Float32)?.square()?.sum(None)?)? as f64)
        };
        diff2 += sq(c.subtract(r).map_err(&err)?).map_err(&err)?;
        moved2 += sq(r.subtract(&p0[name]).map_err(&err)?).map_err(&err)?;
    }
    let rel = (diff2 / moved2.max(f64::MIN_POSITIVE)).sqrt() as f32;
    if !(rel <= tol.update) {
        return Err(format!(
            "after {steps} steps the adapters differ from the reference's by {rel:.3} of the reference's change (allowed {})",
            tol.update
        ));
    }
    Ok(())
}

/// Every frozen weight of `candidate` is as it was in `start`.
fn frozen_unchanged(start: &Llama, candidate: &Llama) -> Check {
    let err = mlx("the step check");
    let (before, after) = (frozen_arrays(start), frozen_arrays(candidate));
    if before.len() != after.len() {
        return Err("the step replaced frozen weights: only the adapters may train".into());
    }
    for (i, (before, after)) in before.into_iter().zip(after).enumerate() {
        if !before.eq_values(after).map_err(&err)? {
            return Err(format!("the step changed frozen weight array {i}: only the adapters may train"));
        }
    }
    Ok(())
}

/// A memory-example candidate (its settings and step) against the standard
/// run: the settings must be valid for `config`, and over the first
/// `steps` steps' examples, its step on its own batches (and attention
/// chunking) must train as [`StandardStep`] does on the standard batches
/// ([`check_step_on`]). The settings' micro-batch size is used as given;
/// under a memory budget the run picks a divisor of the same step, which
/// trains the same.
pub fn check_plan(
    plan: &mut Plan,
    model: &Llama,
    examples: &[Tokenized],
    config: &TrainConfig,
    steps: usize,
    tol: &Tolerances,
) -> Check {
    let Plan { settings, step } = plan;
    settings.validate(config).map_err(|e| e.to_string())?;
    let standard = TrainingSettings::default();
    let (micro, standard_micro) = (settings.micro_batch_size(config), standard.micro_batch_size(config));
    let (mut reference, mut own) = (Vec::new(), Vec::new());
    for step_examples in first_steps(examples, config, steps) {
        let batches = |s: &TrainingSettings, micro: usize| {
            s.step_batches(config, micro, &step_examples).map_err(|e| format!("batching: {e}"))
        };
        reference.push(batches(&standard, standard_micro)?);
        own.push(batches(settings, micro)?);
    }
    let chunk = settings.attention_query_chunk.map(|c| c as i32);
    let setup = move |m: &mut Llama| m.attention_query_chunk = chunk;
    check_step_on(step.as_mut(), model, &setup, &own, &reference, config.optimizer, tol)
}
