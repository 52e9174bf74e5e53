//! Logs go to the console for people and to a file in the run's output
//! directory for later.

use std::fs::File;
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt;
use tracing_subscriber::prelude::*;

/// Installs console logging at `level` (a `tracing` directive) and, when
/// `file` is given, a copy of every event in that file. `RUST_LOG`, when set,
/// overrides the level.
pub fn init(level: &str, file: Option<&Path>) -> Result<()> {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let console = fmt::layer().with_writer(std::io::stderr).with_target(false).with_filter(filter());
    let file_layer = match file {
        Some(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create log directory {}", dir.display()))?;
            }
            let f = File::options()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open log file {}", path.display()))?;
            Some(fmt::layer().with_writer(Mutex::new(f)).with_ansi(false).with_filter(filter()))
        }
        None => None,
    };
    tracing_subscriber::registry()
        .with(console)
        .with(file_layer)
        .try_init()
        .context("logging was already set up")
}
