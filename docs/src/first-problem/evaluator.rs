//! Scores a search by how close its point comes to the global minimum.
//! Metrics: `combined_score` (1 at the minimum, falling towards 0 away from
//! it; what evolution maximises) and `value` (the objective at the point).

use openevolve_sdk::{Candidate, CandidateError, EvaluationResult};

/// The global minimum of the objective on [-5, 5]², found by a fine search.
const MIN_VALUE: f64 = -1.518_685_840_847_696;

/// The evaluator's own copy of the objective: a candidate cannot change it.
fn objective(x: f64, y: f64) -> f64 {
    x.sin() * y.cos() + (x * y).sin() + (x * x + y * y) / 20.0
}

fn evaluate(candidate: &Candidate) -> Result<EvaluationResult, CandidateError> {
    // The candidate runs in a process of its own; this is a handle to it.
    let search = openevolve_sdk::candidate_fn!(candidate, search: fn() -> (f64, f64))?;
    let (x, y) = search();
    if !(x.abs() <= 5.0 && y.abs() <= 5.0) {
        // A wrong answer scores 0, and the next prompt shows why.
        return Ok(EvaluationResult::rejected(format!("({x}, {y}) lies outside [-5, 5]²")));
    }
    let value = objective(x, y);
    let gap = (value - MIN_VALUE).max(0.0);
    Ok(EvaluationResult::new().metric("combined_score", 1.0 / (1.0 + gap)).metric("value", value))
}

openevolve_sdk::evaluator!(evaluate);
