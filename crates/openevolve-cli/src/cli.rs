//! The command line, as clap parses it. Flags of `run` follow OpenEvolve's
//! `openevolve-run.py` so its users find what they know.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "openevolve",
    version,
    about = "Evolve Rust programs with an LLM: MAP-Elites over EVOLVE-BLOCK regions, scored by your evaluator",
    long_about = None,
    after_help = "Exit codes: 0 success, 1 the run failed, 2 bad usage or bad input."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evolve INITIAL, scoring every child with EVALUATOR.
    Run(RunArgs),
    /// Build PROGRAM and score it once with EVALUATOR, as a run would; print
    /// the metrics and artifacts. Exits 1 when the evaluation fails.
    Eval(EvalArgs),
    /// Work with config files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Explore a run in the browser: a local web UI and JSON API over its
    /// database, read-only, live while the run goes on. A bench folder shows
    /// its arms side by side, with every run a click away.
    View(ViewArgs),
    /// Does the search search? Run evolution, two simple baselines
    /// (independent sampling, sequential refinement) and any config overlays
    /// over several seeds with the same model and budget, seed by seed; report
    /// the best score against iterations and tokens (a table, bench.json and
    /// bench.svg). A stopped bench continues where it stopped.
    Bench(BenchArgs),
    /// Local models that run on this machine without an account: list, fetch.
    #[command(subcommand)]
    Models(crate::models::ModelsCommand),
    /// Write a small working problem into DIR (initial.rs, evaluator.rs,
    /// config.yaml, README.md) to start from.
    New {
        /// The folder to write it into; created if missing.
        dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ViewArgs {
    /// A run's output directory, a checkpoint directory (checkpoints/checkpoint_N),
    /// a database file, or a bench folder (`openevolve bench --output`).
    pub run_dir: PathBuf,
    /// Port to listen on; 0 picks a free one (the URL is printed).
    #[arg(short, long, default_value_t = 8765)]
    pub port: u16,
    /// Address to listen on. Anything beyond 127.0.0.1 lets other machines
    /// read the run, code and prompts included.
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub host: String,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The program to evolve: Rust source with `// EVOLVE-BLOCK-START` and
    /// `// EVOLVE-BLOCK-END` around the regions the LLM may change.
    pub initial: PathBuf,
    /// The evaluator: an `evaluator.rs` file or a folder holding an evaluator crate.
    pub evaluator: PathBuf,
    /// config.yaml (OpenEvolve's keys); without it every default applies.
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the run keeps its state [default: checkpoints/<problem>/run_NNN].
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Iterations to run, overriding `max_iterations`.
    #[arg(short, long, value_name = "N")]
    pub iterations: Option<u64>,
    /// Resume: a checkpoint directory (its state is copied into a new output
    /// directory) or a run directory (continued in place, e.g. after a crash).
    #[arg(long, value_name = "DIR")]
    pub checkpoint: Option<PathBuf>,
    /// Stop once the best program's combined score reaches X.
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub target_score: Option<f64>,
    /// Base URL of an OpenAI-compatible API, for every model.
    #[arg(long, value_name = "URL")]
    pub api_base: Option<String>,
    /// Use this one model instead of the config's ensemble.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// DEBUG, INFO, WARNING, ERROR or CRITICAL, overriding `log_level`.
    #[arg(long, value_name = "L")]
    pub log_level: Option<String>,
    /// No progress bar and no summary; warnings and errors still go to stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print the run's summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Where built dependencies and candidates are cached across runs
    /// [default: $XDG_CACHE_HOME/openevolve].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A problem folder: initial.rs, evaluator.rs or evaluator/, and
    /// optionally config.yaml and candidate.toml.
    pub problem_dir: PathBuf,
    /// Seeds per arm (1 to K).
    #[arg(long, default_value_t = 3, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: u64,
    /// Iterations of every run.
    #[arg(short, long, default_value_t = 30, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub iterations: u64,
    /// config.yaml [default: the problem folder's].
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the runs and the report go [default: bench/<problem>]. A folder
    /// that holds a bench with the same iterations and arms is continued.
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Another arm: evolution with FILE (a partial config.yaml) laid over
    /// the config. Repeat for more arms; NAME is letters, digits, _ and -.
    #[arg(long = "arm", value_name = "NAME=FILE", value_parser = parse_arm)]
    pub arms: Vec<(String, PathBuf)>,
    /// Leave out the two baselines: evolution and the --arm arms only.
    #[arg(long)]
    pub no_baselines: bool,
    /// The score whose iterations and tokens to reach are reported
    /// [default: the median of every run's final best score].
    #[arg(long, value_name = "SCORE")]
    pub threshold: Option<f64>,
    /// Base URL of an OpenAI-compatible API, for every model.
    #[arg(long, value_name = "URL")]
    pub api_base: Option<String>,
    /// Use this one model instead of the config's ensemble.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Where built dependencies and candidates are cached across runs.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// `NAME=FILE` of `--arm`.
fn parse_arm(text: &str) -> Result<(String, PathBuf), String> {
    let (name, file) = text.split_once('=').ok_or("expected NAME=FILE, e.g. one_island=one_island.yaml")?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(format!("arm name `{name}`: use letters, digits, _ and - only"));
    }
    Ok((name.to_string(), PathBuf::from(file)))
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The program to score (e.g. the initial program, or a variant of it).
    pub program: PathBuf,
    /// The evaluator: an `evaluator.rs` file or a folder holding an evaluator crate.
    pub evaluator: PathBuf,
    /// config.yaml; its `evaluator:` section applies (limits, arguments, env)
    /// [default: config.yaml beside PROGRAM, else in the evaluator's problem folder].
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The candidates' crates [default: candidate.toml beside PROGRAM, else in
    /// the evaluator's problem folder].
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Print the evaluation as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Where built dependencies and candidates are cached
    /// [default: $XDG_CACHE_HOME/openevolve].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Only build: copy the evaluator's worker (`evaluator`) and the program
    /// (`<name>.so`) into DIR, to evaluate on another machine (one with a GPU
    /// and no Rust, say), and print the command that does it there.
    #[arg(long, value_name = "DIR")]
    pub build_only: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config without running anything; print the effective config
    /// (defaults filled in, secrets masked).
    Check {
        /// The config file to check.
        file: PathBuf,
    },
    /// Print a config written for OpenEvolve as openevolve-rs reads it: every
    /// key it would drop commented out where it stands, with the reason.
    Migrate {
        /// The config file to migrate; it is not changed.
        file: PathBuf,
    },
}
