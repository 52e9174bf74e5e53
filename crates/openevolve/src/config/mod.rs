//! The run configuration: the same keys, nesting and defaults as OpenEvolve's
//! config.yaml, so its users can bring their files. Loading is strict: an
//! unknown key is an error naming its line and the nearest known key, and a key
//! OpenEvolve accepts that we do not implement is a warning.

mod env;
mod keys;
mod load;
mod marks;
mod migrate;
mod run;
mod sections;

use serde::{Deserialize, Serialize};

pub use load::{ConfigError, ConfigProblem, LoadedConfig};
pub use migrate::{Migrated, migrate};
pub use openevolve_db::{DatabaseConfig, FeatureBins};
pub use openevolve_eval::EvaluatorConfig;
pub use openevolve_llm::{LlmConfig, ModelConfig};
pub use run::{ModelChoice, RunConfig};
pub use sections::{EvolutionTraceConfig, PromptConfig};

/// Everything a run is told, as read from config.yaml with defaults filled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Iterations (LLM proposals) before the run stops.
    pub max_iterations: u64,
    /// A checkpoint every this many iterations.
    pub checkpoint_interval: u64,
    /// DEBUG, INFO, WARNING, ERROR or CRITICAL.
    pub log_level: String,
    /// Folder for log files; `None` is `logs/` in the output directory.
    pub log_dir: Option<String>,
    /// Seed for every random choice; `None` draws one and records it.
    pub random_seed: Option<u64>,
    /// Language of the evolved program; only `rust` is evolved.
    pub language: Option<String>,
    /// Ask for SEARCH/REPLACE diffs (true) or rewrites of the regions
    /// (false); `None`: diffs, except with a local model
    /// ([`crate::diff::EvolutionMode::from_config`]).
    pub diff_based_evolution: Option<bool>,
    /// Whether a request may change every region or one region, chosen per
    /// iteration; `None`: one with a local model
    /// ([`crate::regions::RegionScope::from_config`]).
    pub region_scope: Option<crate::regions::RegionScope>,
    /// Children longer than this many characters are rejected.
    pub max_code_length: usize,
    /// Follow-up turns that give the model the compiler's errors when its
    /// child does not build, in the same iteration; 0 turns them off.
    /// `None`: [`LOCAL_REPAIR_TURNS`] with a local model, 1 otherwise (read
    /// it through [`Config::repair_turns`]).
    pub repair_turns: Option<u32>,
    /// The temperature of a repair turn for a child that did not build, in
    /// place of the model's own; `None`: [`LOCAL_BUILD_REPAIR_TEMPERATURE`]
    /// with a local model, the model's own otherwise (read it through
    /// [`Config::build_repair_temperature`]).
    pub build_repair_temperature: Option<f64>,
    /// How far starts may run ahead of commits: iteration `i` starts once
    /// iteration `i - start_window` has committed, so a slow evaluation
    /// holds back only the starts `start_window` after it. `None`:
    /// [`START_WINDOW_PER_SLOT`] × `evaluator.parallel_evaluations`, or
    /// `parallel_evaluations` where that is 1 or the model is local (read
    /// it through [`Config::start_window`]).
    pub start_window: Option<u64>,
    /// Stop after this many iterations without improvement; `None` (or, as
    /// in OpenEvolve, a number below 1) never.
    pub early_stopping_patience: Option<i64>,
    /// Smallest gain in `early_stopping_metric` that counts as improvement.
    pub convergence_threshold: f64,
    pub early_stopping_metric: String,
    pub llm: LlmConfig,
    pub prompt: PromptConfig,
    pub database: DatabaseConfig,
    pub evaluator: EvaluatorConfig,
    pub evolution_trace: EvolutionTraceConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_iterations: 10_000,
            checkpoint_interval: 100,
            log_level: "INFO".into(),
            log_dir: None,
            random_seed: Some(42),
            language: None,
            diff_based_evolution: None,
            region_scope: None,
            max_code_length: 10_000,
            repair_turns: None,
            build_repair_temperature: None,
            start_window: None,
            early_stopping_patience: None,
            convergence_threshold: 0.001,
            early_stopping_metric: "combined_score".into(),
            llm: LlmConfig::default(),
            prompt: PromptConfig::default(),
            database: DatabaseConfig::default(),
            evaluator: EvaluatorConfig::default(),
            evolution_trace: EvolutionTraceConfig::default(),
        }
    }
}

