fn deeper(n: u64) -> u64 {
    let pad = std::hint::black_box([n; 64]);
    deeper(n + 1) + pad[3]
}
pub fn run() -> f64 {
    deeper(0) as f64
}
openevolve_sdk::export_candidate! { run: fn() -> f64 }
