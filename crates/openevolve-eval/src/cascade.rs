//! One evaluation, shared by every executor: the cascade stages in order
//! while the score stays at or above `cascade_thresholds` (or `evaluate`
//! alone, stage 0); each stage retried on evaluator errors up to
//! `max_retries` and on nothing else (a timeout or a crash would only
//! repeat); captured output kept as artifacts; artifacts bounded. An
//! executor supplies only "run one stage".

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use std::ffi::OsString;
use std::path::Path;

use crate::classify::{StageReport, classify};
use crate::diagnostics::head;
use crate::worker::{WorkerLimits, WorkerRun, judge_args, run_worker};
use crate::{Evaluation, EvaluatorConfig, Failure, FailureReason};

/// What one stage gave: its outcome, and the output it printed (kept as
/// artifacts even when the stage failed).
pub(crate) struct StageRun {
    pub outcome: Result<StageReport, Failure>,
    pub output: BTreeMap<String, String>,
}

impl StageRun {
    /// A stage that printed nothing we captured (e.g. run in process).
    pub fn silent(outcome: Result<StageReport, Failure>) -> Self {
        Self { outcome, output: BTreeMap::new() }
    }

    /// A worker's stdout and stderr, with `outcome` made from its run.
    pub fn from_worker(run: &WorkerRun, outcome: Result<StageReport, Failure>) -> Self {
        let output = [("stdout", &run.stdout), ("stderr", &run.stderr)]
            .into_iter()
            .filter(|(_, text)| !text.is_empty())
            .map(|(name, text)| (name.to_string(), text.clone()))
            .collect();
        Self { outcome, output }
    }
}

/// Runs stage `stage` of `library` in a judge worker: `program` with
/// `leading` arguments before the judge's own (the Slurm job's device
/// selection through `env`), under the config's limits, classified. The
/// one way a stage runs in a worker, on the host and in a Slurm job alike.
pub(crate) async fn run_stage_in_worker(
    program: &Path,
    leading: Vec<OsString>,
    library: &Path,
    stage: u8,
    config: &EvaluatorConfig,
    scratch: &Path,
) -> StageRun {
    let limits = worker_limits(config);
    let evaluator_args =
        config.evaluator_args.as_ref().map(|a| serde_json::to_string(a).expect("JSON values serialize"));
    let mut args = leading;
    args.extend(judge_args(library, stage, &limits, evaluator_args.as_deref()));
    match run_worker(program, &args, &limits, scratch).await {
        Ok(run) => {
            let outcome = classify(
                &run,
                config.timeout,
                limits.max_output_bytes,
                limits.candidate.cpu_seconds.is_some(),
            );
            StageRun::from_worker(&run, outcome)
        }
        Err(e) => StageRun::silent(Err(Failure {
            reason: FailureReason::WorkerFailed,
            message: format!("cannot run the evaluator worker: {e}"),
        })),
    }
}

/// The limits of one worker run, from the evaluator's config.
pub(crate) fn worker_limits(config: &EvaluatorConfig) -> WorkerLimits {
    WorkerLimits {
        timeout: Duration::from_secs_f64(config.timeout),
        candidate: config.candidate_limits(),
        max_output_bytes: config.max_output_bytes as usize,
        env: config.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    }
}

/// Runs `stages` (those the evaluator defines) through `run_stage`.
pub(crate) async fn run_cascade<F, Fut>(
    config: &EvaluatorConfig,
    stages: &[u8],
    mut run_stage: F,
) -> Evaluation
where
    F: FnMut(u8) -> Fut,
    Fut: Future<Output = StageRun>,
{
    let start = Instant::now();
    let cascade = config.cascade_evaluation && !stages.is_empty();
    let plan: &[u8] = if cascade { stages } else { &[0] };
    let mut evaluation = Evaluation::default();
    for (i, &stage) in plan.iter().enumerate() {
        if cascade {
            evaluation.stage_reached = Some(stage);
        }
        let mut attempts = 0;
        let outcome = loop {
            attempts += 1;
            let run = run_stage(stage).await;
            evaluation.artifacts.extend(run.output);
            let retry = matches!(&run.outcome, Err(f) if f.reason == FailureReason::EvaluatorError);
            if !retry || attempts > config.max_retries {
                break run.outcome;
            }
        };
        evaluation.attempts = attempts;
        match outcome {
            Ok((metrics, artifacts)) => {
                evaluation.metrics.extend(metrics);
                evaluation.artifacts.extend(artifacts);
            }
            Err(failure) => {
                evaluation.failure = Some(failure);
                break;
            }
        }
        let below = match (config.cascade_thresholds.get(i), evaluation.score(&config.fitness_excludes)) {
            (Some(threshold), Some(score)) => score < *threshold,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if cascade && below {
            break;
        }
    }
    evaluation.timings.evaluate = start.elapsed();
    bound_artifacts(config, &mut evaluation.artifacts);
    evaluation
}

/// No artifacts when disabled; otherwise each cut to a fair share of
/// `max_artifact_storage`.
fn bound_artifacts(config: &EvaluatorConfig, artifacts: &mut BTreeMap<String, String>) {
    if !config.enable_artifacts {
        artifacts.clear();
        return;
    }
    let share = (config.max_artifact_storage as usize) / artifacts.len().max(1);
    for text in artifacts.values_mut() {
        if text.len() > share {
            *text = head(text, share);
        }
    }
}
