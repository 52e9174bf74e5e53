//! Find the global minimum of a bumpy 2-D function on [-5, 5] x [-5, 5]:
//!     f(x, y) = sin(x)·cos(y) + sin(x·y) + (x² + y²) / 20
//! It has many local minima; the evaluator knows where the global one is.
//! The search below is the plain random search evolution starts from. Its
//! randomness comes from the `rand` crate (0.8, see candidate.toml), seeded by
//! the evaluator, so every run of a seed is the same.

// A glob import: a candidate's own `use rand::Rng;` shadows it, not clashes.
use rand::prelude::*;

/// The function to minimise. Fixed: the evaluator scores against it.
pub fn objective(x: f64, y: f64) -> f64 {
    x.sin() * y.cos() + (x * y).sin() + (x * x + y * y) / 20.0
}

// EVOLVE-BLOCK-START
/// Returns (x, y, f(x, y)) of the best point found with at most `budget`
/// evaluations of `objective`, using only `rng` for randomness.
pub fn search(budget: usize, rng: &mut SmallRng) -> (f64, f64, f64) {
    let mut best = (0.0, 0.0, objective(0.0, 0.0));
    for _ in 1..budget {
        let x = rng.gen_range(-5.0..5.0);
        let y = rng.gen_range(-5.0..5.0);
        let value = objective(x, y);
        if value < best.2 {
            best = (x, y, value);
        }
    }
    best
}
// EVOLVE-BLOCK-END

/// The entry point the evaluator calls: a search with `budget` evaluations
/// from `seed` (a generator of the type `search` takes, seeded).
pub fn run_search(budget: usize, seed: u64) -> (f64, f64, f64) {
    search(budget, &mut SeedableRng::seed_from_u64(seed))
}

openevolve_sdk::export_candidate! { run_search: fn(usize, u64) -> (f64, f64, f64) }

#[allow(dead_code)]
fn main() {
    let (x, y, value) = run_search(1000, 1);
    println!("f({x:.4}, {y:.4}) = {value:.6}");
}
