// Calls the candidate's `run` and reports what it returned.
use openevolve_sdk::{Candidate, CandidateError, EvaluationResult};

fn evaluate(candidate: &Candidate) -> Result<EvaluationResult, CandidateError> {
    let run = openevolve_sdk::candidate_fn!(candidate, run: fn() -> f64)?;
    let value = run();
    Ok(EvaluationResult::new().metric("combined_score", value).artifact("note", format!("run returned {value}")))
}

openevolve_sdk::evaluator!(evaluate);
