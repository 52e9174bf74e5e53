// Looks for the API key at run time and at build time; reports 1.0 when it
// found nothing, and prints whatever it found, and the variable the problem's
// config passes on purpose.
pub fn run() -> f64 {
    let at_run = std::env::var("OPENAI_API_KEY").ok();
    let at_build = option_env!("OPENAI_API_KEY");
    println!("run time: {at_run:?}, build time: {at_build:?}");
    println!("PROBLEM_DATA_DIR={:?}", std::env::var("PROBLEM_DATA_DIR").ok());
    if at_run.is_none() && at_build.is_none() { 1.0 } else { 0.0 }
}
openevolve_sdk::export_candidate! { run: fn() -> f64 }
