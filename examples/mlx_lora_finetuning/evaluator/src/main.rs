//! Evaluator of the MLX LoRA fine-tuning problem (README.md has the rules).
//!
//! The judge (this process, which never maps the candidate) loads the base
//! model and every data split, then runs `trials` trials of each variant,
//! alternating which goes first, each in a fresh process of its own
//! (`trial`): the baseline's standard parts in a reference process, the
//! candidate's in a candidate process that is checked before it trains and
//! may read the model but not the data the judge holds back. The judge
//! times each training itself, takes its peak memory from the kernel, and
//! scores each run's adapters on its own model and validation split as the
//! run ends.

mod score;
mod trial;

use mlx_lora_eval::evaluation::{EvaluatorArgs, Runs, require_model_and_data};
use mlx_lora::experiment::Validator;
use mlx_lora_eval::runs::{Payloads, judge_trials, readable_by_runs};
use openevolve_sdk::confine::Reads;
use openevolve_sdk::{Candidate, EvaluationResult};

fn evaluate(candidate: &Candidate) -> Result<EvaluationResult, String> {
    let args = EvaluatorArgs::parse(candidate.evaluator_args())?;
    let experiment = trial::experiment(&args)?;
    require_model_and_data()?;
    let validator = Validator::new(&experiment).map_err(|e| format!("validation model: {e}"))?;
    let base_loss = validator.base_loss().map_err(|e| e.to_string())?;
    let payloads = Payloads::of(&validator);
    let readable = readable_by_runs(candidate.path().as_ref()).map_err(|e| e.to_string())?;
    let reads = Reads::only_with_this_executable(readable)
        .map_err(|e| format!("cannot list what a run may read: {e}"))?;
    let adapters = std::env::current_dir().map_err(|e| e.to_string())?.join("adapters");
    let runs = judge_trials(&validator, args.trials, &adapters, |variant| {
        trial::judged_run(candidate, variant, &reads, &payloads.setup, &payloads.data)
    })?;
    let (baseline, candidate_runs) = match runs {
        Runs::Done { baseline, candidate } => (baseline, candidate),
        Runs::CandidateFailed(why) => return Ok(score::rejected(&why)),
    };
    Ok(score::score(&score::Measured {
        experiment: &experiment,
        base_model_loss: base_loss,
        baseline: &baseline,
        candidate: &candidate_runs,
    }))
}

openevolve_sdk::evaluator!(
    evaluate,
    routines = &[
        (mlx_lora_eval::runs::PREPARE, trial::prepare_routine),
        (mlx_lora_eval::runs::TRAIN, trial::train_routine),
    ]
);
