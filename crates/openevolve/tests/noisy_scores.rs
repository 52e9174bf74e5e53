//! A run with noisy scores, through `run_evolution` with a scripted model on
//! 127.0.0.1 and an executor whose noise is known: a child that beats the
//! best by less than the noise is evaluated again before it is stored, and
//! `evaluator.repeats` averages every program's samples.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openevolve::Config;
use openevolve::controller::{RunLayout, RunOptions, RunSummary, run_evolution};
use openevolve_eval::{BoxFuture, Evaluation, Executor};
use openevolve_testkit::{Reply, ScriptedLlm};
use tokio::sync::watch;

const INITIAL: &str =
    "pub fn fixed() {}\n// EVOLVE-BLOCK-START\npub const TRUTH: f64 = 0.50;\n// EVOLVE-BLOCK-END\n";
const CHILD: &str =
    "```rust\n// EVOLVE-BLOCK-START\npub const TRUTH: f64 = 0.55;\n// EVOLVE-BLOCK-END\n```\n";

/// Scores a program by its `TRUTH` plus known noise: +0.04 on its first
/// evaluation, -0.04 on its second, none after.
struct KnownNoise {
    declare_stderr: bool,
    draws: Mutex<HashMap<String, u32>>,
}

impl Executor for KnownNoise {
    fn evaluate(self: Arc<Self>, source: String) -> BoxFuture<'static, Evaluation> {
        Box::pin(async move {
            let truth: f64 =
                source.split("TRUTH: f64 = ").nth(1).unwrap().split(';').next().unwrap().parse().unwrap();
            let k = {
                let mut draws = self.draws.lock().unwrap();
                let k = draws.entry(source.clone()).or_default();
                *k += 1;
                *k
            };
            let noise = match k {
                1 => 0.04,
                2 => -0.04,
                _ => 0.0,
            };
            let mut evaluation = Evaluation::default();
            evaluation.metrics.insert("combined_score".into(), truth + noise);
            if self.declare_stderr {
                evaluation.metrics.insert("combined_score_stderr".into(), 0.05);
            }
            evaluation
        })
    }
}

fn evaluations(executor: &KnownNoise) -> u32 {
    executor.draws.lock().unwrap().values().sum()
}

async fn run(declare_stderr: bool, adjust: impl FnOnce(&mut Config)) -> (RunSummary, Arc<KnownNoise>) {
    let llm = ScriptedLlm::start(vec![Reply::Text(CHILD.into())], 0, Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config { max_iterations: 1, random_seed: Some(5), ..Config::default() };
    config.diff_based_evolution = Some(false);
    config.repair_turns = Some(0);
    config.database.num_islands = 1;
    config.llm.retries = 0;
    config.evaluator.confirmation_budget = 1.0;
    adjust(&mut config);
    config.use_single_model("scripted");
    config.use_api_base(&llm.api_base);
    config.resolve();
    let executor = Arc::new(KnownNoise { declare_stderr, draws: Mutex::new(HashMap::new()) });
    let (_tx, shutdown) = watch::channel(None);
    let options = RunOptions {
        initial_program: INITIAL.into(),
        config,
        layout: RunLayout::new(dir.path()),
        resume_from: None,
        target_score: None,
        show_progress: false,
        strategy: openevolve::SearchStrategy::Evolution,
    };
    let summary = run_evolution(options, Arc::clone(&executor) as Arc<dyn Executor>, shutdown).await.unwrap();
    (summary, executor)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_win_within_the_noise_is_evaluated_again_before_it_is_stored() {
    // The child's first sample, 0.59, beats the initial program's 0.54 by
    // 0.05, less than the noise: it is evaluated twice more (0.51, 0.55).
    let (summary, executor) = run(true, |_| {}).await;
    assert_eq!(summary.confirmations, 2, "{summary:?}");
    assert_eq!(evaluations(&executor), 1 + 3, "the initial program once, the child three times");
    let best = summary.best.expect("a best program");
    assert_eq!(best.samples, 3);
    assert!((best.fitness - 0.55).abs() < 1e-9, "the mean of 0.59, 0.51 and 0.55: {}", best.fitness);
    assert!((best.fitness_stderr - 0.05 / 3f64.sqrt()).abs() < 1e-9, "{}", best.fitness_stderr);

    // The same run without standard errors: nothing to confirm.
    let (summary, executor) = run(false, |_| {}).await;
    assert_eq!(summary.confirmations, 0);
    assert_eq!(evaluations(&executor), 2);
    let best = summary.best.unwrap();
    assert_eq!((best.samples, best.fitness_stderr), (1, 0.0));
    assert!((best.fitness - 0.59).abs() < 1e-9, "the lucky sample leads");

    // No budget: the close win is stored on its one sample.
    let (summary, executor) = run(true, |c| c.evaluator.confirmation_budget = 0.0).await;
    assert_eq!((summary.confirmations, evaluations(&executor)), (0, 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn repeats_average_every_program_and_give_it_a_standard_error() {
    // Every program twice: +0.04 then -0.04, a mean at the truth and a
    // standard error of 0.04 from the spread (no confirmations here).
    let (summary, executor) = run(false, |c| {
        c.evaluator.repeats = 2;
        c.evaluator.confirmation_budget = 0.0;
    })
    .await;
    assert_eq!(evaluations(&executor), 2 * 2);
    let best = summary.best.unwrap();
    assert_eq!(best.samples, 2);
    assert!((best.fitness - 0.55).abs() < 1e-9);
    assert!((best.fitness_stderr - 0.04).abs() < 1e-9, "{}", best.fitness_stderr);
}
