//! `openevolve run`: checks everything a run needs before it starts, sets up
//! the output directory and logging, builds the evaluator, and runs the
//! controller until it stops.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use openevolve::Config;
use openevolve::Problem;
use openevolve::config::{ModelChoice, tracing_level};
use openevolve::controller::{
    Interrupt, RunLayout, RunOptions, RunSummary, StopReason, is_checkpoint, run_evolution,
};
use openevolve_eval::{Executor, default_cache_dir};
use openevolve_llm::ModelConfig;
use openevolve_llm::local::{LocalSettings, catalog};
use tokio::sync::watch;

use crate::Failure;
use crate::cli::RunArgs;
use crate::config_check::print_warnings;

/// Exit codes of a run stopped by a signal, as shells expect (128 + signal).
const EXIT_SIGINT: u8 = 130;
const EXIT_SIGTERM: u8 = 143;

/// Runs and returns the process exit code.
pub fn run(args: RunArgs) -> Result<u8, Failure> {
    let config = effective_config(&args)?;
    let problem = check_inputs(&args)?;
    check_llm_endpoint(&config)?;
    let (output, resume_from) = output_and_resume(&args)?;

    std::fs::create_dir_all(&output)
        .with_context(|| format!("cannot create output directory {}", output.display()))
        .map_err(Failure::RunFailed)?;
    let layout = RunLayout::new(&output);
    let log_dir = config.log_dir.as_ref().map(PathBuf::from).unwrap_or_else(|| layout.logs_dir());
    let level = tracing_level(&config.log_level).expect("validated with the config");
    crate::logging::init(level, Some(&log_dir.join("openevolve.log"))).map_err(Failure::RunFailed)?;
    tracing::info!(output = %output.display(), "run directory ready");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(Failure::RunFailed)?;
    let options = RunOptions {
        initial_program: problem.initial_program.clone(),
        config,
        layout,
        resume_from,
        target_score: args.target_score,
        show_progress: !args.quiet && !args.json,
        strategy: openevolve::SearchStrategy::Evolution,
    };
    let summary = runtime.block_on(evolve(&args, &problem, options))?;
    report(&summary, &args);
    Ok(match summary.stop_reason {
        StopReason::Interrupted { signal: Interrupt::Interrupt } => EXIT_SIGINT,
        StopReason::Interrupted { signal: Interrupt::Terminate } => EXIT_SIGTERM,
        ref reason if reason.is_success() => 0,
        _ => 1,
    })
}

async fn evolve(args: &RunArgs, problem: &Problem, options: RunOptions) -> Result<RunSummary, Failure> {
    let evaluator =
        prepare_executor(problem, &options.config, args.cache_dir.as_deref(), &options.layout.root).await?;
    let shutdown = listen_for_signals().map_err(Failure::RunFailed)?;
    run_evolution(options, evaluator, shutdown).await.map_err(|e| Failure::RunFailed(e.into()))
}

/// The executor the config asks for, ready to evaluate `problem`'s
/// children; a Slurm executor names its jobs after `run_root`.
pub(crate) async fn prepare_executor(
    problem: &Problem,
    config: &Config,
    cache_dir: Option<&Path>,
    run_root: &Path,
) -> Result<Arc<dyn Executor>, Failure> {
    let cache_dir = cache_dir.map_or_else(default_cache_dir, Path::to_path_buf);
    tracing::info!(cache = %cache_dir.display(), "building the evaluator and the candidates' dependencies");
    openevolve_eval::prepare_executor(&problem.files, &config.evaluator_config(), &cache_dir, run_root)
        .await
        .map_err(|e| Failure::RunFailed(e.into()))
}

