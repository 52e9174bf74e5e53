//! One training run, sealed (`mlx_lora_eval::runs`): the judge starts a process
//! per run, a reference process for the baseline's standard parts and a
//! candidate process for the candidate's, and drives two routines there.
//! [`prepare_routine`] loads the model, checks the candidate's parts
//! against the reference and warms up; [`train_routine`] trains on the
//! examples the judge sends and answers with the adapters' bytes.

use std::cell::RefCell;

use mlx_lora::data::{Tokenized, epoch_order, make_batches};
use mlx_lora::experiment::{
    Experiment, Hooks, Prepared, RunSetup, forward_flops_per_position, train_prepared,
};
use mlx_lora::train::{TrainConfig, TrainReport};
use mlx_lora_eval::evaluation::{EvaluatorArgs, Variant};
use mlx_lora_eval::runs::{JudgedRun, MemoryMeter, RunProcess, judge_run, train_answer, training_failed};
use mlx_lora_eval::verify::{self, Tolerances};
use openevolve_sdk::confine::Reads;
use openevolve_sdk::{Candidate, CandidateProcess, Library, ProcessRole};
use serde::{Deserialize, Serialize};

/// The LoRA preset of the arguments' size.
pub fn experiment(args: &EvaluatorArgs) -> Result<Experiment, String> {
    Experiment::by_name(&args.size).map_err(|e| e.to_string())
}

/// What one run says of itself: reported, never scored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrialReport {
    pub train: TrainReport,
    pub load_seconds: f64,
    pub forward_flops_per_position: f64,
}

/// Runs `variant` once in a fresh process reading only `reads`. A
/// candidate process's death unwinds as its failure; a reference process's
/// as an evaluator error (the SDK tells them apart).
pub fn judged_run(
    candidate: &Candidate,
    variant: Variant,
    reads: &Reads,
    setup: &[u8],
    data: &[u8],
) -> Result<JudgedRun<TrialReport>, String> {
    let role = match variant {
        Variant::Baseline => ProcessRole::Reference,
        Variant::Candidate => ProcessRole::Candidate,
    };
    let meter = MemoryMeter::before_start()?;
    let process = Sealed(candidate.start_process_with(role, reads).map_err(|e| e.to_string())?);
    let judged = judge_run(&process, &meter, setup, data);
    process.0.finish().map_err(|f| f.message)?;
    judged
}

/// The SDK's process as `mlx_lora_eval::runs` drives it.
struct Sealed(CandidateProcess);

impl RunProcess for Sealed {
    fn call_routine(&self, name: &str, input: &[u8]) -> Result<Vec<u8>, String> {
        self.0.call_routine(name, input)
    }
    fn reset_peak_memory(&self) -> std::io::Result<()> {
        self.0.reset_peak_memory()
    }
    fn peak_memory_bytes(&self) -> std::io::Result<u64> {
        self.0.peak_memory_bytes()
    }
}

/// A run process's state between its two routines.
struct Run {
    prepared: Prepared,
    hooks: Box<dyn Fn() -> Hooks>,
}

thread_local! {
    static RUN: RefCell<Option<Run>> = const { RefCell::new(None) };
}

