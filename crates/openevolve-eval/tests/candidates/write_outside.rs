// Writing in its own directory works; writing elsewhere must not.
pub fn run() -> f64 {
    std::fs::write("inside.txt", "fine").expect("the work dir is writable");
    std::fs::write("/tmp/openevolve-sandbox-escape-probe", "escaped").expect("writing outside the work dir");
    1.0
}
openevolve_sdk::export_candidate! { run: fn() -> f64 }
