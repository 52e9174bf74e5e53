//! Does noise-aware elitism keep a lucky measurement from being reported as
//! the best? Printed figures (no harness).
//!
//! A synthetic problem with known truth: a program is a number `x` in
//! [0, 1], its true score `1 - 1.2 |x - 0.73|`, and every evaluation adds
//! Gaussian noise of standard deviation `SIGMA`. A scripted model on
//! 127.0.0.1 proposes a fresh `x` per iteration (a rewrite of the region),
//! the same ones in every arm of a seed, so the arms differ only in how
//! they treat the noise:
//!
//! - `blind`: the evaluator reports the noisy score alone (today's default);
//! - `declared`: it also reports the score's standard error
//!   (`combined_score_stderr`), so the database ranks by more than the noise
//!   and close wins are evaluated again (`max_confirmations` 2, and
//!   `confirmation_budget` 0.25, 0.5 or 1);
//! - `repeats 2`: every program is evaluated twice and averaged.
//!
//! Per arm, over the seeds: how often the reported best is lucky (its
//! reported score overstates its true score by more than the noise's
//! standard deviation), how often it is the truly best program stored, the
//! mean regret (the best true score stored less the reported best's), the
//! mean overstatement, and the evaluations spent per iteration.
//!
//! Run: cargo bench -p openevolve --bench noisy_elitism

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openevolve::Config;
use openevolve::controller::{RunLayout, RunOptions, run_evolution};
use openevolve_eval::{BoxFuture, Evaluation, Executor};
use openevolve_testkit::{Reply, ScriptedLlm};
use tokio::sync::watch;

const SEEDS: u64 = 40;
const ITERATIONS: u64 = 40;
const SIGMA: f64 = 0.05;
const INITIAL: &str = "pub fn fixed() -> u64 { 1 }\n// EVOLVE-BLOCK-START\npub const PROPOSAL: u64 = 18446744073709551615;\n// EVOLVE-BLOCK-END\n";
const ANSWER: &str = "Another point.\n```rust\n// EVOLVE-BLOCK-START\npub const PROPOSAL: u64 = {n};\n// EVOLVE-BLOCK-END\n```\n";

/// SplitMix64: a seeded stream of 64-bit values.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn unit(z: u64) -> f64 {
    (mix(z) >> 11) as f64 / (1u64 << 53) as f64
}

/// The proposal's point: the initial program's (`u64::MAX`) is 0.1, each
/// answer's a uniform draw keyed by the seed and the answer's number.
fn point(seed: u64, proposal: u64) -> f64 {
    if proposal == u64::MAX { 0.1 } else { unit(seed.wrapping_mul(1_000_003) ^ proposal) }
}

fn truth(x: f64) -> f64 {
    1.0 - 1.2 * (x - 0.73).abs()
}

fn proposal_of(source: &str) -> u64 {
    let digits = source.split("PROPOSAL: u64 = ").nth(1).expect("the region holds a proposal");
    digits.split(';').next().unwrap().trim().parse().expect("a number")
}

/// Scores a program by its true score plus Gaussian noise; the k-th
/// evaluation of a program draws the same noise in every arm.
struct NoisyEvaluator {
    seed: u64,
    declare_stderr: bool,
    evaluations: AtomicU64,
    draws: Mutex<HashMap<u64, u64>>,
}

impl Executor for NoisyEvaluator {
    fn evaluate(self: Arc<Self>, source: String) -> BoxFuture<'static, Evaluation> {
        Box::pin(async move {
            self.evaluations.fetch_add(1, Ordering::Relaxed);
            let proposal = proposal_of(&source);
            let k = {
                let mut draws = self.draws.lock().unwrap();
                let k = draws.entry(proposal).or_default();
                *k += 1;
                *k
            };
            // Box-Muller from two draws keyed by seed, proposal and k.
            let key = mix(self.seed ^ mix(proposal ^ mix(k)));
            let (u1, u2) = (unit(key).max(1e-12), unit(key ^ 0xabcdef));
            let noise = SIGMA * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            let mut evaluation = Evaluation::default();
            evaluation.metrics.insert("combined_score".into(), truth(point(self.seed, proposal)) + noise);
            if self.declare_stderr {
                evaluation.metrics.insert("combined_score_stderr".into(), SIGMA);
            }
            evaluation
        })
    }
}

#[derive(Clone, Copy)]
enum Arm {
    Blind,
    /// Standard errors declared, with this `confirmation_budget`.
    Declared(f64),
    Repeats,
}

impl Arm {
    fn name(self) -> String {
        match self {
            Arm::Blind => "blind".into(),
            Arm::Declared(budget) => format!("declared, budget {budget}"),
            Arm::Repeats => "repeats 2".into(),
        }
    }
}