/// Repair turns with a local model, where the config sets none: a small
/// model's first answer often does not build (measured in the guide's
/// Measurements chapter).
pub const LOCAL_REPAIR_TURNS: u32 = 2;

/// A build repair's temperature with a local model, where the config sets
/// none: a repair wants the fix, not a new idea.
pub const LOCAL_BUILD_REPAIR_TEMPERATURE: f64 = 0.3;

/// The start window per evaluation slot, where the config sets none: on a
/// heavy-tailed benchmark it keeps the slots about as busy as refilling
/// each at once would (measured in the guide's "Running at scale").
pub const START_WINDOW_PER_SLOT: u64 = 4;

/// Log levels config.yaml accepts (OpenEvolve's Python names and tracing's).
pub const LOG_LEVELS: [&str; 7] = ["TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL"];

/// Maps a config log level to a `tracing` filter directive, or `None` when
/// the name is not one of [`LOG_LEVELS`].
pub fn tracing_level(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_uppercase().as_str() {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARN" | "WARNING" => "warn",
        "ERROR" | "CRITICAL" => "error",
        _ => return None,
    })
}

impl Config {
    /// Fills what OpenEvolve derives after loading: the legacy model keys are
    /// folded into `llm.models`, models inherit `llm:`-level settings, and an
    /// unset database or LLM seed takes the run's seed.
    pub fn resolve(&mut self) {
        self.early_stopping_patience = self.early_stopping_patience.filter(|n| *n >= 1);
        if self.llm.random_seed.is_none() {
            self.llm.random_seed = self.random_seed;
        }
        self.llm.resolve_models();
        if self.llm.local_slots.is_none() {
            let parallel = self.evaluator.parallel_evaluations;
            self.llm.local_slots = Some(openevolve_llm::local::default_slots(parallel));
        }
        if self.database.random_seed.is_none() {
            self.database.random_seed = self.random_seed;
        }
    }

    /// The evaluator section an executor is built from: a cascade grades
    /// children as the database ranks them, so the fitness leaves out the
    /// feature dimensions.
    pub fn evaluator_config(&self) -> EvaluatorConfig {
        EvaluatorConfig {
            fitness_excludes: self.database.feature_dimensions.clone(),
            ..self.evaluator.clone()
        }
    }

    /// Whether a model of the ensemble runs on this machine (the local
    /// provider): the run policy's defaults for small CPU models follow it.
    pub fn uses_local_model(&self) -> bool {
        self.llm.models.iter().any(ModelConfig::is_local)
    }

    /// Repair turns per iteration: `repair_turns`, or the run policy's
    /// default for the models in use.
    pub fn repair_turns(&self) -> u32 {
        self.repair_turns.unwrap_or(if self.uses_local_model() { LOCAL_REPAIR_TURNS } else { 1 })
    }

    /// The temperature of build repairs: `build_repair_temperature`, or the
    /// run policy's default for the models in use (`None`: the model's own).
    pub fn build_repair_temperature(&self) -> Option<f64> {
        self.build_repair_temperature.or(self.uses_local_model().then_some(LOCAL_BUILD_REPAIR_TEMPERATURE))
    }

    /// Iterations that may be under way at once: `start_window`, or the run
    /// policy's default. One slot keeps a run sequential, each parent drawn
    /// after the previous child is stored; a local model answers one
    /// request at a time on the machine that also builds, so with it starts
    /// wait for commits as evaluations do.
    pub fn start_window(&self) -> u64 {
        let slots = self.evaluator.parallel_evaluations.max(1) as u64;
        let sequential = slots == 1 || self.uses_local_model();
        let default = if sequential { slots } else { START_WINDOW_PER_SLOT * slots };
        self.start_window.unwrap_or(default).max(1)
    }

    /// Replaces the model ensemble with the one model `name` (the CLI's
    /// `--model`), keeping the `llm:`-level settings.
    pub fn use_single_model(&mut self, name: &str) {
        let model = ModelConfig { name: Some(name.to_string()), ..ModelConfig::default() };
        self.llm.models = vec![model.clone()];
        self.llm.evaluator_models = vec![model];
        self.llm.resolve_models();
    }

    /// Whether the config names an LLM endpoint (models, or an `api_base`
    /// other than the default); a run of a config that names none uses the
    /// default local model ([`Self::use_default_local_model`]).
    pub fn names_an_endpoint(&self) -> bool {
        !self.llm.models.is_empty() || self.llm.api_base != LlmConfig::default().api_base
    }

