//! Evaluator of the memory-lean fine-tuning problem (README.md has the rules).
//!
//! The judge (this process, which never maps the candidate) loads the base
//! model and every data split, then runs `trials` trials of each variant,
//! alternating which goes first, each in a fresh process of its own
//! (`trial`): the standard settings and step in a reference process, the
//! candidate's plan in a candidate process that is checked before it
//! trains and may read the model but not the data the judge holds back.
//! Both train on the same examples per step, seeds and step count. The
//! judge times each training itself, takes its peak memory from the
//! kernel, and scores each run's adapters on its own model and validation
//! split as the run ends.

mod score;
mod trial;

use mlx_lora::evaluation::{EvaluatorArgs, Runs, alternate_trials, require_model_and_data};
use mlx_lora::experiment::Validator;
use openevolve_sdk::confine::Reads;
use openevolve_sdk::{Candidate, EvaluationResult};

fn evaluate(candidate: &Candidate) -> Result<EvaluationResult, String> {
    let args = EvaluatorArgs::parse(candidate.evaluator_args())?;
    let experiment = trial::experiment(&args.size)?;
    require_model_and_data()?;
    let validator = Validator::new(&experiment).map_err(|e| format!("validation model: {e}"))?;
    let setup = serde_json::to_vec(validator.run_setup()).expect("plain data");
    let data = serde_json::to_vec(validator.train_set()).expect("plain data");
    let model = mlx_lora::paths::smollm2_gguf().map_err(|e| e.to_string())?;
    let mut readable = vec![model, candidate.path().into()];
    readable.extend(mlx_lora::paths::mlx_prefixes());
    let reads = Reads::only_with_this_executable(readable)
        .map_err(|e| format!("cannot list what a run may read: {e}"))?;
    let adapters = std::env::current_dir().map_err(|e| e.to_string())?.join("adapters");
    std::fs::create_dir_all(&adapters).map_err(|e| format!("{}: {e}", adapters.display()))?;
    let runs = alternate_trials(args.trials, |variant, t| {
        let run = trial::judged_run(candidate, variant, &reads, &setup, &data)?;
        // Judged as the run ends, from bytes only the judge holds.
        let path = adapters.join(format!("{}-{t}.safetensors", variant.name()));
        std::fs::write(&path, &run.adapters).map_err(|e| format!("{}: {e}", path.display()))?;
        let loss = validator.loss_of(&path).map_err(|e| format!("its adapters cannot be judged: {e}"))?;
        Ok(score::Trial { run, valid_loss: loss })
    })?;
    let (baseline, candidate_runs) = match runs {
        Runs::Done { baseline, candidate } => (baseline, candidate),
        Runs::CandidateFailed(why) => return Ok(score::rejected(&why)),
    };
    Ok(score::score(&score::Measured { experiment: &experiment, baseline: &baseline, candidate: &candidate_runs }))
}

openevolve_sdk::evaluator!(
    evaluate,
    routines = &[
        (mlx_lora::runs::PREPARE, trial::prepare_routine),
        (mlx_lora::runs::TRAIN, trial::train_routine),
    ]
);
