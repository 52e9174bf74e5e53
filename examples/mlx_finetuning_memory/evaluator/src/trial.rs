//! One training run, sealed (`mlx_lora_eval::runs`): the judge starts a process
//! per run, a reference process for the standard settings and step, a
//! candidate process for the candidate's plan, and drives two routines
//! there. [`prepare_routine`] loads the model (at the plan's bits), checks
//! the candidate's plan against the standard run and warms up;
//! [`train_routine`] trains on the examples the judge sends and answers
//! with the adapters' bytes.

use std::cell::RefCell;

use mlx_lora::data::Tokenized;
use mlx_lora::experiment::{Experiment, Prepared, RunSetup};
use mlx_lora::model::Llama;
use mlx_lora::settings::{Plan, TrainingSettings, train_with_settings};
use mlx_lora::train::{TrainConfig, TrainReport};
use mlx_lora_eval::evaluation::Variant;
use mlx_lora_eval::runs::{JudgedRun, MemoryMeter, RunProcess, judge_run, train_answer, training_failed};
use mlx_lora_eval::verify::{self, Tolerances};
use openevolve_sdk::confine::Reads;
use openevolve_sdk::{Candidate, CandidateProcess, Library, ProcessRole};
use serde::{Deserialize, Serialize};

/// The experiment of each size: the LoRA presets with 8 examples per step
/// on the CPU (room for micro-batches), the `full` preset's 16 on a GPU.
pub fn experiment(size: &str) -> Result<Experiment, String> {
    let mut e = Experiment::by_name(size).map_err(|e| e.to_string())?;
    if size == "tiny" {
        e.train.batch.batch_size = 8;
        e.train.iters = 8;
    }
    e.name = format!("memory-{size}");
    Ok(e)
}

/// What one run says of itself: reported, never scored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrialReport {
    pub train: TrainReport,
    pub settings: TrainingSettings,
    pub load_seconds: f64,
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

/// Untimed steps before each timed run.
const WARM_UP_STEPS: usize = 2;

/// Steps the check runs.
const CHECKED_STEPS: usize = 3;

/// A run process's state between its two routines.
struct Run {
    prepared: Prepared,
    plan: Box<dyn Fn() -> Plan>,
}

thread_local! {
    static RUN: RefCell<Option<Run>> = const { RefCell::new(None) };
}

/// In the run's process: loads the model at the plan's bits, checks the
/// plan (the candidate's, or the standard one in the baseline's run), warms up on the setup's
/// held-out examples.
pub fn prepare_routine(library: Option<&Library>, input: &[u8]) -> Result<Vec<u8>, String> {
    let setup: RunSetup = serde_json::from_slice(input).map_err(|e| format!("the run's setup: {e}"))?;
    let plan: Box<dyn Fn() -> Plan> = match library {
        None => Box::new(Plan::standard),
        Some(library) => {
            let plan = openevolve_sdk::unsealed_fn!(*library, plan: fn() -> mlx_lora::settings::Plan)
                .map_err(|e| e.to_string())?;
            Box::new(plan)
        }
    };
    let settings = plan().settings;
    let setup = RunSetup { experiment: settings.apply_to(&setup.experiment), ..setup };
    let prepared = setup.prepare(Vec::new()).map_err(|e| e.to_string())?;
    // Both variants' processes run the checks, so that what they leave in
    // the process (MLX's cache, the CUDA memory pool) is the same on both
    // sides of the comparison.
    let tol = Tolerances::for_dtype(prepared.model.dtype);
    verify::check_plan(&mut plan(), &prepared.model, &setup.warm_up, &prepared.config, CHECKED_STEPS, &tol)
        .map_err(|e| format!("check failed: {e}"))?;
    // Untimed warm-up on a copy (kernels compiled on first use), then a
    // fresh plan so that no state carries over.
    let warm_config = TrainConfig { iters: WARM_UP_STEPS, ..prepared.config.clone() };
    let mut warm = prepared.model.clone();
    run_plan(&mut warm, &setup.warm_up, &warm_config, plan())?;
    drop(warm);
    mlx_rs::memory::clear_cache().map_err(|e| e.to_string())?;
    RUN.with_borrow_mut(|run| *run = Some(Run { prepared, plan }));
    Ok(Vec::new())
}

/// In the run's process: trains with a fresh plan on the judge's examples
/// and answers with the report and the adapters.
pub fn train_routine(_: Option<&Library>, input: &[u8]) -> Result<Vec<u8>, String> {
    let train_set: Vec<Tokenized> =
        serde_json::from_slice(input).map_err(|e| format!("the training examples: {e}"))?;
    let Run { mut prepared, plan } = RUN.take().ok_or("train before prepare")?;
    let plan = plan();
    let settings = plan.settings.clone();
    let train = run_plan(&mut prepared.model, &train_set, &prepared.config, plan)?;
    let path = std::path::Path::new("adapters.safetensors");
    mlx_lora::lora::save_adapters(&prepared.model, path).map_err(|e| e.to_string())?;
    let adapters = std::fs::read(path).map_err(|e| format!("cannot read back the adapters: {e}"))?;
    let report = TrialReport { train, settings, load_seconds: prepared.load_seconds };
    Ok(train_answer(&report, &adapters))
}

fn run_plan(
    model: &mut Llama,
    examples: &[Tokenized],
    config: &TrainConfig,
    mut plan: Plan,
) -> Result<TrainReport, String> {
    train_with_settings(model, examples, config, &plan.settings, plan.step.as_mut()).map_err(training_failed)
}
