//! A run's config, resolved once: what the controller and every layer it
//! drives read. A [`Config`] is what was written (with the command line's
//! overrides); a [`RunConfig`] adds the run's seed, which the database owns,
//! and everything derived from the rest, and cannot be changed afterwards.

use std::ops::Deref;

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
