//! The `openevolve` binary.

mod bench;
mod cli;
mod config_check;
mod eval;
mod logging;
mod models;
mod new;
mod run;
mod view;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, ConfigCommand};

/// Why a command failed, which decides the exit code.
pub enum Failure {
    /// Bad usage or bad input (a config, a path, a marker): exit 2.
    BadInput(anyhow::Error),
    /// The run itself failed: exit 1.
    RunFailed(anyhow::Error),
}

impl From<openevolve::ConfigError> for Failure {
    fn from(e: openevolve::ConfigError) -> Self {
        Failure::BadInput(e.into())
    }
}

fn main() -> ExitCode {
    // clap exits 0 for --help/--version and 2 for usage errors by itself.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Eval(args) => eval::eval(args),
        Command::Config(ConfigCommand::Check { file }) => config_check::check(&file).map(|()| 0),
        Command::Config(ConfigCommand::Migrate { file }) => config_check::migrate(&file).map(|()| 0),
        Command::View(args) => view::view(args),
        Command::Bench(args) => bench::bench(args),
        Command::Models(command) => models::models(command),
        Command::New { dir } => new::new(&dir),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure::BadInput(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
        Err(Failure::RunFailed(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
