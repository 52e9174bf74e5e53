//! The `evaluator:` section of config.yaml. Keys, meanings and defaults follow
//! OpenEvolve's `EvaluatorConfig`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How candidates are evaluated (`evaluator:`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvaluatorConfig {
    /// Wall-clock seconds an evaluation may take before its process is killed.
    pub timeout: f64,
    /// Retries after an evaluator error (not after a timeout).
    pub max_retries: u32,
    /// Memory an evaluation process may use, in MiB; `None` for no limit.
    pub memory_limit_mb: Option<u64>,
    /// Run cheap stages first and stop children below `cascade_thresholds`.
    pub cascade_evaluation: bool,
    pub cascade_thresholds: Vec<f64>,
    /// Evaluations running at once.
    pub parallel_evaluations: usize,
    /// Ask `llm.evaluator_models` to review each program.
    pub use_llm_feedback: bool,
    /// Share of the LLM review in the combined score.
    pub llm_feedback_weight: f64,
    /// Keep artifacts (build errors, output) from evaluations.
    pub enable_artifacts: bool,
    /// Most artifact bytes stored per program.
    pub max_artifact_storage: u64,
    /// Extra arguments handed to the evaluator as JSON.
    pub evaluator_args: Option<BTreeMap<String, serde_json::Value>>,
    /// CPU seconds one evaluation stage may use (RLIMIT_CPU); `None` for no
    /// limit beyond `timeout`.
    pub cpu_limit: Option<f64>,
    /// Bytes of stdout, and of stderr, an evaluation may print; past that it
    /// is killed and fails with "output limit".
    pub max_output_bytes: u64,
    /// Run the evaluator inside the host process (no timeout, limits or
    /// containment: for trusted evaluators and candidates only).
    pub in_process: bool,
    /// Let evaluations open TCP connections (refused by default where the
    /// kernel's Landlock can refuse them).
    pub allow_network: bool,
    /// Candidate builds running at once (besides the evaluations).
    pub parallel_builds: usize,
}

impl Default for EvaluatorConfig {
    fn default() -> Self {
        Self {
            timeout: 300.0,
            max_retries: 3,
            memory_limit_mb: None,
            cascade_evaluation: true,
            cascade_thresholds: vec![0.5, 0.75, 0.9],
            parallel_evaluations: 1,
            use_llm_feedback: false,
            llm_feedback_weight: 0.1,
            enable_artifacts: true,
            max_artifact_storage: 100 * 1024 * 1024,
            evaluator_args: None,
            cpu_limit: None,
            max_output_bytes: 1024 * 1024,
            in_process: false,
            allow_network: false,
            parallel_builds: 2,
        }
    }
}

impl EvaluatorConfig {
    /// Checks ranges that types alone cannot express: (key relative to
    /// `evaluator:`, what would be valid).
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut p = |key: &str, msg: String| problems.push((key.to_string(), msg));
        if !(self.timeout.is_finite() && self.timeout > 0.0) {
            p("timeout", format!("must be a positive number of seconds, got {}", self.timeout));
        }
        if self.parallel_evaluations == 0 {
            p("parallel_evaluations", "must be at least 1, got 0".into());
        }
        if self.parallel_builds == 0 {
            p("parallel_builds", "must be at least 1, got 0".into());
        }
        if let Some(c) = self.cpu_limit {
            if !(c.is_finite() && c > 0.0) {
                p("cpu_limit", format!("must be a positive number of seconds or null, got {c}"));
            }
        }
        if self.max_output_bytes == 0 {
            p("max_output_bytes", "must be at least 1".into());
        }
        if self.memory_limit_mb == Some(0) {
            p("memory_limit_mb", "must be at least 1 MiB, or null for no limit".into());
        }
        if !(0.0..=1.0).contains(&self.llm_feedback_weight) {
            p("llm_feedback_weight", format!("must be between 0 and 1, got {}", self.llm_feedback_weight));
        }
        for (i, t) in self.cascade_thresholds.iter().enumerate() {
            if !t.is_finite() {
                p(&format!("cascade_thresholds[{i}]"), "must be a finite number".into());
            }
        }
        if self.cascade_thresholds.len() > 3 {
            p(
                "cascade_thresholds",
                format!(
                    "has {} entries; an evaluator has at most 3 stages, so give at most 3",
                    self.cascade_thresholds.len()
                ),
            );
        }
        problems
    }
}
