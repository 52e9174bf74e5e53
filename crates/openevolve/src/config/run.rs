//! A run's config, resolved once: what the controller and every layer it
//! drives read. A [`Config`] is what was written (with the command line's
//! overrides); a [`RunConfig`] adds the run's seed, which the database owns,
//! and everything derived from the rest, and cannot be changed afterwards.

use std::ops::Deref;
use std::path::Path;

use openevolve_db::DatabaseConfig;

use super::Config;

/// A run's config with its seed, resolved ([`Config::resolve`]) once.
#[derive(Debug, Clone)]
pub struct RunConfig {
    config: Config,
    seed: u64,
}

impl RunConfig {
    /// `config` for a run whose seed is `seed` (the database's: the
    /// config's, or one drawn and stored when it gave none). The seed is the
    /// run's, the database's and, where they set none of their own, the
    /// models'.
    pub fn new(mut config: Config, seed: u64) -> Self {
        config.random_seed = Some(seed);
        config.database.random_seed = Some(seed);
        config.resolve();
        Self { config, seed }
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl Deref for RunConfig {
    type Target = Config;

    fn deref(&self) -> &Config {
        &self.config
    }
}

impl Config {
    /// The database section a run's database is opened with: the seed it
    /// asks for is `database.random_seed`, else `random_seed` (none: the
    /// database draws one and stores it).
    pub fn database_to_open(&self) -> DatabaseConfig {
        DatabaseConfig {
            random_seed: self.database.random_seed.or(self.random_seed),
            ..self.database.clone()
        }
    }
}

/// Which models a run asks, as the command line may say over the config.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModelChoice<'a> {
    /// `--model`: this one model replaces the ensemble.
    pub model: Option<&'a str>,
    /// `--api-base`: every model is asked there.
    pub api_base: Option<&'a str>,
    /// `--cache-dir`: local models are kept in its `models/` folder, unless
    /// `llm.local_model_dir` says where.
    pub cache_dir: Option<&'a Path>,
}

impl Config {
    /// Applies `choice` and the run policy for models: with no endpoint named
    /// anywhere (config or command line), the default local model, which
    /// runs on this machine with no account. Returns what a user should be
    /// told of the choices made for them.
    pub fn choose_models(&mut self, choice: ModelChoice<'_>) -> Vec<String> {
        // Decided before the overrides: does anything name a remote endpoint?
        let names_endpoint = self.names_an_endpoint() || choice.model.is_some() || choice.api_base.is_some();
        if let Some(model) = choice.model {
            self.use_single_model(model);
        }
        if let Some(base) = choice.api_base {
            self.use_api_base(base);
        }
        if let Some(dir) = choice.cache_dir.filter(|_| self.llm.local_model_dir.is_none()) {
            self.llm.local_model_dir = Some(dir.join("models").to_string_lossy().into_owned());
        }
        let mut notes = Vec::new();
        if !names_endpoint {
            self.use_default_local_model();
            notes.push(format!(
                "no LLM endpoint configured: using the local model {} on this CPU (no account needed). \
                 For another model give `--model NAME` (and `--api-base URL`, with OPENAI_API_KEY for a remote one)",
                openevolve_llm::local::DEFAULT_MODEL
            ));
        }
        // Local models get short answers and rewrites of the regions; the
        // library decides both (`LlmConfig::resolve_models`, `EvolutionMode`).
        if self.uses_local_model() && self.diff_based_evolution.is_none() {
            notes.push(
                "local model: rewrites of the EVOLVE-BLOCK regions (set `diff_based_evolution: true` for diffs)"
                    .into(),
            );
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_no_endpoint_named_the_run_asks_the_default_local_model_and_says_so() {
        let mut config = Config::default();
        let notes =
            config.choose_models(ModelChoice { cache_dir: Some(Path::new("/c")), ..ModelChoice::default() });
        assert!(config.uses_local_model(), "{:?}", config.llm.models);
        assert!(notes[0].contains("no LLM endpoint configured"), "{notes:?}");
        assert!(notes[1].contains("rewrites of the EVOLVE-BLOCK regions"), "{notes:?}");
        assert_eq!(config.llm.local_model_dir.as_deref(), Some("/c/models"));

        let mut config = Config::default();
        let choice = ModelChoice { model: Some("gpt-x"), api_base: Some("http://h/v1"), cache_dir: None };
        assert!(config.choose_models(choice).is_empty());
        let names: Vec<_> = config.llm.models.iter().map(|m| m.name.clone().unwrap_or_default()).collect();
        assert_eq!(names, ["gpt-x"]);
        assert_eq!(config.llm.models[0].api_base.as_deref(), Some("http://h/v1"));
    }

    #[test]
    fn a_run_config_has_one_seed_and_the_database_is_opened_with_the_one_asked_for() {
        let mut config = Config { random_seed: Some(3), ..Config::default() };
        assert_eq!(config.database_to_open().random_seed, Some(3));
        config.database.random_seed = Some(9);
        assert_eq!(config.database_to_open().random_seed, Some(9), "the section's own seed wins");
        let run = RunConfig::new(config, 9);
        assert_eq!((run.seed(), run.random_seed, run.database.random_seed), (9, Some(9), Some(9)));
        assert_eq!(run.llm.random_seed, Some(9), "the models take the run's seed");
        assert_eq!(run.evaluator_config().fitness_excludes, run.database.feature_dimensions);
    }
}
