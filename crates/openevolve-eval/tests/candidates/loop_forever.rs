pub fn run() -> f64 {
    let mut x = 0u64;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}
openevolve_sdk::export_candidate! { run: fn() -> f64 }
