//! Scores a search for the global minimum of
//! f(x, y) = sin(x)·cos(y) + sin(x·y) + (x² + y²) / 20 on [-5, 5]².
//!
//! Each candidate runs with a budget of 1000 evaluations of f from several
//! seeds. Metrics (all in [0, 1], higher is better):
//! - `value_score`: 1 / (1 + mean gap between the value found and the minimum);
//! - `distance_score`: 1 / (1 + mean distance to the minimiser);
//! - `reliability`: share of seeds that end within 0.01 of the minimum value;
//! - `combined_score`: 0.5 value + 0.3 distance + 0.2 reliability.
//! A point outside the square, or a value that does not match f at that
//! point, scores 0: the search must report what it found.

use openevolve_sdk::{Candidate, CandidateError, EvaluationResult};

/// The global minimum, found by a 2001 x 2001 grid over the square refined by
/// local search (the example's test recomputes it).
const MIN_VALUE: f64 = -1.518_685_840_847_696;
const MIN_X: f64 = -1.704_083_309_939_350;
const MIN_Y: f64 = 0.677_507_084_683_648;

const BUDGET: usize = 1000;
const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];

fn objective(x: f64, y: f64) -> f64 {
    x.sin() * y.cos() + (x * y).sin() + (x * x + y * y) / 20.0
}

fn evaluate(candidate: &Candidate) -> Result<EvaluationResult, CandidateError> {
    let run_search = openevolve_sdk::candidate_fn!(candidate, run_search: fn(usize, u64) -> (f64, f64, f64))?;
    let mut gaps = Vec::new();
    let mut distances = Vec::new();
    let mut reliable = 0;
    let mut log = String::new();
    for seed in SEEDS {
        let (x, y, reported) = run_search(BUDGET, seed);
        let inside = x.is_finite() && y.is_finite() && x.abs() <= 5.0 && y.abs() <= 5.0;
        let actual = objective(x, y);
        if !inside || (reported - actual).abs() > 1e-9 {
            return Ok(EvaluationResult::new()
                .metric("combined_score", 0.0)
                .metric("value_score", 0.0)
                .metric("distance_score", 0.0)
                .metric("reliability", 0.0)
                .artifact(
                    "invalid_result",
                    format!(
                        "seed {seed}: the search returned ({x}, {y}) with value {reported}, but the point must lie in [-5, 5]² \
                         and f there is {actual}"
                    ),
                ));
        }
        let gap = actual - MIN_VALUE;
        let distance = ((x - MIN_X).powi(2) + (y - MIN_Y).powi(2)).sqrt();
        if gap < 0.01 {
            reliable += 1;
        }
        log.push_str(&format!("seed {seed}: f({x:.5}, {y:.5}) = {actual:.6}, gap {gap:.6}\n"));
        gaps.push(gap.max(0.0));
        distances.push(distance);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let value_score = 1.0 / (1.0 + mean(&gaps));
    let distance_score = 1.0 / (1.0 + mean(&distances));
    let reliability = reliable as f64 / SEEDS.len() as f64;
    Ok(EvaluationResult::new()
        .metric("combined_score", 0.5 * value_score + 0.3 * distance_score + 0.2 * reliability)
        .metric("value_score", value_score)
        .metric("distance_score", distance_score)
        .metric("reliability", reliability)
        .artifact("runs", log))
}

/// The fingerprint of what the search does: its exact results from every
/// seed at the full budget, the very calls `evaluate` scores, so two
/// programs with one fingerprint score the same. A child that agrees with a
/// stored program (a renamed variable, a reworded comment) is recorded as
/// its duplicate. Here that saves little, since the evaluation is as cheap;
/// a smaller budget would be cheaper, but would merge searches that only
/// differ later in their budget.
fn behaviour(candidate: &Candidate) -> Result<String, CandidateError> {
    let run_search = openevolve_sdk::candidate_fn!(candidate, run_search: fn(usize, u64) -> (f64, f64, f64))?;
    let results: Vec<String> = SEEDS.iter().map(|&seed| format!("{:?}", run_search(BUDGET, seed))).collect();
    Ok(results.join(";"))
}

openevolve_sdk::evaluator!(evaluate, behaviour = behaviour);
