//! How busy the start window keeps the evaluation slots, printed as figures
//! (no harness). A scripted OpenAI-compatible server answers after a fixed
//! delay; an executor with `parallel_evaluations` slots sleeps 1 time unit
//! for 80% of the candidates and 8 for the rest (keyed on the code, so the
//! same candidates are slow in every run). For each slot count P the run is
//! made with the window the controller had before (W = P), with the
//! default, and with a wider one, and compared with the greedy schedule of the same measured
//! times: every freed slot refilled at once with the next iteration, each
//! ready once its model turn is done.
//!
//! Run: cargo bench -p openevolve --bench throughput [-- --unit-ms 100]
//! (the unit is the short evaluation; the model answers in 0.2 units).

use std::sync::Arc;
use std::time::{Duration, Instant};

use openevolve::Config;
use openevolve::controller::{RunLayout, RunOptions, RunSummary, run_evolution};
use openevolve_db::ProgramDatabase;
use openevolve_eval::{BoxFuture, Evaluation, Executor};
use openevolve_testkit::{Reply, ScriptedLlm};
use tokio::sync::{Semaphore, watch};

const INITIAL: &str =
    "pub fn base() -> u64 { 1 }\n// EVOLVE-BLOCK-START\npub fn value() -> u64 { 0 }\n// EVOLVE-BLOCK-END\n";
/// A full rewrite whose code differs on every request.
const ANSWER: &str = "```rust\npub fn value() -> u64 { {n} }\n```\n";

/// `slots` evaluations at once, each taking `unit` or, for a fifth of the
/// candidates (by a hash of the code), 8 units.
struct HeavyTail {
    slots: Semaphore,
    unit: Duration,
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

impl Executor for HeavyTail {
    fn evaluate(self: Arc<Self>, source: String) -> BoxFuture<'static, Evaluation> {
        Box::pin(async move {
            let waiting = Instant::now();
            let _slot = self.slots.acquire().await.expect("open");
            let slot_wait = waiting.elapsed();
            let hash = fnv(&source);
            let took = if (hash >> 7) % 5 == 0 { self.unit * 8 } else { self.unit };
            tokio::time::sleep(took).await;
            let mut evaluation = Evaluation::default();
            evaluation.metrics.insert("combined_score".into(), (hash % 10_000) as f64 / 10_000.0);
            evaluation.timings.evaluate = took;
            evaluation.timings.slot_wait = slot_wait;
            evaluation
        })
    }
}

fn config(api_base: &str, slots: usize, window: Option<u64>, iterations: u64) -> Config {
    let mut c = Config {
        max_iterations: iterations,
        checkpoint_interval: 1_000_000,
        diff_based_evolution: Some(false),
        start_window: window,
        ..Config::default()
    };
    c.evaluator.parallel_evaluations = slots;
    c.llm.retries = 0;
    c.llm.max_concurrent_requests = 4 * slots;
    c.use_single_model("scripted");
    c.use_api_base(api_base);
    c.resolve();
    c
}

/// One run; returns its summary and the greedy schedule's iterations per
/// minute for the times it measured.
async fn run(api_base: &str, unit: Duration, slots: usize, window: Option<u64>, n: u64) -> (RunSummary, f64) {
    let dir = tempfile::tempdir().unwrap();
    let config = config(api_base, slots, window, n);
    let (_tx, shutdown) = watch::channel(None);
    let options = RunOptions {
        initial_program: INITIAL.to_string(),
        config: config.clone(),
        layout: RunLayout::new(dir.path()),
        resume_from: None,
        target_score: None,
        show_progress: false,
        strategy: openevolve::SearchStrategy::Evolution,
    };
    let executor = Arc::new(HeavyTail { slots: Semaphore::new(slots), unit });
    let summary = run_evolution(options, executor, shutdown).await.expect("run succeeds");
    let db = ProgramDatabase::open(dir.path().join("evolution.db"), &config.database).unwrap();
    let phases: Vec<_> = db.iterations(1, n as usize).unwrap().into_iter().filter_map(|r| r.phases).collect();
    let mut free = vec![0u64; slots];
    for p in &phases {
        let slot = (0..slots).min_by_key(|&k| free[k]).expect("a slot");
        free[slot] = free[slot].max(p.llm_total_ms()) + p.evaluate_ms;
    }
    let makespan_min = *free.iter().max().expect("a slot") as f64 / 60_000.0;
    (summary, phases.len() as f64 / makespan_min)
}

fn main() {
    let unit_ms = std::env::args()
        .skip_while(|a| a != "--unit-ms")
        .nth(1)
        .map_or(100, |v| v.parse::<u64>().expect("--unit-ms takes milliseconds"));
    let unit = Duration::from_millis(unit_ms);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let llm = ScriptedLlm::start(vec![Reply::Text(ANSWER.into())], 0, unit / 5);
    println!(
        "start window: evaluations of {unit_ms} ms (80%) or {} ms (20%), answers in {} ms",
        8 * unit_ms,
        unit_ms / 5
    );
    println!("| P | window W | iterations | iterations/min | slots busy | greedy iterations/min | ratio |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for slots in [1usize, 4, 16, 64] {
        let n = (20 * slots as u64).max(60);
        let p = slots as u64;
        let windows: Vec<Option<u64>> =
            if slots == 1 { vec![None, Some(2)] } else { vec![Some(p), None, Some(8 * p)] };
        for window in windows {
            let (summary, greedy) = runtime.block_on(run(&llm.api_base, unit, slots, window, n));
            let t = &summary.throughput;
            println!(
                "| {slots} | {}{} | {n} | {:.1} | {:.0}% | {greedy:.1} | {:.2} |",
                t.start_window,
                if window.is_none() { " (default)" } else { "" },
                t.iterations_per_minute,
                100.0 * t.slot_utilisation,
                t.iterations_per_minute / greedy,
            );
        }
    }
}
