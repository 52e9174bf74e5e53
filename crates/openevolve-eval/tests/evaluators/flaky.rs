// Always fails on its own account, to exercise max_retries.
use openevolve_sdk::{Candidate, EvaluationResult};

fn evaluate(_candidate: &Candidate) -> Result<EvaluationResult, String> {
    Err("the evaluator's reference data is missing".into())
}

openevolve_sdk::evaluator!(evaluate);
