//! Scores 11 points in the equilateral triangle with corners (0, 0), (1, 0)
//! and (1/2, √3/2) by the smallest area of a triangle any three of them form.
//!
//! The candidate's `run_place` runs once, from a fixed seed. The points are
//! valid when there are exactly 11, with finite coordinates, each inside the
//! triangle within a tolerance of 1e-9. Metrics: `combined_score` =
//! `min_area` = the smallest triangle's area as a share of the whole
//! triangle's (0 when invalid), and `validity` (1 or 0). An invalid answer's
//! first violation is kept as the `invalid_points` artifact.

use openevolve_sdk::{Candidate, CandidateError, EvaluationResult};

const N: usize = 11;
const SEED: u64 = 0;
const TOLERANCE: f64 = 1e-9;
const SQRT_3: f64 = 1.732_050_807_568_877_2;

fn violation(points: &[(f64, f64)]) -> Option<String> {
    if points.len() != N {
        return Some(format!("expected {N} points, got {}", points.len()));
    }
    for (i, &(x, y)) in points.iter().enumerate() {
        if !(x.is_finite() && y.is_finite()) {
            return Some(format!("point {i} is ({x}, {y}): coordinates must be finite"));
        }
        // Each edge's signed distance, negative outside.
        let edges = [y, (SQRT_3 * x - y) / 2.0, (SQRT_3 * (1.0 - x) - y) / 2.0];
        if let Some(d) = edges.into_iter().find(|&d| d < -TOLERANCE) {
            return Some(format!("point {i} at ({x:.9}, {y:.9}) lies {:.3e} outside the triangle", -d));
        }
    }
    None
}

/// The smallest triangle's area over the whole triangle's, and its corners.
fn smallest_triangle(points: &[(f64, f64)]) -> (f64, [usize; 3]) {
    let whole = SQRT_3 / 4.0;
    let mut smallest = (f64::INFINITY, [0, 0, 0]);
    for i in 0..N {
        for j in (i + 1)..N {
            for k in (j + 1)..N {
                let (a, b, c) = (points[i], points[j], points[k]);
                let area = (a.0 * (b.1 - c.1) + b.0 * (c.1 - a.1) + c.0 * (a.1 - b.1)).abs() / 2.0;
                if area < smallest.0 {
                    smallest = (area, [i, j, k]);
                }
            }
        }
    }
    (smallest.0 / whole, smallest.1)
}

fn evaluate(candidate: &Candidate) -> Result<EvaluationResult, CandidateError> {
    let run_place = openevolve_sdk::candidate_fn!(candidate, run_place: fn(u64) -> Vec<(f64, f64)>)?;
    let points = run_place(SEED);
    if let Some(problem) = violation(&points) {
        return Ok(EvaluationResult::new()
            .metric("combined_score", 0.0)
            .metric("min_area", 0.0)
            .metric("validity", 0.0)
            .artifact("invalid_points", problem));
    }
    let (area, [i, j, k]) = smallest_triangle(&points);
    let listing: String = points.iter().map(|(x, y)| format!("({x:.6}, {y:.6})\n")).collect();
    Ok(EvaluationResult::new()
        .metric("combined_score", area)
        .metric("min_area", area)
        .metric("validity", 1.0)
        .artifact("smallest_triangle", format!("points {i}, {j} and {k}: {area:.6} of the whole"))
        .artifact("points", listing))
}

openevolve_sdk::evaluator!(evaluate);
