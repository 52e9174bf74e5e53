//! One training run, in a child process: the baseline's standard parts or
//! the candidate's, on the experiment's model, data, order and step count;
//! the adapters are saved for the parent to judge.

use std::path::{Path, PathBuf};

use mlx_lora::data::{Tokenized, epoch_order, make_batches};
use mlx_lora::evaluation::{EvaluatorArgs, REPORT_ARTIFACT, Variant};
use mlx_lora::experiment::{
    Experiment, Hooks, Prepared, forward_flops_per_position, prepare, train_prepared,
};
use mlx_lora::train::{TrainConfig, TrainReport};
use mlx_lora::verify::{self, Tolerances};
use openevolve_sdk::{Candidate, EvaluationResult};
use serde::{Deserialize, Serialize};

/// The LoRA preset of the arguments' size.
pub fn experiment(args: &EvaluatorArgs) -> Result<Experiment, String> {
    Experiment::by_name(&args.size).map_err(|e| e.to_string())
}

/// What one run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrialReport {
    pub adapters: PathBuf,
    pub train: TrainReport,
    pub load_seconds: f64,
    pub forward_flops_per_position: f64,
}

fn candidate_hooks(candidate: &Candidate) -> Result<Hooks, String> {
    let hooks = openevolve_sdk::unsealed_fn!(*mapped(candidate)?, hooks: fn() -> mlx_lora::experiment::Hooks)
        .map_err(|e| e.to_string())?;
    Ok(hooks())
}

/// The candidate mapped into this training process, for good: its hooks
/// point into it. Not sealed (the sealed-evaluation work moves these runs
/// behind the judge).
fn mapped(candidate: &Candidate) -> Result<&'static openevolve_sdk::Library, String> {
    // SAFETY: this child process exists to run the candidate's training.
    let library = unsafe { candidate.map_unsealed() }.map_err(|e| e.to_string())?;
    Ok(Box::leak(Box::new(library)))
}

pub fn train(
    candidate: &Candidate,
    args: &EvaluatorArgs,
    variant: Variant,
    adapters: &Path,
    check: bool,
) -> Result<EvaluationResult, String> {
    let experiment = experiment(args)?;
    let mut prepared = prepare(&experiment).map_err(|e| e.to_string())?;
    if check {
        check_parts(&mut candidate_hooks(candidate)?, &prepared).map_err(|e| format!("check failed: {e}"))?;
    }
    let hooks = || match variant {
        Variant::Baseline => Ok(Hooks::standard()),
        Variant::Candidate => candidate_hooks(candidate),
    };
    // Untimed warm-up on a copy: kernels compiled on first use (MLX's CUDA
    // backend compiles at run time) must not count against whichever run
    // comes first. Then fresh parts, so no state carries over.
    let mut warm = Prepared {
        model: prepared.model.clone(),
        train_set: prepared.train_set.clone(),
        valid_set: Vec::new(),
        config: TrainConfig { iters: WARM_UP_STEPS, ..prepared.config.clone() },
        load_seconds: 0.0,
    };
    train_prepared(&mut warm, &mut hooks()?).map_err(|e| format!("training failed: {e}"))?;
    drop(warm);
    mlx_rs::memory::clear_cache().map_err(|e| e.to_string())?;
    let train = train_prepared(&mut prepared, &mut hooks()?).map_err(|e| format!("training failed: {e}"))?;
    mlx_lora::lora::save_adapters(&prepared.model, adapters).map_err(|e| e.to_string())?;
    let report = TrialReport {
        adapters: adapters.to_path_buf(),
        forward_flops_per_position: forward_flops_per_position(&prepared.model),
        load_seconds: prepared.load_seconds,
        train,
    };
    Ok(EvaluationResult::new()
        .metric("seconds", report.train.seconds)
        .artifact(REPORT_ARTIFACT, serde_json::to_string(&report).expect("plain data")))
}

/// Untimed steps before each timed run.
const WARM_UP_STEPS: usize = 2;

/// Steps the step check runs: enough to see an update skipped or a
/// pattern that only shows from the second step.
const CHECKED_STEPS: usize = 3;

/// The candidate's parts against the reference on this run's own model and
/// data (see `mlx_lora::verify`).
fn check_parts(hooks: &mut Hooks, prepared: &Prepared) -> Result<(), String> {
    let config = &prepared.config;
    let tol = Tolerances::for_dtype(prepared.model.dtype);
    if hooks.eval_every == Some(0) {
        return Err("eval_every must be at least 1".into());
    }
    verify::check_lora_forward(hooks.lora_forward, &prepared.model, &tol)?;
    let order = epoch_order(prepared.train_set.len(), config.seed, 0);
    let ordered: Vec<&Tokenized> = order.iter().map(|&i| &prepared.train_set[i]).collect();
    verify::check_batches(hooks.batch_fn, &ordered, &config.batch)?;
    let per_group = config.grad_accumulation * config.batch.batch_size;
    let take = (CHECKED_STEPS * per_group).min(ordered.len());
    let batches = make_batches(&ordered[..take], &config.batch).map_err(|e| e.to_string())?;
    let groups: Vec<_> = batches.chunks(config.grad_accumulation).map(<[_]>::to_vec).collect();
    verify::check_step(hooks.step.as_mut(), &prepared.model, &groups, config.optimizer, &tol)
}
