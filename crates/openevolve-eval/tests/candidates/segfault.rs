pub fn run() -> f64 {
    let p = std::hint::black_box(std::ptr::null_mut::<u64>());
    unsafe { p.write_volatile(7) };
    1.0
}
openevolve_sdk::export_candidate! { run: fn() -> f64 }
