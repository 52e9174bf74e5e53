//! Scores 16 points in the plane by the ratio of their largest pairwise
//! distance to their smallest.
//!
//! The candidate's `run_place` runs once, from a fixed seed. The points are
//! valid when there are exactly 16, with finite coordinates, no two closer
//! than 1e-9 times the largest distance. Metrics: `combined_score` =
//! (smallest / largest distance)², so that higher is better (0 when
//! invalid); `ratio_squared` = (largest / smallest)², the figure the
//! literature quotes; `validity` (1 or 0). An invalid answer's first
//! violation is kept as the `invalid_points` artifact.

use openevolve_sdk::{Candidate, CandidateError, EvaluationResult};

const N: usize = 16;
const SEED: u64 = 0;
const TOLERANCE: f64 = 1e-9;

/// The smallest and largest squared distances, with the pairs they join.
struct Extremes {
    smallest: (f64, usize, usize),
    largest: (f64, usize, usize),
}

fn extremes(points: &[(f64, f64)]) -> Extremes {
    let mut e = Extremes { smallest: (f64::INFINITY, 0, 0), largest: (0.0, 0, 0) };
    for i in 0..points.len() {
        for j in (i + 1)..points.len() {
            let (dx, dy) = (points[i].0 - points[j].0, points[i].1 - points[j].1);
            let d2 = dx * dx + dy * dy;
            if d2 < e.smallest.0 {
                e.smallest = (d2, i, j);
            }
            if d2 > e.largest.0 {
                e.largest = (d2, i, j);
            }
        }
    }
    e
}

fn violation(points: &[(f64, f64)], e: &Extremes) -> Option<String> {
    if points.len() != N {
        return Some(format!("expected {N} points, got {}", points.len()));
    }
    if let Some((i, (x, y))) = points.iter().enumerate().find(|(_, p)| !(p.0.is_finite() && p.1.is_finite())) {
        return Some(format!("point {i} is ({x}, {y}): coordinates must be finite"));
    }
    let (d2, i, j) = e.smallest;
    if !(d2.sqrt() > TOLERANCE * e.largest.0.sqrt()) {
        return Some(format!("points {i} and {j} coincide: {:.3e} apart", d2.sqrt()));
    }
    None
}

fn evaluate(candidate: &Candidate) -> Result<EvaluationResult, CandidateError> {
    let run_place = openevolve_sdk::candidate_fn!(candidate, run_place: fn(u64) -> Vec<(f64, f64)>)?;
    let points = run_place(SEED);
    let e = extremes(&points);
    if let Some(problem) = violation(&points, &e) {
        return Ok(EvaluationResult::new()
            .metric("combined_score", 0.0)
            .metric("ratio_squared", 0.0)
            .metric("validity", 0.0)
            .artifact("invalid_points", problem));
    }
    let score = e.smallest.0 / e.largest.0;
    let listing: String = points.iter().map(|(x, y)| format!("({x:.6}, {y:.6})\n")).collect();
    let ((_, a, b), (_, c, d)) = (e.smallest, e.largest);
    Ok(EvaluationResult::new()
        .metric("combined_score", score)
        .metric("ratio_squared", 1.0 / score)
        .metric("validity", 1.0)
        .artifact("extremes", format!("closest pair: points {a} and {b}; farthest pair: points {c} and {d}"))
        .artifact("points", listing))
}

openevolve_sdk::evaluator!(evaluate);
