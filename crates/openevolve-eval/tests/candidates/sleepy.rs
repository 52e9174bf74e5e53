// Takes a few seconds, then succeeds: long enough to be seen running.
pub fn run() -> f64 {
    std::thread::sleep(std::time::Duration::from_secs(4));
    1.0
}
openevolve_sdk::export_candidate! { run: fn() -> f64 }
