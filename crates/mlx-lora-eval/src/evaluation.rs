//! What the MLX examples' evaluators share: their arguments, the
//! alternation of baseline and candidate runs, the loss rule, and the
//! summary helpers. How one run is driven and measured is [`crate::runs`].

use serde_json::{Map, Value};

use mlx_lora::experiment::SIZES;
use mlx_lora::train::{MemorySample, memory_growth};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The standard implementation, compiled into the evaluator.
    Baseline,
    Candidate,
}

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::Baseline => "baseline",
            Variant::Candidate => "candidate",
        }
    }
}

/// `evaluator_args` of an MLX example: the experiment's size and the trials.
#[derive(Debug, Clone)]
pub struct EvaluatorArgs {
    /// One of [`mlx_lora::experiment::SIZES`]: `tiny` (CPU, CI), `full` or
    /// `gpu` (a GPU).
    pub size: String,
    /// Runs of each variant.
    pub trials: usize,
}

const KEYS: [&str; 2] = ["size", "trials"];

impl EvaluatorArgs {
    /// Parses the JSON object openevolve passes (`None`: all defaults).
    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        let raw: Map<String, Value> = match text {
            None => Map::new(),
            Some(t) => {
                serde_json::from_str(t).map_err(|e| format!("evaluator_args: not a JSON object: {e}"))?
            }
        };
        let bad = |key: &str, want: &str| format!("evaluator_args.{key}: expected {want}, got {}", raw[key]);
        for key in raw.keys() {
            if !KEYS.contains(&key.as_str()) {
                return Err(format!("evaluator_args.{key}: unknown; this evaluator takes {KEYS:?}"));
            }
        }
        let size = match raw.get("size") {
            None => "tiny".to_string(),
            Some(Value::String(s)) if SIZES.contains(&s.as_str()) => s.clone(),
            Some(_) => return Err(bad("size", &format!("one of {SIZES:?}"))),
        };
        let trials = match raw.get("trials") {
            None if size == "tiny" => 2,
            None => 3,
            Some(v) => match v.as_u64() {
                Some(n @ 1..=20) => n as usize,
                _ => return Err(bad("trials", "a whole number from 1 to 20")),
            },
        };
        Ok(Self { size, trials })
    }
}

/// Fails early and clearly when the model or the data are missing, saying
/// where an evaluator's config tells the worker they are.
pub fn require_model_and_data() -> Result<(), String> {
    let hint = |e: mlx_lora::Error| format!("{e} (config.yaml's evaluator.env says where)");
    mlx_lora::paths::smollm2_gguf().map_err(hint)?;
    mlx_lora::paths::wordnet_dir().map_err(hint)?;
    Ok(())
}

/// Relative validation-loss difference the training examples allow.
pub const LOSS_TOLERANCE: f64 = 0.01;
/// Where `convergence` reaches 0 outside the rule.
const LOSS_ZERO: f64 = 0.10;

/// The training examples' correctness rule: the candidate's validation loss
/// within [`LOSS_TOLERANCE`] (relative, either way) of the baseline's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossRule {
    /// (candidate − baseline) / baseline.
    pub relative: f64,
    pub inside: bool,
    /// 1 inside; outside, max(0, 1 − (|relative| − 1%) / 9%).
    pub convergence: f64,
}

impl LossRule {
    pub fn judge(baseline_loss: f64, candidate_loss: f64) -> Self {
        let relative = (candidate_loss - baseline_loss) / baseline_loss;
        let inside = relative.abs() <= LOSS_TOLERANCE;
        let convergence = if inside {
            1.0
        } else {
            (1.0 - (relative.abs() - LOSS_TOLERANCE) / (LOSS_ZERO - LOSS_TOLERANCE)).max(0.0)
        };
        Self { relative, inside, convergence }
    }

    /// `combined_score` for an `efficiency` in [0, 1]: 0.7 + 0.3 ×
    /// efficiency inside the rule, 0.5 × convergence outside, so a
    /// candidate outside never outscores one inside.
    pub fn combined(&self, efficiency: f64) -> f64 {
        if self.inside { 0.7 + 0.3 * efficiency } else { 0.5 * self.convergence }
    }
}

/// The candidate's memory growth over its run ([`memory_growth`]): the MB
/// projected over the run, and a line for the summary when it looks like
/// a leak (empty otherwise). Reported, not scored.
pub fn memory_growth_note(trace: &[MemorySample]) -> (f64, String) {
    let growth = memory_growth(trace);
    let mb = growth.map_or(0.0, |g| g.projected_bytes / 1e6);
    let note = match growth {
        Some(g) if g.leaking => {
            format!("\nthe candidate's active memory grows steadily ({mb:.1} MB over the run): a leak?")
        }
        _ => String::new(),
    };
    (mb, note)
}

/// What the training runs of an evaluation gave, or why the candidate's
/// stopped.
pub enum Runs<R> {
    Done { baseline: Vec<R>, candidate: Vec<R> },
    CandidateFailed(String),
}

/// `trials` runs of each variant, alternating which goes first so that
/// drift in the machine's speed falls on both. `run` gets the variant and
/// the trial's number. A baseline failure is the evaluator's error; a
/// candidate failure ends the runs and is the candidate's.
pub fn alternate_trials<R>(
    trials: usize,
    mut run: impl FnMut(Variant, usize) -> Result<R, String>,
) -> Result<Runs<R>, String> {
    let (mut baseline, mut candidate) = (Vec::new(), Vec::new());
    for t in 0..trials {
        let order = if t % 2 == 0 {
            [Variant::Candidate, Variant::Baseline]
        } else {
            [Variant::Baseline, Variant::Candidate]
        };
        for variant in order {
            match (variant, run(variant, t)) {
                (Variant::Baseline, Ok(report)) => baseline.push(report),
                (Variant::Baseline, Err(e)) => return Err(format!("the baseline run failed: {e}")),
                (Variant::Candidate, Ok(report)) => candidate.push(report),
                (Variant::Candidate, Err(e)) => return Ok(Runs::CandidateFailed(e)),
            }
        }
    }
    Ok(Runs::Done { baseline, candidate })
}

/// The median (the mean of the middle two for an even count); NaN when empty.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loss_rule_credits_efficiency_only_inside_one_percent() {
        let inside = LossRule::judge(2.0, 2.019);
        assert!(inside.inside && inside.convergence == 1.0);
        assert!((inside.combined(0.5) - 0.85).abs() < 1e-12);
        // 5.5% off: halfway from the 1% edge to the 10% zero.
        let outside = LossRule::judge(2.0, 1.89);
        assert!(!outside.inside && (outside.convergence - 0.5).abs() < 1e-9, "{outside:?}");
        assert_eq!(outside.combined(1.0), outside.combined(0.0));
        assert!(outside.combined(1.0) < inside.combined(0.0));
        assert_eq!(LossRule::judge(2.0, 2.4).convergence, 0.0);
    }
}
