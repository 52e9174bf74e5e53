//! Evaluator of the memory-lean fine-tuning problem (README.md has the rules).
//!
//! One evaluation is several processes, so that each training run's memory
//! is its own: this worker re-runs its own executable as a child per run
//! (`mlx_lora::evaluation`), alternating the baseline (the standard
//! settings and step, compiled in here) and the candidate over `trials`
//! trials, on the same examples per step, seeds and step count. The first
//! candidate run checks the candidate's settings and step against the
//! standard run before it trains. Then this process loads a fresh base
//! model, puts each run's saved adapters on it, measures the validation
//! loss itself, and scores.

mod score;
mod trial;

use mlx_lora::evaluation::{EvaluatorArgs, Role, Runs, alternate_trials, run_child};
use openevolve_sdk::{Candidate, EvaluationResult};

use trial::TrialReport;

fn evaluate(candidate: &Candidate) -> Result<EvaluationResult, String> {
    let args = EvaluatorArgs::parse(candidate.evaluator_args())?;
    match &args.role {
        Role::Evaluate => orchestrate(candidate, &args),
        Role::Train { variant, adapters, check } => {
            trial::train(candidate, &args, *variant, adapters, *check)
        }
    }
}

fn orchestrate(candidate: &Candidate, args: &EvaluatorArgs) -> Result<EvaluationResult, String> {
    let experiment = trial::experiment(&args.size)?;
    // Fail early and clearly when the model or the data are missing.
    mlx_lora::paths::smollm2_gguf().map_err(|e| format!("{e} (config.yaml's evaluator.env says where)"))?;
    mlx_lora::paths::wordnet_dir().map_err(|e| format!("{e} (config.yaml's evaluator.env says where)"))?;
    let work = std::env::current_dir().map_err(|e| format!("no working directory: {e}"))?;
    let runs = alternate_trials(args.trials, &work, |role| {
        TrialReport::from_json(&run_child(candidate.path(), args, role, trial::REPORT_KEY)?)
    })?;
    let (baseline, candidate_runs) = match runs {
        Runs::Done { baseline, candidate } => (baseline, candidate),
        Runs::CandidateFailed(why) => return Ok(score::rejected(&why)),
    };
    let validator =
        mlx_lora::experiment::Validator::new(&experiment).map_err(|e| format!("validation model: {e}"))?;
    let losses = |runs: &[TrialReport]| -> Result<Vec<f64>, String> {
        runs.iter()
            .map(|r| validator.loss_of(&r.adapters).map_err(|e| format!("{}: {e}", r.adapters.display())))
            .collect()
    };
    let baseline_losses = losses(&baseline)?;
    let candidate_losses = match losses(&candidate_runs) {
        Ok(l) => l,
        // The candidate's process wrote the file: a wrong one is its fault.
        Err(e) => return Ok(score::rejected(&format!("its adapters cannot be judged: {e}"))),
    };
    Ok(score::score(&score::Measured {
        experiment: &experiment,
        baseline: &baseline,
        candidate: &candidate_runs,
        baseline_losses: &baseline_losses,
        candidate_losses: &candidate_losses,
    }))
}

openevolve_sdk::evaluator!(evaluate);
