//! The score (README.md states it for users; keep the two in step).
//!
//! - The rule: the candidate's validation loss must be within 1% (relative,
//!   either way) of the baseline's. Inside, `convergence` is 1.
//! - `efficiency` = clamp(0.5 + 0.25 × (0.7 × log2(speed) + 0.3 × log2(memory)), 0, 1),
//!   where speed = baseline / candidate training seconds (the judge's
//!   clock) and memory = baseline / candidate peak memory (resident; on a GPU, device) while
//!   training (the kernel's count), medians over the trials. Equal to
//!   the baseline is 0.5; twice as fast at equal memory is 0.675.
//! - Inside the rule: `combined_score` = 0.7 × convergence + 0.3 × efficiency,
//!   so from 0.7 to 1.
//! - Outside: `convergence` = max(0, 1 − (|difference| − 1%) / 9%) and
//!   `combined_score` = 0.5 × convergence, below 0.5, with no credit for
//!   speed: a candidate outside the rule never outscores one inside it.

use mlx_lora_eval::evaluation::{LOSS_TOLERANCE, LossRule, median, memory_growth_note};
use mlx_lora::experiment::Experiment;
use openevolve_sdk::EvaluationResult;

use crate::trial::TrialReport;

/// One run as the judge measured it, and its adapters' validation loss.
pub type Trial = mlx_lora_eval::runs::Trial<TrialReport>;

/// Model FLOPs per token position of one LoRA training step, as a multiple
/// of the forward's: the forward plus the backward pass's input gradients
/// (frozen weights need no weight gradients; the adapters' are negligible).
const TRAIN_FLOPS_PER_FORWARD: f64 = 2.0;

pub struct Measured<'a> {
    pub experiment: &'a Experiment,
    pub base_model_loss: f64,
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

/// Mean relative gap between two runs' per-step training losses.
fn curve_gap(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    if n == 0 || a.len() != b.len() {
        return f64::INFINITY;
    }
    a.iter().zip(b).map(|(x, y)| ((x - y).abs() / y.abs().max(1e-6)) as f64).sum::<f64>() / n as f64
}

/// Each run's training seconds, in the order they ran.
fn run_times(runs: &[Trial]) -> String {
    runs.iter().map(|t| format!("{:.2}", t.run.seconds)).collect::<Vec<_>>().join(", ")
}

pub fn score(m: &Measured) -> EvaluationResult {
    let seconds = |runs: &[Trial]| median(runs.iter().map(|t| t.run.seconds).collect());
    let peak = |runs: &[Trial]| median(runs.iter().map(|t| t.run.peak_memory_bytes as f64).collect());
    let loss = |runs: &[Trial]| median(runs.iter().map(|t| t.valid_loss).collect());
    let (base_loss, cand_loss) = (loss(m.baseline), loss(m.candidate));
    let rule = LossRule::judge(base_loss, cand_loss);
    let LossRule { relative, inside, convergence } = rule;
    let (base_s, cand_s) = (seconds(m.baseline), seconds(m.candidate));
    let (base_peak, cand_peak) = (peak(m.baseline), peak(m.candidate));
    let speed = base_s / cand_s;
    let memory = base_peak / cand_peak;
    let efficiency = (0.5 + 0.25 * (0.7 * speed.log2() + 0.3 * memory.log2())).clamp(0.0, 1.0);
    let combined = rule.combined(efficiency);
    // The same work for both: the baseline's tokens and positions (a
    // reference process's report).
    let reference = &m.baseline[0].run.report;
    let tokens = reference.train.tokens as f64;
    let train_flops =
        reference.train.positions as f64 * reference.forward_flops_per_position * TRAIN_FLOPS_PER_FORWARD;
    // The candidate's own word from here on: reported, not scored.
    let candidate_report = &m.candidate[0].run.report;
    let gap = curve_gap(&candidate_report.train.losses, &reference.train.losses);
    // Steady growth of active memory through the run: a leak, which a longer
    // run would pay for.
    let (growth_mb, leak_note) = memory_growth_note(&candidate_report.train.memory_trace);
    let mb = |bytes: f64| bytes / 1e6;

    let summary = format!(
        "experiment {} ({} steps, {} trials of each)\n\
         validation loss: baseline {base_loss:.5}, candidate {cand_loss:.5} ({:+.3}%; the rule allows ±{:.0}%); base model {:.5}\n\
         training: baseline {base_s:.2} s, candidate {cand_s:.2} s (speed ×{speed:.3}); {:.0} vs {:.0} tokens/s\n\
         runs (s): baseline {}; candidate {}\n\
         {} while training: baseline {:.1} MB, candidate {:.1} MB (×{memory:.3} leaner)\n\
         per-step training losses differ by {:.3}% on average\n\
         score: convergence {convergence:.3}, efficiency {efficiency:.3}, combined {combined:.4}{}{leak_note}",
        m.experiment.name,
        m.experiment.train.iters,
        m.baseline.len(),
        100.0 * relative,
        100.0 * LOSS_TOLERANCE,
        m.base_model_loss,
        tokens / base_s,
        tokens / cand_s,
        run_times(m.baseline),
        run_times(m.candidate),
        m.baseline[0].run.memory_source.describe(),
        mb(base_peak),
        mb(cand_peak),
        100.0 * gap,
        if inside { "" } else { "\nOUTSIDE the 1% rule: no credit for speed or memory" },
    );
    EvaluationResult::new()
        .metric("combined_score", combined)
        .metric("convergence", convergence)
        .metric("efficiency", efficiency)
        .metric("within_tolerance", if inside { 1.0 } else { 0.0 })
        .metric("baseline_valid_loss", base_loss)
        .metric("candidate_valid_loss", cand_loss)
        .metric("loss_relative_difference", relative)
        .metric("base_model_valid_loss", m.base_model_loss)
        .metric("speed_ratio", speed)
        .metric("memory_ratio", memory)
        .metric("baseline_train_seconds", base_s)
        .metric("candidate_train_seconds", cand_s)
        .metric("baseline_tokens_per_second", tokens / base_s)
        .metric("candidate_tokens_per_second", tokens / cand_s)
        .metric("baseline_peak_mb", mb(base_peak))
        .metric("candidate_peak_mb", mb(cand_peak))
        .metric("baseline_model_tflops", train_flops / base_s / 1e12)
        .metric("candidate_model_tflops", train_flops / cand_s / 1e12)
        .metric("train_loss_gap", gap)
        .metric("candidate_memory_growth_mb", growth_mb)
        .artifact("summary", summary)
}
