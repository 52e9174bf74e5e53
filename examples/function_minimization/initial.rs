//! Find the global minimum of a bumpy 2-D function on [-5, 5] x [-5, 5]:
//!     f(x, y) = sin(x)·cos(y) + sin(x·y) + (x² + y²) / 20
//! It has many local minima; the evaluator knows where the global one is.
//! The search below is the plain random search evolution starts from.

/// The function to minimise. Fixed: the evaluator scores against it.
pub fn objective(x: f64, y: f64) -> f64 {
    x.sin() * y.cos() + (x * y).sin() + (x * x + y * y) / 20.0
}

/// A small deterministic generator, so every run of a seed is the same.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [low, high).
    pub fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.next_f64()
    }
}

// EVOLVE-BLOCK-START
/// Returns (x, y, f(x, y)) of the best point found with at most `budget`
/// evaluations of `objective`, using only `rng` for randomness.
pub fn search(budget: usize, rng: &mut Rng) -> (f64, f64, f64) {
    let mut best = (0.0, 0.0, objective(0.0, 0.0));
    for _ in 1..budget {
        let x = rng.range(-5.0, 5.0);
        let y = rng.range(-5.0, 5.0);
        let value = objective(x, y);
        if value < best.2 {
            best = (x, y, value);
        }
    }
    best
}
// EVOLVE-BLOCK-END

/// The entry point the evaluator calls: a search with `budget` evaluations
/// from `seed`.
pub fn run_search(budget: usize, seed: u64) -> (f64, f64, f64) {
    search(budget, &mut Rng::new(seed))
}

openevolve_sdk::export_candidate! { run_search: fn(usize, u64) -> (f64, f64, f64) }

#[allow(dead_code)]
fn main() {
    let (x, y, value) = run_search(1000, 1);
    println!("f({x:.4}, {y:.4}) = {value:.6}");
}