    /// Replaces the model ensemble with the default local model, which runs
    /// on this machine with no account: what a run uses when nothing names
    /// an endpoint.
    pub fn use_default_local_model(&mut self) {
        let name = format!("{}{}", openevolve_llm::LOCAL_PREFIX, openevolve_llm::local::DEFAULT_MODEL);
        self.use_single_model(&name);
    }

    /// Points every model at `api_base` (the CLI's `--api-base`).
    pub fn use_api_base(&mut self, api_base: &str) {
        self.llm.api_base = api_base.to_string();
        for m in self.llm.models.iter_mut().chain(self.llm.evaluator_models.iter_mut()) {
            m.api_base = Some(api_base.to_string());
        }
    }

    /// A copy fit for printing and logging: every API key is masked.
    pub fn masked(&self) -> Config {
        let mut c = self.clone();
        let mask = |k: &mut Option<String>| {
            if k.is_some() {
                *k = Some("********".into());
            }
        };
        mask(&mut c.llm.api_key);
        for m in c.llm.models.iter_mut().chain(c.llm.evaluator_models.iter_mut()) {
            mask(&mut m.api_key);
        }
        c
    }

    /// Checks values and relations between them; every problem is reported,
    /// not just the first.
    pub fn validate(&self) -> Problems {
        let mut p = Problems::default();
        if self.checkpoint_interval == 0 {
            p.error("checkpoint_interval", "must be at least 1 iteration, got 0");
        }
        if tracing_level(&self.log_level).is_none() {
            p.error(
                "log_level",
                format!("must be one of {}, got `{}`", LOG_LEVELS.join(", "), self.log_level),
            );
        }
        if let Some(lang) = self.language.as_deref().filter(|l| !l.eq_ignore_ascii_case("rust")) {
            p.warn(
                "language",
                format!("openevolve-rs evolves Rust programs; `{lang}` is ignored and `run` treats the program as Rust"),
            );
        }
        if self.max_code_length == 0 {
            p.error("max_code_length", "must be at least 1 character, got 0");
        }
        if let Some(t) = self.build_repair_temperature.filter(|t| !(0.0..=2.0).contains(t)) {
            p.error("build_repair_temperature", format!("must be between 0 and 2, got {t}"));
        }
        match self.start_window {
            Some(0) => p.error("start_window", "must be at least 1 iteration, got 0"),
            Some(w) if (w as usize) < self.evaluator.parallel_evaluations => p.warn(
                "start_window",
                format!(
                    "{w} is below evaluator.parallel_evaluations ({}): at most {w} evaluations run at once",
                    self.evaluator.parallel_evaluations
                ),
            ),
            _ => {}
        }
        if let Some(n) = self.early_stopping_patience.filter(|n| *n < 1) {
            p.warn(
                "early_stopping_patience",
                format!("{n} disables early stopping (as in OpenEvolve); write null to say so"),
            );
        }
        if !(self.convergence_threshold.is_finite() && self.convergence_threshold >= 0.0) {
            p.error(
                "convergence_threshold",
                format!("must be 0 or more, got {}", self.convergence_threshold),
            );
        }
        if self.early_stopping_metric.is_empty() {
            p.error("early_stopping_metric", "must name a metric, e.g. combined_score");
        }
        for (key, msg) in self.llm.validate() {
            p.error(&format!("llm.{key}"), msg);
        }
        for (key, msg) in self.database.validate() {
            p.error(&format!("database.{key}"), msg);
        }
        self.prompt.validate(&mut p, self.database.num_islands);
        for (key, msg) in self.evaluator.validate() {
            p.error(&format!("evaluator.{key}"), msg);
        }
        self.evolution_trace.validate(&mut p);
        p
    }
}

/// Errors and warnings found while checking a config, each tied to a key path
/// such as `database.num_islands` or `llm.models[0].weight`.
#[derive(Debug, Default)]
pub struct Problems {
    pub errors: Vec<(String, String)>,
    pub warnings: Vec<(String, String)>,
}

impl Problems {
    pub(crate) fn error(&mut self, key: &str, message: impl Into<String>) {
        self.errors.push((key.to_string(), message.into()));
    }

    pub(crate) fn warn(&mut self, key: &str, message: impl Into<String>) {
        self.warnings.push((key.to_string(), message.into()));
    }
}
