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
    /// Metrics left out of the score the thresholds are compared with: the
    /// database's feature dimensions, set by the run's config
    /// (`Config::resolve`), so that a cascade grades as the database does.
    /// Not a key of the file (a Slurm job's spec carries it on its own).
    #[serde(skip)]
    pub fitness_excludes: Vec<String>,
    /// Evaluations of every program, averaged: the spread of the samples
    /// gives each metric a standard error, so noisy scores are compared by
    /// more than the noise (`database.noise_z`). 1 evaluates once.
    pub repeats: u32,
    /// Most extra evaluations of one child whose score beats its cell's
    /// incumbent or the best program by less than the noise, before it is
    /// stored. 0 never evaluates again.
    pub max_confirmations: u32,
    /// Share of the iterations that may spend an extra evaluation on such a
    /// confirmation: 0.25 allows one for every four iterations.
    pub confirmation_budget: f64,
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
    /// Environment variables evaluation processes get besides PATH, LANG
    /// and LD_LIBRARY_PATH (e.g. where a model lives), and builds too (e.g.
    /// a native library's backend); they key the dependency cache.
    /// Candidates see them, so names that look like secrets are refused.
    pub env: BTreeMap<String, String>,
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
    /// Where evaluations run: `local` worker processes, or `slurm` jobs.
    pub executor: ExecutorKind,
    /// Settings of the Slurm executor (used when `executor: slurm`).
    pub slurm: SlurmConfig,
}

/// Which executor runs evaluations (`evaluator.executor`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    /// Worker processes on this machine.
    #[default]
    Local,
    /// One Slurm batch job per evaluation (see `openevolve_eval::slurm`).
    Slurm,
}

/// The `evaluator.slurm:` section: how evaluation jobs are submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlurmConfig {
    /// A directory the controller and every compute node see at the same
    /// path (NFS, Lustre, ...): staged binaries, job scripts and results.
    pub shared_dir: Option<String>,
    /// `--partition`; `None` for the cluster's default.
    pub partition: Option<String>,
    /// `--account`; `None` for the user's default.
    pub account: Option<String>,
    /// `--time` as Slurm reads it ("30", "1:30:00", "2-00:00:00"); `None`
    /// derives it from `timeout`, the cascade stages and `max_retries`.
    pub time_limit: Option<String>,
    /// `--cpus-per-task` of each evaluation job.
    pub cpus_per_task: u32,
    /// `--mem` ("4G", "500M"); `None` derives it from `memory_limit_mb`
    /// (plus headroom) or leaves it to the cluster's default.
    pub memory: Option<String>,
    /// `--gres`, e.g. "gpu:1" for one GPU per evaluation.
    pub gres: Option<String>,
    /// More sbatch flags, passed as given (e.g. ["--qos=short"]).
    pub extra_args: Vec<String>,
    /// Job names are `<prefix>-<source hash>`, so squeue shows whose they are.
    pub job_name_prefix: String,
    /// Seconds between looks at a job's state and result file.
    pub poll_interval: f64,
    /// Resubmissions of a job lost to a node failure, preemption or boot
    /// failure before the evaluation fails.
    pub max_requeues: u32,
    /// Seconds to wait for a finished job's result file to appear (shared
    /// file systems show other nodes' writes late).
    pub result_wait: f64,
    /// The `openevolve-slurm-job` executable to stage; `None` looks beside
    /// the running executable, then on PATH.
    pub job_runner: Option<String>,
}

impl Default for SlurmConfig {
    fn default() -> Self {
        Self {
            shared_dir: None,
            partition: None,
            account: None,
            time_limit: None,
            cpus_per_task: 1,
            memory: None,
            gres: None,
            extra_args: Vec::new(),
            job_name_prefix: "openevolve".into(),
            poll_interval: 2.0,
            max_requeues: 2,
            result_wait: 30.0,
            job_runner: None,
        }
    }
}

