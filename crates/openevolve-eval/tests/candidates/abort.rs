pub fn run() -> f64 {
    std::process::abort()
}
openevolve_sdk::export_candidate! { run: fn() -> f64 }
