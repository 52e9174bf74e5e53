pub fn run() -> f32 {
    1.0
}
openevolve_sdk::export_candidate! { run: fn() -> f32 }