/// Ctrl-C and SIGTERM ask the controller to stop; it finishes what is in
/// flight (briefly), writes a final checkpoint and returns.
pub(crate) fn listen_for_signals() -> anyhow::Result<watch::Receiver<Option<Interrupt>>> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = watch::channel(None);
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    tokio::spawn(async move {
        loop {
            let which = tokio::select! {
                _ = interrupt.recv() => Interrupt::Interrupt,
                _ = terminate.recv() => Interrupt::Terminate,
            };
            // send_replace: a second signal must wake the controller again.
            tx.send_replace(Some(which));
        }
    });
    Ok(rx)
}

fn report(summary: &RunSummary, args: &RunArgs) {
    if args.json {
        println!("{}", serde_json::to_string_pretty(summary).expect("summary serializes"));
        return;
    }
    if args.quiet {
        return;
    }
    let reason = match &summary.stop_reason {
        StopReason::MaxIterations => "reached max_iterations".to_string(),
        StopReason::TargetScore { target } => format!("reached the target score {target}"),
        StopReason::EarlyStopping { patience } => format!("no improvement in {patience} iterations"),
        StopReason::BudgetExhausted { message } => message.clone(),
        StopReason::LlmUnavailable { message } => message.clone(),
        StopReason::Interrupted { signal } => format!("interrupted ({signal:?})"),
    };
    eprintln!("\nrun stopped: {reason}");
    eprintln!("iterations: {} this run, {} in total", summary.iterations_run, summary.last_iteration);
    let outcomes: Vec<String> = summary.outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect();
    if !outcomes.is_empty() {
        eprintln!("outcomes:   {}", outcomes.join(", "));
    }
    if let Some(best) = &summary.best {
        // With noise, the interval the database ranked it by.
        let interval = match best.fitness_stderr > 0.0 {
            true => format!(" ± {:.6} (standard error, {} samples)", best.fitness_stderr, best.samples),
            false => String::new(),
        };
        eprintln!(
            "best:       program {} with fitness {:.6}{interval} (iteration {})",
            best.id, best.fitness, best.iteration_found
        );
    }
    if summary.confirmations > 0 {
        eprintln!(
            "confirmed:  {} extra evaluations of children whose win was within the noise",
            summary.confirmations
        );
    }
    eprintln!("stored:     {} programs in {} grid cells", summary.programs_stored, summary.cells_occupied);
    if summary.evaluations_saved > 0 {
        eprintln!(
            "duplicates: {} children not evaluated (same code or behaviour)",
            summary.evaluations_saved
        );
    }
    if let Some(shares) = &summary.model_shares {
        let shares: Vec<String> = shares.iter().map(|(m, s)| format!("{m} {:.0}%", 100.0 * s)).collect();
        eprintln!("models:     chosen by the bandit: {}", shares.join(", "));
    }
    let usage = &summary.llm_usage.total;
    eprintln!(
        "llm:        {} requests, {} prompt + {} completion tokens, ${:.4}",
        usage.requests, usage.prompt_tokens, usage.completion_tokens, usage.cost_usd
    );
    eprintln!("output:     {} (best program in best/)", summary.output_dir.display());
}

