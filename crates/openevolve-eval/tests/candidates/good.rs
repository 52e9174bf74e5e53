// EVOLVE-BLOCK-START
pub fn run() -> f64 {
    (1..=4).map(|i| i as f64).sum::<f64>() / 10.0
}
// EVOLVE-BLOCK-END
openevolve_sdk::export_candidate! { run: fn() -> f64 }