impl Default for EvaluatorConfig {
    fn default() -> Self {
        Self {
            timeout: 300.0,
            max_retries: 3,
            memory_limit_mb: None,
            cascade_evaluation: true,
            cascade_thresholds: vec![0.5, 0.75, 0.9],
            fitness_excludes: Vec::new(),
            repeats: 1,
            max_confirmations: 2,
            confirmation_budget: 0.5,
            parallel_evaluations: 1,
            use_llm_feedback: false,
            llm_feedback_weight: 0.1,
            enable_artifacts: true,
            max_artifact_storage: 100 * 1024 * 1024,
            evaluator_args: None,
            env: BTreeMap::new(),
            cpu_limit: None,
            max_output_bytes: 1024 * 1024,
            in_process: false,
            allow_network: false,
            parallel_builds: 2,
            executor: ExecutorKind::Local,
            slurm: SlurmConfig::default(),
        }
    }
}

/// Parts of a variable name that suggest a secret: candidates read the
/// evaluation environment, and must never see keys.
const SECRET_HINTS: [&str; 5] = ["KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL"];

/// Why `name` cannot be set for evaluations, if it cannot.
fn env_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Some("a variable name has letters, digits and `_` only".into());
    }
    if ["HOME", "TMPDIR", "PATH"].contains(&name) {
        return Some(format!("{name} is set by the evaluator host itself"));
    }
    let upper = name.to_ascii_uppercase();
    SECRET_HINTS.iter().find(|h| upper.contains(*h)).map(|h| {
        format!("looks like a secret (contains {h}); candidates can read the evaluation environment, so it is not passed")
    })
}

impl EvaluatorConfig {
    /// What the judge's candidate processes may use (and the judge itself).
    pub fn candidate_limits(&self) -> openevolve_sdk::confine::Limits {
        openevolve_sdk::confine::Limits {
            memory_mb: self.memory_limit_mb,
            cpu_seconds: self.cpu_limit.map(|c| c.ceil() as u64),
            allow_network: self.allow_network,
        }
    }

    /// Checks ranges that types alone cannot express: (key relative to
    /// `evaluator:`, what would be valid).
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut p = |key: &str, msg: String| problems.push((key.to_string(), msg));
        if !(self.timeout.is_finite() && self.timeout > 0.0) {
            p("timeout", format!("must be a positive number of seconds, got {}", self.timeout));
        }
        if self.repeats == 0 {
            p("repeats", "must be at least 1 (one evaluation per program), got 0".into());
        }
        if !(0.0..=1.0).contains(&self.confirmation_budget) {
            p(
                "confirmation_budget",
                format!("must be a share between 0 and 1, got {}", self.confirmation_budget),
            );
        }
        if self.parallel_evaluations == 0 {
            p("parallel_evaluations", "must be at least 1, got 0".into());
        }
        if self.parallel_builds == 0 {
            p("parallel_builds", "must be at least 1, got 0".into());
        }
        if let Some(c) = self.cpu_limit
            && !(c.is_finite() && c > 0.0)
        {
            p("cpu_limit", format!("must be a positive number of seconds or null, got {c}"));
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
        for name in self.env.keys() {
            if let Some(problem) = env_name_problem(name) {
                p(&format!("env.{name}"), problem);
            }
        }
        if self.executor == ExecutorKind::Slurm {
            self.validate_slurm(&mut problems);
        }
        problems
    }

    fn validate_slurm(&self, problems: &mut Vec<(String, String)>) {
        let mut p = |key: &str, msg: String| problems.push((format!("slurm.{key}"), msg));
        let s = &self.slurm;
        if s.shared_dir.as_deref().is_none_or(|d| d.trim().is_empty()) {
            p(
                "shared_dir",
                "is required with `executor: slurm`: a directory every compute node can read".into(),
            );
        }
        if s.cpus_per_task == 0 {
            p("cpus_per_task", "must be at least 1, got 0".into());
        }
        if !(s.poll_interval.is_finite() && s.poll_interval > 0.0) {
            p("poll_interval", format!("must be a positive number of seconds, got {}", s.poll_interval));
        }
        if !(s.result_wait.is_finite() && s.result_wait >= 0.0) {
            p("result_wait", format!("must be zero or more seconds, got {}", s.result_wait));
        }
        let name_ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
        if s.job_name_prefix.is_empty() || !s.job_name_prefix.chars().all(name_ok) {
            p(
                "job_name_prefix",
                format!("must be letters, digits, '-', '_' or '.', got {:?}", s.job_name_prefix),
            );
        }
        if self.in_process {
            problems.push((
                "in_process".into(),
                "cannot be combined with `executor: slurm` (evaluations run in jobs, not in this process)"
                    .into(),
            ));
        }
    }
}
