// Two cascade stages; the candidate's `run` value is the score.
use openevolve_sdk::{Candidate, CandidateError, EvaluationResult};

fn score(candidate: &Candidate) -> Result<f64, CandidateError> {
    Ok(openevolve_sdk::candidate_fn!(candidate, run: fn() -> f64)?())
}

fn evaluate(candidate: &Candidate) -> Result<EvaluationResult, CandidateError> {
    Ok(EvaluationResult::new().metric("combined_score", score(candidate)?).metric("full", 1.0))
}

fn quick(candidate: &Candidate) -> Result<EvaluationResult, CandidateError> {
    Ok(EvaluationResult::new().metric("combined_score", score(candidate)?).metric("stage1", 1.0))
}

fn thorough(candidate: &Candidate) -> Result<EvaluationResult, CandidateError> {
    Ok(EvaluationResult::new().metric("combined_score", score(candidate)?).metric("stage2", 1.0))
}

openevolve_sdk::evaluator!(evaluate, stage1 = quick, stage2 = thorough);
