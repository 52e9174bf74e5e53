// EVOLVE-BLOCK-START
pub fn run() -> f64 {
    // Two slips rustc knows the fix for: a binding assigned twice without
    // `mut`, and a vector used after it was moved.
    let total = 0.0;
    let parts = vec![1.0, 2.0, 3.0, 4.0];
    let kept = parts;
    total = parts.iter().sum::<f64>() + kept.len() as f64 * 0.0;
    total / 10.0
}
// EVOLVE-BLOCK-END
openevolve_sdk::export_candidate! { run: fn() -> f64 }
