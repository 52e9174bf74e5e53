//! Framework overhead of the controller, printed as figures (no harness):
//!
//! 1. Per-iteration overhead at 100, 10,000 and 100,000 stored programs, with an
//!    instant OpenAI-compatible server on 127.0.0.1 and an instant executor, so
//!    what is timed is the framework alone (sampling, prompt, HTTP client, diff,
//!    commit; no checkpoints). The population is held at its cap, so every
//!    insert also evicts. Then the database copy a checkpoint makes at that
//!    size, which a run pays every `checkpoint_interval` iterations.
//! 2. Checkpoint disk use after 1,000 iterations (checkpoint_interval 100).
//! 3. Start-up time of the release `openevolve` binary to its first LLM
//!    request, dependencies already built (needs `cargo build --release -p
//!    openevolve-cli` first; skipped with a note otherwise).
//!
//! Run: cargo build --release -p openevolve-cli && cargo bench -p openevolve --bench controller

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openevolve::Config;
use openevolve::controller::{RunLayout, RunOptions, run_evolution};
use openevolve_eval::{BoxFuture, Evaluation, Executor};
use openevolve_testkit::{Reply, ScriptedLlm};
use tokio::sync::watch;

const INITIAL: &str =
    "pub fn base() -> u64 { 1 }\n// EVOLVE-BLOCK-START\npub fn value() -> u64 { 0 }\n// EVOLVE-BLOCK-END\n";
/// A full rewrite whose code differs on every request.
const ANSWER: &str = "Try this.\n```rust\npub fn value() -> u64 { {n} }\n```\n";

/// Scores programs instantly from a hash of their code.
struct InstantExecutor;

impl Executor for InstantExecutor {
    fn evaluate(self: Arc<Self>, source: String) -> BoxFuture<'static, Evaluation> {
        Box::pin(async move {
            let hash = source
                .bytes()
                .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
            let mut evaluation = Evaluation::default();
            evaluation.metrics.insert("combined_score".into(), (hash % 10_000) as f64 / 10_000.0);
            evaluation.artifacts.insert("stdout".into(), format!("scored {hash:x}"));
            evaluation
        })
    }
}

fn config(api_base: &str, iterations: u64, population: usize) -> Config {
    with_checkpoints(api_base, iterations, population, 100)
}

fn with_checkpoints(api_base: &str, iterations: u64, population: usize, checkpoint_interval: u64) -> Config {
    let mut c = Config {
        max_iterations: iterations,
        checkpoint_interval,
        diff_based_evolution: Some(false),
        ..Config::default()
    };
    c.database.population_size = population;
    c.database.archive_size = 100;
    c.llm.retries = 0;
    c.use_single_model("instant");
    c.use_api_base(api_base);
    c.resolve();
    c
}

async fn run(dir: &Path, config: Config) -> Duration {
    let (_tx, shutdown) = watch::channel(None);
    let options = RunOptions {
        initial_program: INITIAL.to_string(),
        config,
        layout: RunLayout::new(dir),
        resume_from: None,
        target_score: None,
        show_progress: false,
        strategy: openevolve::SearchStrategy::Evolution,
    };
    let start = Instant::now();
    let summary = run_evolution(options, Arc::new(InstantExecutor), shutdown).await.expect("run succeeds");
    assert!(summary.stop_reason.is_success(), "{:?}", summary.stop_reason);
    start.elapsed()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// What [`overhead_at`] measured at one size.
struct Overhead {
    open_ms: f64,
    per_iteration_ms: Vec<f64>,
    checkpoint_copy_ms: f64,
}

/// Fills a run to `stored` programs, then times `batches` batches of `per_batch`
/// iterations each, resuming in place, and a checkpoint's copy of the database.
async fn overhead_at(llm: &ScriptedLlm, stored: usize, batches: usize, per_batch: u64) -> Overhead {
    let dir = tempfile::tempdir().unwrap();
    let never = u64::MAX;
    // The initial program sits on each of the 5 islands.
    let fill = stored as u64;
    let at = |iterations| with_checkpoints(&llm.api_base, iterations, stored, never);
    run(dir.path(), at(fill)).await;
    let open_only = run(dir.path(), at(fill)).await;
    let mut per_iteration_ms = Vec::new();
    let mut done = fill;
    for _ in 0..batches {
        done += per_batch;
        let took = run(dir.path(), at(done)).await;
        per_iteration_ms.push((took - open_only).as_secs_f64() * 1000.0 / per_batch as f64);
    }
    let db =
        openevolve_db::ProgramDatabase::open(dir.path().join("evolution.db"), &at(done).database).unwrap();
    let copy = dir.path().join("copy.db");
    let start = Instant::now();
    db.snapshot_to(&copy).unwrap();
    let checkpoint_copy_ms = start.elapsed().as_secs_f64() * 1000.0;
    Overhead { open_ms: open_only.as_secs_f64() * 1000.0, per_iteration_ms, checkpoint_copy_ms }
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else { return 0 };
    entries
        .flatten()
        .map(|e| {
            let meta = e.metadata().unwrap();
            if meta.is_dir() { dir_size(&e.path()) } else { meta.len() }
        })
        .sum()
}

fn release_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let target = exe.ancestors().find(|p| p.file_name().is_some_and(|n| n == "target"))?;
    let binary = target.join("release/openevolve");
    binary.is_file().then_some(binary)
}

