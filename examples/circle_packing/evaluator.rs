//! Scores a packing of 26 circles in the unit square by the sum of radii.
//!
//! A packing is valid when it has exactly 26 circles with finite coordinates
//! and non-negative radii, every circle lies inside [0, 1]² and no two circles
//! overlap, each within a tolerance of 1e-9. An invalid packing scores 0 and
//! the first violation found is kept as the `invalid_packing` artifact.
//! Metrics: `combined_score` = `sum_of_radii` (valid packings only),
//! `validity` (1 or 0), `min_radius`.

use openevolve_sdk::{Candidate, CandidateError, EvaluationResult};

const N: usize = 26;
const TOLERANCE: f64 = 1e-9;

fn violation(circles: &[(f64, f64, f64)]) -> Option<String> {
    if circles.len() != N {
        return Some(format!("expected {N} circles, got {}", circles.len()));
    }
    for (i, &(x, y, r)) in circles.iter().enumerate() {
        if !(x.is_finite() && y.is_finite() && r.is_finite()) || r < 0.0 {
            return Some(format!("circle {i} is ({x}, {y}) with radius {r}: coordinates must be finite, radii 0 or more"));
        }
        if x - r < -TOLERANCE || y - r < -TOLERANCE || x + r > 1.0 + TOLERANCE || y + r > 1.0 + TOLERANCE {
            return Some(format!("circle {i} at ({x:.6}, {y:.6}) with radius {r:.6} sticks out of the unit square"));
        }
    }
    for i in 0..N {
        for j in (i + 1)..N {
            let (a, b) = (circles[i], circles[j]);
            let d = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
            if d < a.2 + b.2 - TOLERANCE {
                return Some(format!(
                    "circles {i} and {j} overlap by {:.3e}: centres {d:.6} apart, radii {:.6} + {:.6}",
                    a.2 + b.2 - d,
                    a.2,
                    b.2
                ));
            }
        }
    }
    None
}

fn evaluate(candidate: &Candidate) -> Result<EvaluationResult, CandidateError> {
    let pack = openevolve_sdk::candidate_fn!(candidate, pack: fn() -> Vec<(f64, f64, f64)>)?;
    let circles = pack();
    if let Some(problem) = violation(&circles) {
        return Ok(EvaluationResult::new()
            .metric("combined_score", 0.0)
            .metric("sum_of_radii", 0.0)
            .metric("validity", 0.0)
            .artifact("invalid_packing", problem));
    }
    let sum: f64 = circles.iter().map(|c| c.2).sum();
    let min_radius = circles.iter().map(|c| c.2).fold(f64::INFINITY, f64::min);
    let listing: String = circles.iter().map(|(x, y, r)| format!("({x:.4}, {y:.4}) r={r:.4}\n")).collect();
    Ok(EvaluationResult::new()
        .metric("combined_score", sum)
        .metric("sum_of_radii", sum)
        .metric("validity", 1.0)
        .metric("min_radius", min_radius)
        .artifact("packing", listing))
}

openevolve_sdk::evaluator!(evaluate);
