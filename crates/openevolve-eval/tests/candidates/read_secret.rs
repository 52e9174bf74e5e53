// Looks for the API key at run time and at build time; reports 1.0 when it
// found nothing, and prints whatever it found.
pub fn run() -> f64 {
    let at_run = std::env::var("OPENAI_API_KEY").ok();
    let at_build = option_env!("OPENAI_API_KEY");
    println!("run time: {at_run:?}, build time: {at_build:?}");
    if at_run.is_none() && at_build.is_none() { 1.0 } else { 0.0 }
}
openevolve_sdk::export_candidate! { run: fn() -> f64 }
