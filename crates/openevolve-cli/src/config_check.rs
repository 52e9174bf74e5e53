//! `openevolve config check FILE` and `openevolve config migrate FILE`.

use std::path::Path;

use anyhow::Context;
use openevolve::Config;

use crate::Failure;

/// Prints warnings to stderr and the effective config (secrets masked) to
/// stdout; a config with errors is bad input.
pub fn check(file: &Path) -> Result<(), Failure> {
    let loaded = Config::load(file)?;
    print_warnings(file, &loaded.warnings);
    let mut config = loaded.config;
    let models = if config.names_an_endpoint() {
        let base = &config.llm.api_base;
        let models: Vec<String> = config
            .llm
            .models
            .iter()
            .map(|m| {
                format!(
                    "{} at {}",
                    m.name.as_deref().unwrap_or("(unnamed)"),
                    m.api_base.as_ref().unwrap_or(base)
                )
            })
            .collect();
        models.join(", ")
    } else {
        // What `openevolve run` does with such a config, without flags.
        config.use_default_local_model();
        local_model_line(&config)
    };
    let yaml = serde_yaml::to_string(&config.masked())
        .context("cannot print the config")
        .map_err(Failure::RunFailed)?;
    println!("# effective config of {} (defaults filled in, secrets masked)", file.display());
    println!("# models a run uses: {models}");
    print!("{yaml}");
    Ok(())
}

/// The default local model, with where `config`'s store keeps its file and
/// whether it is there.
fn local_model_line(config: &Config) -> String {
    use openevolve_llm::local::{DEFAULT_MODEL, ModelStore, catalog};
    let spec = catalog::find(DEFAULT_MODEL).expect("the default model is in the catalog");
    let dir = config.llm.local_model_dir.as_ref().map(std::path::PathBuf::from);
    let store = ModelStore::new(dir, config.llm.local_python.clone());
    let state = if store.has_model(spec) { "present" } else { "fetched on first use" };
    format!(
        "local/{DEFAULT_MODEL} on this CPU, since no endpoint is named ({}, {state})",
        store.model_path(spec).display()
    )
}

pub fn print_warnings(file: &Path, warnings: &[openevolve::ConfigProblem]) {
    for w in warnings {
        eprintln!("warning: {}:{w}", file.display());
    }
}

/// Prints `file` migrated to stdout, and what was dropped to stderr.
pub fn migrate(file: &Path) -> Result<(), Failure> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read config file {}", file.display()))
        .map_err(Failure::BadInput)?;
    let migrated = openevolve::config::migrate(&text, file, &|name| std::env::var(name).ok())?;
    print!("{}", migrated.text);
    eprintln!(
        "{}: {} key{} commented out{}",
        file.display(),
        migrated.dropped.len(),
        if migrated.dropped.len() == 1 { "" } else { "s" },
        if migrated.dropped.is_empty() {
            String::new()
        } else {
            format!(" ({})", migrated.dropped.join(", "))
        }
    );
    Ok(())
}