/// The config file (or the defaults) with the command line's overrides applied.
pub(crate) fn effective_config(args: &RunArgs) -> Result<Config, Failure> {
    let mut config = match &args.config {
        Some(file) => {
            let loaded = Config::load(file)?;
            print_warnings(file, &loaded.warnings);
            loaded.config
        }
        None => Config::default(),
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
    let notes = config.choose_models(ModelChoice {
        model: args.model.as_deref(),
        api_base: args.api_base.as_deref(),
        cache_dir: args.cache_dir.as_deref(),
    });
    if !args.quiet {
        for note in notes {
            eprintln!("note: {note}");
        }
    }
    Ok(config)
}

/// The initial program must have intact EVOLVE-BLOCK regions and the
/// evaluator must exist, before anything is started.
pub(crate) fn check_inputs(args: &RunArgs) -> Result<Problem, Failure> {
    Problem::discover(&args.initial, &args.evaluator, None).map_err(|e| Failure::BadInput(e.into()))
}

/// A run needs at least one model and, for a remote endpoint, a key; local
/// models are fetched here on first use (pinned, sha256-checked).
pub(crate) fn check_llm_endpoint(config: &Config) -> Result<(), Failure> {
    if config.llm.models.is_empty() {
        return Err(Failure::BadInput(anyhow!(
            "no LLM model configured. Name one with `llm.models: [{{name: MODEL}}]` in the config or `--model MODEL`, \
             and point `llm.api_base` (or `--api-base URL`) at an OpenAI-compatible endpoint, for example a local \
             llama.cpp or Ollama server (http://127.0.0.1:8080/v1) or https://api.openai.com/v1 with OPENAI_API_KEY set"
        )));
    }
    let env_key = std::env::var_os("OPENAI_API_KEY").is_some();
    fetch_local_models(config)?;
    for m in config.llm.models.iter().filter(|m| !m.is_local()) {
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

/// Fetches the runtime and the catalog models of every local model, saying
/// so on stderr; what is already there is not fetched again.
fn fetch_local_models(config: &Config) -> Result<(), Failure> {
    let local: Vec<&ModelConfig> =
        config.llm.models.iter().chain(&config.llm.evaluator_models).filter(|m| m.is_local()).collect();
    if local.is_empty() {
        return Ok(());
    }
    let store = LocalSettings::from_config(&config.llm).store;
    let mut say = |line: &str| eprintln!("{line}");
    if !store.has_runtime() {
        store.fetch_runtime(&mut say).map_err(|e| Failure::RunFailed(e.into()))?;
    }
    let specs = local
        .iter()
        .filter(|m| m.model_path.as_deref().is_none_or(str::is_empty))
        .filter_map(|m| catalog::find(m.name.as_deref().unwrap_or_default()));
    let mut done = Vec::new();
    for spec in specs {
        if !done.contains(&spec.name) && !store.has_model(spec) {
            eprintln!("fetching the local model {} once: {}", spec.name, spec.description);
            store.fetch_model(spec, &mut say).map_err(|e| Failure::RunFailed(e.into()))?;
        }
        done.push(spec.name);
    }
    Ok(())
}

fn is_loopback(api_base: &str) -> bool {
    let host = api_base.split("://").nth(1).unwrap_or(api_base);
    ["127.", "localhost", "[::1]"].iter().any(|p| host.starts_with(p))
}

/// Where the run writes, and the checkpoint it starts from, if any.
/// `--checkpoint` names a checkpoint (copied into a new output directory) or
/// a run directory (continued in place).
fn output_and_resume(args: &RunArgs) -> Result<(PathBuf, Option<PathBuf>), Failure> {
    let bad = |msg: String| Failure::BadInput(anyhow!(msg));
    let Some(dir) = &args.checkpoint else {
        let output = match &args.output {
            Some(dir) => dir.clone(),
            None => default_output_dir(&args.initial).map_err(Failure::RunFailed)?,
        };
        if RunLayout::new(&output).database().exists() {
            return Err(bad(format!(
                "{} already holds a run; continue it with `--checkpoint {0}`, or choose another --output",
                output.display()
            )));
        }
        return Ok((output, None));
    };
    if !dir.is_dir() {
        return Err(bad(format!("--checkpoint {}: no such directory", dir.display())));
    }
    if is_checkpoint(dir) {
        let output = match &args.output {
            Some(out) => out.clone(),
            None => default_output_dir(&args.initial).map_err(Failure::RunFailed)?,
        };
        return Ok((output, Some(dir.clone())));
    }
    if RunLayout::new(dir).database().is_file() {
        if args.output.as_ref().is_some_and(|o| o != dir) {
            return Err(bad(format!(
                "--checkpoint {} is a run directory, continued in place; leave out --output",
                dir.display()
            )));
        }
        return Ok((dir.clone(), None));
    }
    Err(bad(format!(
        "--checkpoint {}: neither a checkpoint (checkpoints/checkpoint_N) nor a run directory (with evolution.db)",
        dir.display()
    )))
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
