//! Heilbronn's problem for 11 points in a triangle: place 11 points in the
//! equilateral triangle with corners (0, 0), (1, 0) and (1/2, √3/2) so that
//! the smallest triangle formed by any three of them has the largest possible
//! area. The evaluator checks that every point lies inside (within 1e-9) and
//! scores the smallest area as a share of the whole triangle's.

// A glob import: a candidate's own `use rand::Rng;` shadows it, not clashes.
use rand::prelude::*;

/// Number of points to place.
pub const N: usize = 11;

/// Height of the triangle: its top corner is (0.5, HEIGHT).
pub const HEIGHT: f64 = 0.866_025_403_784_438_6;

/// Whether `(x, y)` lies in the triangle (edges included).
pub fn inside(x: f64, y: f64) -> bool {
    y >= 0.0 && y <= 3f64.sqrt() * x && y <= 3f64.sqrt() * (1.0 - x)
}

/// The smallest area of a triangle formed by three of `points`, as a share
/// of the whole triangle's area: what the evaluator scores.
pub fn smallest_area(points: &[(f64, f64)]) -> f64 {
    let mut smallest = f64::INFINITY;
    for i in 0..points.len() {
        for j in (i + 1)..points.len() {
            for k in (j + 1)..points.len() {
                let (a, b, c) = (points[i], points[j], points[k]);
                let area = (a.0 * (b.1 - c.1) + b.0 * (c.1 - a.1) + c.0 * (a.1 - b.1)).abs() / 2.0;
                smallest = smallest.min(area);
            }
        }
    }
    smallest / (HEIGHT / 2.0)
}

// EVOLVE-BLOCK-START
/// Returns N points (x, y) inside the triangle, using only `rng` for
/// randomness.
pub fn place(rng: &mut SmallRng) -> Vec<(f64, f64)> {
    // Evenly spaced on a circle just inside the inscribed one, turned by a
    // random angle.
    let (cx, cy, r) = (0.5, HEIGHT / 3.0, 0.98 * HEIGHT / 3.0);
    let turn: f64 = rng.gen_range(0.0..std::f64::consts::TAU);
    (0..N)
        .map(|k| {
            let angle = turn + std::f64::consts::TAU * k as f64 / N as f64;
            (cx + r * angle.cos(), cy + r * angle.sin())
        })
        .collect()
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
    println!("{} points, smallest triangle {:.6} of the whole", points.len(), smallest_area(&points));
}
