//! What the MLX examples' evaluators share: their arguments, the role a
//! process plays, training runs in child processes of their own, and the
//! alternation of baseline and candidate runs.
//!
//! An evaluation is several processes so that each run's peak memory is its
//! own: the evaluator's worker re-runs its own executable per training run,
//! in the worker's `run` mode, with the role added to its arguments. The
//! child's limits and environment are the worker's.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::train::{MemorySample, memory_growth};

/// The artifact in which a training run's child process reports itself.
pub const REPORT_ARTIFACT: &str = "trial_report";

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

#[derive(Debug, Clone)]
pub enum Role {
    /// The whole evaluation (what openevolve asks for).
    Evaluate,
    /// One training run in a child process: train, save the adapters there;
    /// `check` first compares the candidate's parts with the reference.
    Train { variant: Variant, adapters: PathBuf, check: bool },
}

/// `evaluator_args` of an MLX example: the experiment's size and the trials.
#[derive(Debug, Clone)]
pub struct EvaluatorArgs {
    /// `tiny` (CPU, CI) or `full` (GPU).
    pub size: String,
    /// Runs of each variant.
    pub trials: usize,
    pub role: Role,
    /// The arguments as given, passed on to children.
    raw: Map<String, Value>,
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
            if !KEYS.contains(&key.as_str()) && !key.starts_with("role") {
                return Err(format!("evaluator_args.{key}: unknown; this evaluator takes {KEYS:?}"));
            }
        }
        let size = match raw.get("size") {
            None => "tiny".to_string(),
            Some(Value::String(s)) if s == "tiny" || s == "full" => s.clone(),
            Some(_) => return Err(bad("size", "\"tiny\" or \"full\"")),
        };
        let trials = match raw.get("trials") {
            None if size == "tiny" => 2,
            None => 3,
            Some(v) => match v.as_u64() {
                Some(n @ 1..=20) => n as usize,
                _ => return Err(bad("trials", "a whole number from 1 to 20")),
            },
        };
        let role = match raw.get("role").and_then(Value::as_str) {
            None | Some("evaluate") => Role::Evaluate,
            Some(v @ ("baseline" | "candidate")) => Role::Train {
                variant: if v == "baseline" { Variant::Baseline } else { Variant::Candidate },
                adapters: PathBuf::from(
                    raw.get("role_adapters").and_then(Value::as_str).ok_or("role_adapters missing")?,
                ),
                check: raw.get("role_check").and_then(Value::as_bool).unwrap_or(false),
            },
            Some(other) => return Err(format!("role {other:?} is not one of this evaluator's")),
        };
        Ok(Self { size, trials, role, raw })
    }

    /// The arguments a child playing `role` gets.
    pub fn for_child(&self, role: &Role) -> String {
        let mut raw = self.raw.clone();
        if let Role::Train { variant, adapters, check } = role {
            raw.insert("role".into(), json!(variant.name()));
            raw.insert("role_adapters".into(), json!(adapters.to_string_lossy()));
            raw.insert("role_check".into(), json!(check));
        }
        Value::Object(raw).to_string()
    }
}

/// Fails early and clearly when the model or the data are missing, saying
/// where an evaluator's config tells the worker they are.
pub fn require_model_and_data() -> Result<(), String> {
    let hint = |e: crate::Error| format!("{e} (config.yaml's evaluator.env says where)");
    crate::paths::smollm2_gguf().map_err(hint)?;
    crate::paths::wordnet_dir().map_err(hint)?;
    Ok(())
}

/// Runs one training run in a child process: this executable in the
/// worker's `run` mode on `candidate` (the candidate library's path), as
/// `role`. Returns the child's report (its [`REPORT_ARTIFACT`]), or why there
/// is none, as a sentence for the record.
pub fn run_child<R: DeserializeOwned>(
    candidate: impl AsRef<std::ffi::OsStr>,
    args: &EvaluatorArgs,
    role: Role,
) -> Result<R, String> {
    let Role::Train { variant, adapters, .. } = &role else {
        return Err("only training runs go to child processes".into());
    };
    let name = variant.name();
    let result = adapters.with_extension("result.json");
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the evaluator's executable: {e}"))?;
    let status = Command::new(exe)
        .arg("run")
        .arg(candidate)
        .arg("0")
        .arg(&result)
        .arg(args.for_child(&role))
        .status()
        .map_err(|e| format!("cannot start the {name} run: {e}"))?;
    if !status.success() {
        return Err(match (status.code(), std::os::unix::process::ExitStatusExt::signal(&status)) {
            (_, Some(signal)) => format!("the {name} training process was killed by signal {signal}"),
            (code, None) => format!("the {name} training process exited with {code:?}"),
        });
    }
    let text = std::fs::read_to_string(&result)
        .map_err(|e| format!("the {name} run left no result ({}): {e}", result.display()))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| format!("the {name} run's result: {e}"))?;
    if value["status"].as_str() != Some("ok") {
        return Err(value["message"].as_str().unwrap_or("no message").to_string());
    }
    let report = value["artifacts"][REPORT_ARTIFACT]
        .as_str()
        .ok_or_else(|| format!("the {name} run reported no {REPORT_ARTIFACT}"))?;
    serde_json::from_str(report).map_err(|e| format!("the {name} run's {REPORT_ARTIFACT}: {e}"))
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
/// drift in the machine's speed falls on both; the first candidate run
/// checks the candidate (`run`'s last argument). A baseline failure is the
/// evaluator's error; a candidate failure ends the runs and is the
/// candidate's.
pub fn alternate_trials<R>(
    trials: usize,
    work: &Path,
    mut run: impl FnMut(Role) -> Result<R, String>,
) -> Result<Runs<R>, String> {
    let (mut baseline, mut candidate) = (Vec::new(), Vec::new());
    for t in 0..trials {
        let order = if t % 2 == 0 {
            [Variant::Candidate, Variant::Baseline]
        } else {
            [Variant::Baseline, Variant::Candidate]
        };
        for variant in order {
            let adapters = work.join(format!("{}-{t}.safetensors", variant.name()));
            let check = variant == Variant::Candidate && t == 0;
            match (variant, run(Role::Train { variant, adapters, check })) {
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

/// The process's peak resident memory so far (Linux's `VmHWM`), in bytes:
/// what the system gave it, MLX's cache and the program included.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
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
