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

use mlx_lora::evaluation::{EvaluatorArgs, Role, Runs, alternate_trials, require_model_and_data, run_child};
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
    require_model_and_data()?;
    let work = std::env::current_dir().map_err(|e| format!("no working directory: {e}"))?;
    let runs =
        alternate_trials(args.trials, &work, |role| run_child::<TrialReport>(candidate.path(), args, role))?;
    let (baseline, candidate_runs) = match runs {
        Runs::Done { baseline, candidate } => (baseline, candidate),
        Runs::CandidateFailed(why) => return Ok(score::rejected(&why)),
    };
    let validator =
        mlx_lora::experiment::Validator::new(&experiment).map_err(|e| format!("validation model: {e}"))?;
    let baseline_losses =
        validator.losses_of(baseline.iter().map(|r| r.adapters.as_path())).map_err(|e| e.to_string())?;
    let candidate_losses = match validator.losses_of(candidate_runs.iter().map(|r| r.adapters.as_path())) {
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
