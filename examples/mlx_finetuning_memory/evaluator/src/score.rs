//! The score (README.md states it for users; keep the two in step).
//!
//! - The rule: the candidate's validation loss must be within 1% (relative,
//!   either way) of the baseline's. Inside, `convergence` is 1.
//! - The measure: tokens per second per MB of peak memory (resident; on a GPU, device) while
//!   training, the candidate's over the baseline's
//!   (`throughput_per_mb_ratio` = speed × memory ratio, medians over the
//!   trials). The judge times the training; the kernel counts the memory.
//!   Both train the same tokens.
//! - `efficiency` = clamp(0.5 + 0.125 × log2(throughput_per_mb_ratio), 0, 1):
//!   equal to the baseline is 0.5, four times better 0.75.
//! - Inside the rule: `combined_score` = 0.7 + 0.3 × efficiency.
//! - Outside: `convergence` = max(0, 1 − (|difference| − 1%) / 9%) and
//!   `combined_score` = 0.5 × convergence, below 0.5, with no credit for
//!   speed or memory.

use mlx_lora_eval::evaluation::{LOSS_TOLERANCE, LossRule, median, memory_growth_note};
use mlx_lora::experiment::Experiment;
use openevolve_sdk::EvaluationResult;

use crate::trial::TrialReport;

/// One run as the judge measured it, and its adapters' validation loss.
pub type Trial = mlx_lora_eval::runs::Trial<TrialReport>;

pub struct Measured<'a> {
    pub experiment: &'a Experiment,
    pub baseline: &'a [Trial],
    pub candidate: &'a [Trial],
}

/// A candidate that failed before it could be measured.
pub fn rejected(why: &str) -> EvaluationResult {
    EvaluationResult::new()
        .metric("combined_score", 0.0)
        .metric("convergence", 0.0)
        .metric("within_tolerance", 0.0)
        .artifact("rejected", why)
}

/// Medians of one variant's runs.
struct Summary {
    seconds: f64,
    peak_mb: f64,
    loss: f64,
}

impl Summary {
    fn of(runs: &[Trial]) -> Self {
        Self {
            seconds: median(runs.iter().map(|t| t.run.seconds).collect()),
            peak_mb: median(runs.iter().map(|t| t.run.peak_memory_bytes as f64).collect()) / 1e6,
            loss: median(runs.iter().map(|t| t.valid_loss).collect()),
        }
    }
}

pub fn score(m: &Measured) -> EvaluationResult {
    let base = Summary::of(m.baseline);
    let cand = Summary::of(m.candidate);
    // The same work for both: the baseline's tokens (a reference process's report).
    let (base_report, cand_report) = (&m.baseline[0].run.report, &m.candidate[0].run.report);
    let tokens = base_report.train.tokens as f64;
    let (base_tps, cand_tps) = (tokens / base.seconds, tokens / cand.seconds);
    let (base_per_mb, cand_per_mb) = (base_tps / base.peak_mb, cand_tps / cand.peak_mb);
    let ratio = cand_per_mb / base_per_mb;
    let rule = LossRule::judge(base.loss, cand.loss);
    let LossRule { relative, inside, convergence } = rule;
    let efficiency = (0.5 + 0.125 * ratio.log2()).clamp(0.0, 1.0);
    let combined = rule.combined(efficiency);
    // The candidate's own word from here on: reported, not scored.
    let (growth_mb, leak_note) = memory_growth_note(&cand_report.train.memory_trace);
    let times = |runs: &[Trial]| runs.iter().map(|t| format!("{:.2}", t.run.seconds)).collect::<Vec<_>>();
    let settings = serde_json::to_string_pretty(&cand_report.settings).expect("plain data");
    let summary = format!(
        "experiment {} ({} steps of {} examples, {} trials of each)\n\
         validation loss: baseline {:.5}, candidate {:.5} ({:+.3}%; the rule allows ±{:.0}%)\n\
         throughput: baseline {base_tps:.0}, candidate {cand_tps:.0} tokens/s (×{:.3}); runs (s): {:?} vs {:?}\n\
         {} while training: baseline {:.1} MB, candidate {:.1} MB (×{:.3} leaner)\n\
         tokens/s per MB: baseline {base_per_mb:.3}, candidate {cand_per_mb:.3} (×{ratio:.3})\n\
         positions through the model: baseline {}, candidate {} (padding included)\n\
         score: convergence {convergence:.3}, efficiency {efficiency:.3}, combined {combined:.4}{}{leak_note}",
        m.experiment.name,
        m.experiment.train.iters,
        mlx_lora::settings::step_examples(&m.experiment.train),
        m.baseline.len(),
        base.loss,
        cand.loss,
        100.0 * relative,
        100.0 * LOSS_TOLERANCE,
        cand_tps / base_tps,
        times(m.baseline),
        times(m.candidate),
        m.baseline[0].run.memory_source.describe(),
        base.peak_mb,
        cand.peak_mb,
        base.peak_mb / cand.peak_mb,
        base_report.train.positions,
        cand_report.train.positions,
        if inside { "" } else { "\nOUTSIDE the 1% rule: no credit for speed or memory" },
    );
    EvaluationResult::new()
        .metric("combined_score", combined)
        .metric("convergence", convergence)
        .metric("efficiency", efficiency)
        .metric("within_tolerance", if inside { 1.0 } else { 0.0 })
        .metric("baseline_valid_loss", base.loss)
        .metric("candidate_valid_loss", cand.loss)
        .metric("loss_relative_difference", relative)
        .metric("baseline_tokens_per_second", base_tps)
        .metric("candidate_tokens_per_second", cand_tps)
        .metric("speed_ratio", cand_tps / base_tps)
        .metric("baseline_peak_mb", base.peak_mb)
        .metric("candidate_peak_mb", cand.peak_mb)
        .metric("memory_ratio", base.peak_mb / cand.peak_mb)
        .metric("baseline_tokens_per_second_per_mb", base_per_mb)
        .metric("candidate_tokens_per_second_per_mb", cand_per_mb)
        .metric("throughput_per_mb_ratio", ratio)
        .metric("candidate_memory_growth_mb", growth_mb)
        .artifact("summary", summary)
        // The settings as a file `mlx-lora-run --settings` and
        // `TrainingSettings::from_json_file` read.
        .artifact("settings.json", settings)
}
