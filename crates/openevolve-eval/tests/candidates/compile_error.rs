pub fn run() -> f64 {
    let count: u32 = 1.5;
    count
}
openevolve_sdk::export_candidate! { run: fn() -> f64 }
