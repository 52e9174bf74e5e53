//! Runs one LoRA experiment with the reference implementation and prints its
//! report as JSON:
//!
//!     mlx-lora-run [tiny|full] [--adapters FILE] [--settings FILE]
//!
//! `--settings` trains with a `TrainingSettings` JSON file (what the memory
//! example finds) instead of the plain trainer.
//!
//! Model and data come from scripts/setup-lora-data.sh.

use std::path::PathBuf;
use std::process::ExitCode;

use mlx_lora::experiment::{Experiment, Hooks, run, run_with_settings};
use mlx_lora::settings::{Plan, TrainingSettings};

fn main() -> ExitCode {
    let mut size = "tiny".to_string();
    let mut adapters: Option<PathBuf> = None;
    let mut settings: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--adapters" => adapters = args.next().map(PathBuf::from),
            "--settings" => settings = args.next().map(PathBuf::from),
            "-h" | "--help" => {
                println!("usage: mlx-lora-run [tiny|full] [--adapters FILE] [--settings FILE]");
                return ExitCode::SUCCESS;
            }
            other => size = other.to_string(),
        }
    }
    let result = Experiment::by_name(&size).and_then(|e| match &settings {
        None => run(&e, &mut Hooks::standard(), adapters.as_deref()),
        Some(file) => {
            let mut plan = Plan { settings: TrainingSettings::from_json_file(file)?, ..Plan::standard() };
            run_with_settings(&e, &mut plan, adapters.as_deref())
        }
    });
    match result {
        Ok(report) => {
            println!("{}", serde_json::to_string_pretty(&report).expect("plain data"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mlx-lora-run: {e}");
            ExitCode::FAILURE
        }
    }
}
