//! The min/max distance ratio for 16 points in the plane: place 16 points so
//! that the ratio of the largest distance between two of them to the
//! smallest is as small as possible. The evaluator scores the inverse of the
//! squared ratio, (smallest / largest)², so that higher is better; the ratio
//! does not change when the points are moved, turned or scaled.

// A glob import: a candidate's own `use rand::Rng;` shadows it, not clashes.
use rand::prelude::*;

/// Number of points to place.
pub const N: usize = 16;

/// (smallest distance / largest distance)² over all pairs of `points`: what
/// the evaluator scores (0 when two points coincide).
pub fn inverse_ratio_squared(points: &[(f64, f64)]) -> f64 {
    let (mut smallest, mut largest) = (f64::INFINITY, 0.0f64);
    for i in 0..points.len() {
        for j in (i + 1)..points.len() {
            let (dx, dy) = (points[i].0 - points[j].0, points[i].1 - points[j].1);
            let d2 = dx * dx + dy * dy;
            smallest = smallest.min(d2);
            largest = largest.max(d2);
        }
    }
    if largest > 0.0 { smallest / largest } else { 0.0 }
}

// EVOLVE-BLOCK-START
/// Returns N points (x, y), using only `rng` for randomness.
pub fn place(rng: &mut SmallRng) -> Vec<(f64, f64)> {
    // A 4 x 4 square grid, shifted by a random offset.
    let (ox, oy): (f64, f64) = (rng.gen_range(0.0..1.0), rng.gen_range(0.0..1.0));
    let mut points = Vec::with_capacity(N);
    for row in 0..4 {
        for col in 0..4 {
            points.push((ox + col as f64, oy + row as f64));
        }
    }
    points
}
// EVOLVE-BLOCK-END

/// The entry point the evaluator calls: `place` with a generator seeded from
/// `seed`.
pub fn run_place(seed: u64) -> Vec<(f64, f64)> {
    place(&mut SeedableRng::seed_from_u64(seed))
}

openevolve_sdk::export_candidate! { run_place: fn(u64) -> Vec<(f64, f64)> }

#[allow(dead_code)]
fn main() {
    let points = run_place(1);
    let score = inverse_ratio_squared(&points);
    println!("{} points, (max/min distance)² = {:.6}", points.len(), 1.0 / score);
}