/// Seconds from spawning the release binary to its first LLM request.
fn startup_to_first_request(binary: &Path, cache: &Path) -> f64 {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let example = root.join("examples/function_minimization");
    let llm = ScriptedLlm::start(vec![Reply::Text("no change".into())], 0, Duration::ZERO);
    let out = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let mut child = std::process::Command::new(binary)
        .arg("run")
        .arg(example.join("initial.rs"))
        .arg(example.join("evaluator.rs"))
        .arg("--config")
        .arg(example.join("config.yaml"))
        .arg("--output")
        .arg(out.path().join("run"))
        .args(["--quiet", "--iterations", "1", "--model", "m", "--api-base", &llm.api_base, "--cache-dir"])
        .arg(cache)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child.wait().unwrap();
    llm.first_request_at().expect("the run asked the LLM").duration_since(start).as_secs_f64()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let llm = ScriptedLlm::start(vec![Reply::Text(ANSWER.into())], 0, Duration::ZERO);

    println!("controller overhead per iteration (instant LLM server and executor; median of batches)");
    let mut medians = Vec::new();
    for stored in [100, 10_000, 100_000] {
        let o = runtime.block_on(overhead_at(&llm, stored, 5, 200));
        let m = median(o.per_iteration_ms.clone());
        medians.push(m);
        let shown: Vec<String> = o.per_iteration_ms.iter().map(|b| format!("{b:.3}")).collect();
        println!(
            "  {stored:>6} programs: median {m:.3} ms/iteration (batches of 200: {}); opening the run {:.0} ms; \
             a checkpoint's database copy {:.0} ms",
            shown.join(", "),
            o.open_ms,
            o.checkpoint_copy_ms
        );
    }
    println!(
        "  growth from 100 to 10,000 programs: {:.2}x; to 100,000: {:.2}x",
        medians[1] / medians[0],
        medians[2] / medians[0]
    );

    let dir = tempfile::tempdir().unwrap();
    let took = runtime.block_on(run(dir.path(), config(&llm.api_base, 1000, 1000)));
    let checkpoints = dir_size(&dir.path().join("checkpoints"));
    let total = dir_size(dir.path());
    println!(
        "1,000 iterations from scratch: {:.2} s; checkpoints {:.1} MB (10 of them), whole output {:.1} MB",
        took.as_secs_f64(),
        checkpoints as f64 / 1e6,
        total as f64 / 1e6
    );

    match release_binary() {
        Some(binary) => {
            let cache = tempfile::tempdir().unwrap();
            let cold = startup_to_first_request(&binary, cache.path());
            let warm: Vec<f64> = (0..5).map(|_| startup_to_first_request(&binary, cache.path())).collect();
            println!(
                "start-up to the first LLM request (release binary, function_minimization): median {:.3} s with \
                 dependencies built (first run, building them: {cold:.1} s)",
                median(warm)
            );
        }
        None => {
            println!("start-up: build the release binary first (cargo build --release -p openevolve-cli)")
        }
    }
}
