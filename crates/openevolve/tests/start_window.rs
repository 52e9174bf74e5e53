//! The start window: with 16 evaluation slots and iterations starting up to
//! 64 ahead of their commits, a run gives the same database whatever its
//! evaluations' times, since iteration i always starts on the database as
//! iteration i - 64 left it. The answers follow from each request's seed
//! (the scripted server's keyed mode), the evaluation times from a random
//! stream that differs between the two runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use openevolve::Config;
use openevolve::controller::{RunLayout, RunOptions, RunSummary, run_evolution};
use openevolve_db::ProgramDatabase;
use openevolve_eval::{BoxFuture, Evaluation, Executor};
use openevolve_testkit::{Reply, ScriptedLlm};
use tokio::sync::{Semaphore, watch};

const INITIAL: &str =
    "pub fn base() -> u64 { 1 }\n// EVOLVE-BLOCK-START\npub fn value() -> u64 { 0 }\n// EVOLVE-BLOCK-END\n";
const SLOTS: usize = 16;

/// Answers by seed: most differ on every request, two repeat (so children
/// duplicate stored programs and repair turns ask for a change), one gives
/// nothing to apply.
fn script() -> Vec<Reply> {
    let code = |body: &str| Reply::Text(format!("```rust\npub fn value() -> u64 {{ {body} }}\n```\n"));
    vec![
        code("{n}"),
        code("{n} % 1000"),
        code("7"),
        code("{n} / 3"),
        Reply::Text("Nothing to change.".into()),
        code("11"),
        code("{n} ^ 5"),
    ]
}

/// An executor with the host's slots: at most [`SLOTS`] evaluations at
/// once, each sleeping a time drawn from its own stream (so two runs time
/// their evaluations differently), scored from a hash of the code.
struct RandomTimes {
    slots: Semaphore,
    state: AtomicU64,
}

impl RandomTimes {
    fn new(seed: u64) -> Self {
        Self { slots: Semaphore::new(SLOTS), state: AtomicU64::new(seed) }
    }

    /// 80% short, 20% long: the long ones hold back commits behind them.
    fn next_sleep(&self) -> Duration {
        let x = self.state.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
        let mixed = (x ^ (x >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        Duration::from_millis(if mixed % 5 == 0 { 40 } else { 1 + mixed % 4 })
    }
}

impl Executor for RandomTimes {
    fn evaluate(self: Arc<Self>, source: String) -> BoxFuture<'static, Evaluation> {
        Box::pin(async move {
            let waiting = Instant::now();
            let _slot = self.slots.acquire().await.expect("open");
            let slot_wait = waiting.elapsed();
            let sleep = self.next_sleep();
            tokio::time::sleep(sleep).await;
            let hash = source
                .bytes()
                .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
            let mut evaluation = Evaluation::default();
            evaluation.metrics.insert("combined_score".into(), (hash % 10_000) as f64 / 10_000.0);
            evaluation.timings.evaluate = sleep;
            evaluation.timings.slot_wait = slot_wait;
            evaluation
        })
    }
}

fn config(api_base: &str) -> Config {
    let mut c = Config {
        max_iterations: 120,
        checkpoint_interval: 50,
        diff_based_evolution: Some(false),
        random_seed: Some(5),
        repair_turns: Some(1),
        ..Config::default()
    };
    c.database.num_islands = 2;
    c.database.migration_interval = 10;
    c.evaluator.parallel_evaluations = SLOTS;
    c.llm.retries = 0;
    c.use_single_model("scripted");
    c.use_api_base(api_base);
    c.resolve();
    c
}

async fn run(dir: &Path, config: Config, times_seed: u64) -> RunSummary {
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
    let summary =
        run_evolution(options, Arc::new(RandomTimes::new(times_seed)), shutdown).await.expect("run succeeds");
    assert!(summary.stop_reason.is_success(), "{:?}", summary.stop_reason);
    summary
}

/// Everything a run stored, timings aside: programs, iterations, exchanges.
fn content(dir: &Path, config: &Config) -> Vec<String> {
    let db = ProgramDatabase::open(dir.join("evolution.db"), &config.database).unwrap();
    let mut lines = Vec::new();
    for id in 1..=db.last_program_id().unwrap() {
        if let Ok(p) = db.program(id) {
            lines.push(format!(
                "program {id}: {:?}",
                (
                    &p.code,
                    p.parent_id,
                    p.island,
                    p.generation,
                    p.iteration_found,
                    &p.metrics,
                    &p.cell,
                    p.mutation
                )
            ));
        }
    }
    for record in db.iterations(0, 10_000).unwrap() {
        let exchange = db.exchange(record.iteration).unwrap();
        let phases_recorded = record.phases.is_some();
        let record = openevolve_db::IterationRecord { duration_ms: 0, phases: None, ..record };
        lines.push(format!("{record:?} phases: {phases_recorded} exchange: {exchange:?}"));
    }
    lines
}

#[test]
fn a_window_wider_than_the_slots_gives_the_same_database_whatever_the_evaluation_times() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let llm = ScriptedLlm::start_keyed(script(), Duration::from_millis(2));
    let config = config(&llm.api_base);
    assert_eq!(config.start_window(), 4 * SLOTS as u64, "the default window");
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut contents = Vec::new();
    for (dir, times_seed) in dirs.iter().zip([1, 2]) {
        let summary = runtime.block_on(run(dir.path(), config.clone(), times_seed));
        assert_eq!(summary.iterations_run, 120);
        let throughput = &summary.throughput;
        assert_eq!((throughput.slots, throughput.start_window), (SLOTS as u64, 64));
        assert!(throughput.slot_utilisation > 0.0 && throughput.slot_utilisation <= 1.0, "{throughput:?}");
        assert!(throughput.phases.evaluate_ms > 0 && throughput.phases.llm_total_ms() > 0, "{throughput:?}");
        contents.push(content(dir.path(), &config));
    }
    let outcomes: BTreeMap<String, usize> = contents[0]
        .iter()
        .filter_map(|l| l.split("outcome: ").nth(1)?.split(',').next())
        .fold(BTreeMap::new(), |mut counts, outcome| {
            *counts.entry(outcome.to_string()).or_default() += 1;
            counts
        });
    // The script reaches the paths whose timing could have mattered.
    for outcome in ["Improved", "Stored", "Duplicate", "NotApplied"] {
        assert!(outcomes.contains_key(outcome), "no {outcome} iteration: {outcomes:?}");
    }
    let evolved = |l: &&String| l.starts_with("IterationRecord") && !l.contains("outcome: Initial");
    assert!(contents[0].iter().filter(evolved).all(|l| l.contains("phases: true")), "phases recorded");
    assert_eq!(contents[0].len(), contents[1].len());
    for (a, b) in contents[0].iter().zip(&contents[1]) {
        assert_eq!(a, b, "the runs differ");
    }
}
