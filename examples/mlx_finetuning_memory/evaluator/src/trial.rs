//! One training run, in a child process: the standard settings and step or
//! the candidate's, on the experiment's model (at the candidate's bits),
//! data, examples per step and step count; the adapters are saved for the
//! parent to judge.

use std::path::{Path, PathBuf};

use mlx_lora::data::Tokenized;
use mlx_lora::evaluation::{EvaluatorArgs, REPORT_ARTIFACT, Variant, peak_rss_bytes};
use mlx_lora::experiment::{Experiment, prepare};
use mlx_lora::model::Llama;
use mlx_lora::settings::{Plan, TrainingSettings, train_with_settings};
use mlx_lora::train::{TrainConfig, TrainReport};
use mlx_lora::verify::{self, Tolerances};
use openevolve_sdk::{Candidate, EvaluationResult};
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

/// What one run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrialReport {
    pub adapters: PathBuf,
    pub train: TrainReport,
    pub settings: TrainingSettings,
    pub load_seconds: f64,
    /// The process's peak resident memory at the end of the run.
    pub peak_rss_bytes: Option<u64>,
}

fn candidate_plan(candidate: &Candidate) -> Result<Plan, String> {
    let plan = openevolve_sdk::unsealed_fn!(*mapped(candidate)?, plan: fn() -> mlx_lora::settings::Plan)
        .map_err(|e| e.to_string())?;
    Ok(plan())
}

/// The candidate mapped into this training process, for good: its plan
/// holds pointers into it. Not sealed (the sealed-evaluation work moves
/// these runs behind the judge).
fn mapped(candidate: &Candidate) -> Result<&'static openevolve_sdk::Library, String> {
    // SAFETY: this child process exists to run the candidate's training.
    let library = unsafe { candidate.map_unsealed() }.map_err(|e| e.to_string())?;
    Ok(Box::leak(Box::new(library)))
}

/// Untimed steps before each timed run.
const WARM_UP_STEPS: usize = 2;

/// Steps the check runs.
const CHECKED_STEPS: usize = 3;

pub fn train(
    candidate: &Candidate,
    args: &EvaluatorArgs,
    variant: Variant,
    adapters: &Path,
    check: bool,
) -> Result<EvaluationResult, String> {
    let plan = || match variant {
        Variant::Baseline => Ok(Plan::standard()),
        Variant::Candidate => candidate_plan(candidate),
    };
    let settings = plan()?.settings;
    let experiment = settings.apply_to(&experiment(&args.size)?);
    let mut prepared = prepare(&experiment).map_err(|e| e.to_string())?;
    if check {
        let tol = Tolerances::for_dtype(prepared.model.dtype);
        verify::check_plan(
            &mut plan()?,
            &prepared.model,
            &prepared.train_set,
            &prepared.config,
            CHECKED_STEPS,
            &tol,
        )
        .map_err(|e| format!("check failed: {e}"))?;
    }
    // Untimed warm-up on a copy (kernels compiled on first use), then a
    // fresh plan so that no state carries over.
    let warm_config = TrainConfig { iters: WARM_UP_STEPS, ..prepared.config.clone() };
    let mut warm = prepared.model.clone();
    run_plan(&mut warm, &prepared.train_set, &warm_config, plan()?)?;
    drop(warm);
    mlx_rs::memory::clear_cache().map_err(|e| e.to_string())?;
    let train = run_plan(&mut prepared.model, &prepared.train_set, &prepared.config, plan()?)?;
    mlx_lora::lora::save_adapters(&prepared.model, adapters).map_err(|e| e.to_string())?;
    let report = TrialReport {
        adapters: adapters.to_path_buf(),
        train,
        settings,
        load_seconds: prepared.load_seconds,
        peak_rss_bytes: peak_rss_bytes(),
    };
    Ok(EvaluationResult::new()
        .metric("seconds", report.train.seconds)
        .artifact(REPORT_ARTIFACT, serde_json::to_string(&report).expect("plain data")))
}

fn run_plan(
    model: &mut Llama,
    examples: &[Tokenized],
    config: &TrainConfig,
    mut plan: Plan,
) -> Result<TrainReport, String> {
    train_with_settings(model, examples, config, &plan.settings, plan.step.as_mut())
        .map_err(|e| format!("training failed: {e}"))
}
