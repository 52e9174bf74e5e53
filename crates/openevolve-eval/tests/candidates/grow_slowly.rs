// Touches 16 MiB every 20 ms, forever: slow enough for a sampling memory
// limit (Slurm without cgroups) to catch it early.
pub fn run() -> f64 {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(std::hint::black_box(vec![1u8; 16 << 20]));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
openevolve_sdk::export_candidate! { run: fn() -> f64 }
