//! `openevolve config check FILE`.

use std::path::Path;

use anyhow::Context;
use openevolve::Config;

use crate::Failure;

/// Prints warnings to stderr and the effective config (secrets masked) to
/// stdout; a config with errors is bad input.
pub fn check(file: &Path) -> Result<(), Failure> {
    let loaded = Config::load(file)?;
    print_warnings(file, &loaded.warnings);
    let yaml = serde_yaml::to_string(&loaded.config.masked())
        .context("cannot print the config")
        .map_err(Failure::RunFailed)?;
    println!("# effective config of {} (defaults filled in, secrets masked)", file.display());
    print!("{yaml}");
    Ok(())
}

pub fn print_warnings(file: &Path, warnings: &[openevolve::ConfigProblem]) {
    for w in warnings {
        eprintln!("warning: {}:{w}", file.display());
    }
}