struct Outcome {
    reported_truth: f64,
    best_truth: f64,
    overstatement: f64,
    evaluations_per_iteration: f64,
}

async fn run(seed: u64, arm: Arm) -> Outcome {
    let llm = ScriptedLlm::start(vec![Reply::Text(ANSWER.into())], 0, Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        max_iterations: ITERATIONS,
        checkpoint_interval: ITERATIONS,
        random_seed: Some(seed),
        ..Config::default()
    };
    config.diff_based_evolution = Some(false);
    config.repair_turns = Some(0);
    config.database.num_islands = 1;
    config.database.feature_dimensions = vec!["score".into()];
    config.llm.retries = 0;
    config.evaluator.repeats = if matches!(arm, Arm::Repeats) { 2 } else { 1 };
    if let Arm::Declared(budget) = arm {
        config.evaluator.confirmation_budget = budget;
    }
    config.use_single_model("scripted");
    config.use_api_base(&llm.api_base);
    config.resolve();
    let evaluator = Arc::new(NoisyEvaluator {
        seed,
        declare_stderr: matches!(arm, Arm::Declared(_)),
        evaluations: AtomicU64::new(0),
        draws: Mutex::new(HashMap::new()),
    });
    let (_tx, shutdown) = watch::channel(None);
    let options = RunOptions {
        initial_program: INITIAL.to_string(),
        config,
        layout: RunLayout::new(dir.path()),
        resume_from: None,
        target_score: None,
        show_progress: false,
        strategy: openevolve::SearchStrategy::Evolution,
    };
    let summary = run_evolution(options, Arc::clone(&evaluator) as Arc<dyn Executor>, shutdown)
        .await
        .expect("the run succeeds");
    let best = summary.best.expect("a best program");
    let best_truth =
        stored_proposals(dir.path()).iter().map(|p| truth(point(seed, *p))).fold(f64::MIN, f64::max);
    let code = std::fs::read_to_string(dir.path().join("best/best_program.rs")).unwrap();
    let reported_truth = truth(point(seed, proposal_of(&code)));
    Outcome {
        reported_truth,
        best_truth,
        overstatement: best.fitness - reported_truth,
        evaluations_per_iteration: evaluator.evaluations.load(Ordering::Relaxed) as f64
            / (ITERATIONS + 1) as f64,
    }
}

/// The proposals of every program the run stored, read through the
/// database crate.
fn stored_proposals(dir: &std::path::Path) -> Vec<u64> {
    let conn =
        openevolve_db::read::Reader::open(&dir.join("evolution.db"), false).expect("the run's database");
    let shape = openevolve_db::read::grid_shape(&conn).unwrap().unwrap();
    let request = openevolve_db::read::programs::PageRequest {
        offset: 0,
        limit: 100_000,
        island: None,
        order: openevolve_db::read::programs::ProgramOrder::Id,
        descending: false,
    };
    let page = openevolve_db::read::programs::page(&conn, &shape, &request).unwrap();
    page.programs
        .iter()
        .map(|p| proposal_of(&openevolve_db::read::programs::code(&conn, p.id).unwrap().unwrap()))
        .collect()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    println!(
        "noisy elitism: {SEEDS} seeds x {ITERATIONS} iterations, noise sd {SIGMA}, true scores 1 - 1.2|x - 0.73|"
    );
    println!(
        "{:<22} {:>10} {:>15} {:>8} {:>11} {:>12}",
        "arm", "lucky (%)", "truly best (%)", "regret", "overstated", "evals/iter"
    );
    for arm in [Arm::Blind, Arm::Declared(0.25), Arm::Declared(0.5), Arm::Declared(1.0), Arm::Repeats] {
        let outcomes: Vec<Outcome> = (1..=SEEDS).map(|seed| runtime.block_on(run(seed, arm))).collect();
        let n = outcomes.len() as f64;
        let truly_best = outcomes.iter().filter(|o| o.best_truth - o.reported_truth < 1e-12).count() as f64;
        let regret = outcomes.iter().map(|o| o.best_truth - o.reported_truth).sum::<f64>() / n;
        let overstated = outcomes.iter().map(|o| o.overstatement).sum::<f64>() / n;
        let cost = outcomes.iter().map(|o| o.evaluations_per_iteration).sum::<f64>() / n;
        let lucky = outcomes.iter().filter(|o| o.overstatement > SIGMA).count() as f64;
        println!(
            "{:<22} {:>10.1} {:>15.1} {:>8.4} {:>11.4} {:>12.2}",
            arm.name(),
            100.0 * lucky / n,
            100.0 * truly_best / n,
            regret,
            overstated,
            cost
        );
    }
}
