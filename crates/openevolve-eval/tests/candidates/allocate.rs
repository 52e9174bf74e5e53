pub fn run() -> f64 {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(std::hint::black_box(vec![1u8; 16 << 20]));
    }
}
openevolve_sdk::export_candidate! { run: fn() -> f64 }
