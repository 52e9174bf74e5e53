// EVOLVE-BLOCK-START
pub fn run() -> f64 {
    // Three slips rustc suggests the fix for: `exp(x)` for `x.exp()`, which
    // hides the others until it is fixed; a binding assigned twice without
    // `mut`; and a vector used after it was moved. And two it gives no fix
    // for, fixed all the same: `std::f64::exp`, which does not exist, and
    // `_` read as a value in its loop.
    let total = 0.0;
    let zero: f64 = 0.0;
    let parts = vec![1.0, 2.0, 3.0, 4.0];
    let kept = parts;
    total = parts.iter().sum::<f64>() + kept.len() as f64 * 0.0;
    let mut rounds = 0.0;
    for _ in 0..3 {
        if _ == 1 {
            rounds += 1.0;
        }
    }
    total * exp(zero) / 10.0 + std::f64::exp(zero) * rounds * 0.0
}
// EVOLVE-BLOCK-END
openevolve_sdk::export_candidate! { run: fn() -> f64 }