/// In the run's process: loads the model, checks the parts (the candidate's,
/// or the standard ones in the baseline's run), warms up on the setup's
/// held-out examples.
pub fn prepare_routine(library: Option<&Library>, input: &[u8]) -> Result<Vec<u8>, String> {
    let setup: RunSetup = serde_json::from_slice(input).map_err(|e| format!("the run's setup: {e}"))?;
    let hooks: Box<dyn Fn() -> Hooks> = match library {
        None => Box::new(Hooks::standard),
        Some(library) => {
            let hooks = openevolve_sdk::unsealed_fn!(*library, hooks: fn() -> mlx_lora::experiment::Hooks)
                .map_err(|e| e.to_string())?;
            Box::new(hooks)
        }
    };
    let prepared = setup.prepare(Vec::new()).map_err(|e| e.to_string())?;
    // The baseline's process runs the checks too (its parts pass them), so
    // that what they leave behind (MLX's buffer cache, the CUDA memory pool
    // the driver counts) weighs on both sides alike. When only candidates
    // were checked, every candidate on an H200 at the `gpu` size held some
    // 30 GB more device memory than the baseline, whatever its code.
    check_parts(&mut hooks(), &prepared, &setup.warm_up).map_err(|e| format!("check failed: {e}"))?;
    // Untimed warm-up on a copy: kernels compiled on first use (MLX's CUDA
    // backend compiles at run time) must not count against whichever run
    // comes first.
    let mut warm = Prepared {
        model: prepared.model.clone(),
        train_set: setup.warm_up.clone(),
        valid_set: Vec::new(),
        config: TrainConfig { iters: WARM_UP_STEPS, ..prepared.config.clone() },
        load_seconds: 0.0,
    };
    train_prepared(&mut warm, &mut hooks()).map_err(training_failed)?;
    drop(warm);
    mlx_rs::memory::clear_cache().map_err(|e| e.to_string())?;
    RUN.with_borrow_mut(|run| *run = Some(Run { prepared, hooks }));
    Ok(Vec::new())
}

/// In the run's process: trains fresh parts on the judge's examples and
/// answers with the report and the adapters.
pub fn train_routine(_: Option<&Library>, input: &[u8]) -> Result<Vec<u8>, String> {
    let train_set: Vec<Tokenized> =
        serde_json::from_slice(input).map_err(|e| format!("the training examples: {e}"))?;
    let Run { mut prepared, hooks } = RUN.take().ok_or("train before prepare")?;
    prepared.train_set = train_set;
    let train = train_prepared(&mut prepared, &mut hooks()).map_err(training_failed)?;
    let path = std::path::Path::new("adapters.safetensors");
    mlx_lora::lora::save_adapters(&prepared.model, path).map_err(|e| e.to_string())?;
    let adapters = std::fs::read(path).map_err(|e| format!("cannot read back the adapters: {e}"))?;
    let report = TrialReport {
        forward_flops_per_position: forward_flops_per_position(&prepared.model),
        load_seconds: prepared.load_seconds,
        train,
    };
    Ok(train_answer(&report, &adapters))
}

/// Untimed steps before each timed run.
const WARM_UP_STEPS: usize = 2;

/// Steps the step check runs: enough to see an update skipped or a
/// pattern that only shows from the second step.
const CHECKED_STEPS: usize = 3;

/// The candidate's parts against the reference on this run's own model,
/// over `examples` (see `mlx_lora_eval::verify`).
fn check_parts(hooks: &mut Hooks, prepared: &Prepared, examples: &[Tokenized]) -> Result<(), String> {
    let config = &prepared.config;
    let tol = Tolerances::for_dtype(prepared.model.dtype);
    if hooks.eval_every == Some(0) {
        return Err("eval_every must be at least 1".into());
    }
    verify::check_lora_forward(hooks.lora_forward, &prepared.model, &tol)?;
    let order = epoch_order(examples.len(), config.seed, 0);
    let ordered: Vec<&Tokenized> = order.iter().map(|&i| &examples[i]).collect();
    verify::check_batches(hooks.batch_fn, &ordered, &config.batch, config.grad_accumulation)?;
    let per_group = config.grad_accumulation * config.batch.batch_size;
    let take = (CHECKED_STEPS * per_group).min(ordered.len());
    let batches = make_batches(&ordered[..take], &config.batch).map_err(|e| e.to_string())?;
    let groups: Vec<_> = batches.chunks(config.grad_accumulation).map(<[_]>::to_vec).collect();
    verify::check_step(hooks.step.as_mut(), &prepared.model, &groups, config.optimizer, &tol)
}
