//! `openevolve run`: checks everything a run needs before it starts, sets up
//! the output directory and logging, then hands over to the controller.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use openevolve::Config;
use openevolve::config::tracing_level;
use openevolve::regions::evolve_regions;

use crate::Failure;
use crate::cli::RunArgs;
use crate::config_check::print_warnings;

pub fn run(args: RunArgs) -> Result<(), Failure> {
    let config = effective_config(&args)?;
    check_inputs(&args)?;
    check_llm_endpoint(&config)?;

    let output = match &args.output {
        Some(dir) => dir.clone(),
        None => default_output_dir(&args.initial).map_err(Failure::RunFailed)?,
    };
    std::fs::create_dir_all(&output)
        .with_context(|| format!("cannot create output directory {}", output.display()))
        .map_err(Failure::RunFailed)?;
    let log_dir = config.log_dir.as_ref().map(PathBuf::from).unwrap_or_else(|| output.join("logs"));
    let level = tracing_level(&config.log_level).expect("validated with the config");
    crate::logging::init(level, Some(&log_dir.join("openevolve.log"))).map_err(Failure::RunFailed)?;
    tracing::info!(output = %output.display(), "run directory ready");

    Err(Failure::RunFailed(anyhow!(
        "the evolution controller is not part of this build yet: config, inputs and LLM endpoint are valid, \
         but no iteration can run (see ARCHITECTURE.md for what has landed)"
    )))
}

/// The config file (or the defaults) with the command line's overrides applied.
fn effective_config(args: &RunArgs) -> Result<Config, Failure> {
    let mut config = match &args.config {
        Some(file) => {
            let loaded = Config::load(file)?;
            print_warnings(file, &loaded.warnings);
            loaded.config
        }
        None => {
            let mut c = Config::default();
            c.resolve();
            c
        }
    };
    if let Some(n) = args.iterations {
        config.max_iterations = n;
    }
    if let Some(level) = &args.log_level {
        if tracing_level(level).is_none() {
            return Err(Failure::BadInput(anyhow!(
                "--log-level `{level}` is not a level; use one of {}",
                openevolve::config::LOG_LEVELS.join(", ")
            )));
        }
        config.log_level = level.clone();
    }
    if let Some(model) = &args.model {
        config.use_single_model(model);
    }
    if let Some(base) = &args.api_base {
        config.use_api_base(base);
    }
    if let Some(dir) = &args.checkpoint
        && !dir.is_dir()
    {
        return Err(Failure::BadInput(anyhow!("--checkpoint {}: no such directory", dir.display())));
    }
    Ok(config)
}

/// The initial program must have intact EVOLVE-BLOCK regions and the
/// evaluator must exist, before anything is started.
fn check_inputs(args: &RunArgs) -> Result<(), Failure> {
    let bad = |e: anyhow::Error| Failure::BadInput(e);
    let source = std::fs::read_to_string(&args.initial)
        .with_context(|| format!("cannot read initial program {}", args.initial.display()))
        .map_err(bad)?;
    evolve_regions(&source)
        .with_context(|| format!("initial program {}", args.initial.display()))
        .map_err(bad)?;
    let evaluator = &args.evaluator;
    let is_crate = evaluator.is_dir() && evaluator.join("Cargo.toml").is_file();
    let is_file = evaluator.is_file() && evaluator.extension().is_some_and(|e| e == "rs");
    if !(is_crate || is_file) {
        return Err(bad(anyhow!(
            "evaluator {}: expected a Rust file (evaluator.rs) or a folder holding an evaluator crate (with Cargo.toml)",
            evaluator.display()
        )));
    }
    Ok(())
}

/// A run needs at least one model and, for a remote endpoint, a key.
fn check_llm_endpoint(config: &Config) -> Result<(), Failure> {
    if config.llm.models.is_empty() {
        return Err(Failure::BadInput(anyhow!(
            "no LLM model configured. Name one with `llm.models: [{{name: MODEL}}]` in the config or `--model MODEL`, \
             and point `llm.api_base` (or `--api-base URL`) at an OpenAI-compatible endpoint, for example a local \
             llama.cpp or Ollama server (http://127.0.0.1:8080/v1) or https://api.openai.com/v1 with OPENAI_API_KEY set"
        )));
    }
    let env_key = std::env::var_os("OPENAI_API_KEY").is_some();
    for m in &config.llm.models {
        let base = m.api_base.as_deref().unwrap_or_default();
        if m.api_key.is_none() && !env_key && !is_loopback(base) {
            return Err(Failure::BadInput(anyhow!(
                "model `{}` at {base} needs an API key: export OPENAI_API_KEY, or set `llm.api_key: ${{YOUR_VAR}}` \
                 in the config (a local endpoint on 127.0.0.1 needs none)",
                m.name.as_deref().unwrap_or_default()
            )));
        }
    }
    Ok(())
}

fn is_loopback(api_base: &str) -> bool {
    let host = api_base.split("://").nth(1).unwrap_or(api_base);
    ["127.", "localhost", "[::1]"].iter().any(|p| host.starts_with(p))
}

/// `checkpoints/<problem>/run_NNN`, the first number not taken; the problem is
/// named after the folder holding the initial program.
fn default_output_dir(initial: &Path) -> anyhow::Result<PathBuf> {
    let problem = initial
        .canonicalize()
        .ok()
        .and_then(|p| p.parent()?.file_name()?.to_str().map(str::to_string))
        .unwrap_or_else(|| "run".into());
    let base = Path::new("checkpoints").join(problem);
    for n in 1..100_000 {
        let dir = base.join(format!("run_{n:03}"));
        if !dir.exists() {
            return Ok(dir);
        }
    }
    Err(anyhow!("no free run directory under {}", base.display()))
}
