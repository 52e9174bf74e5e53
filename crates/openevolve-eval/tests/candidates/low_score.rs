pub fn run() -> f64 {
    0.25
}
openevolve_sdk::export_candidate! { run: fn() -> f64 }
