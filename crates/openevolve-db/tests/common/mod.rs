//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

use openevolve_db::{DatabaseConfig, FeatureBins, Metrics, Mutation, NewProgram, ProgramId};

/// A small grid (complexity × score, 3 × 3 bins) where cells fill up fast.
pub fn small_config(num_islands: usize, population_size: usize, archive_size: usize) -> DatabaseConfig {
    DatabaseConfig {
        num_islands,
        population_size,
        archive_size,
        feature_dimensions: vec!["complexity".into(), "score".into()],
        feature_bins: FeatureBins::All(3),
        feature_ranges: BTreeMap::from([("complexity".into(), [0.0, 90.0]), ("score".into(), [0.0, 1.0])]),
        random_seed: Some(42),
        migration_interval: 5,
        migration_rate: 0.5,
        ..DatabaseConfig::default()
    }
}

pub fn score(s: f64) -> Metrics {
    Metrics::from([("combined_score".to_string(), s)])
}

pub fn program(
    code: impl Into<String>,
    island: usize,
    fitness: f64,
    parent: Option<ProgramId>,
) -> NewProgram {
    NewProgram {
        code: code.into(),
        language: "rust".into(),
        parent_id: parent,
        island,
        generation: parent.map_or(0, |_| 1),
        iteration_found: 1,
        metrics: score(fitness),
        artifacts: BTreeMap::new(),
        model: Some("test-model".into()),
        mutation: if parent.is_some() { Mutation::Diff } else { Mutation::Rewrite },
        prompt: Some("make it faster".into()),
        behaviour: None,
        samples: 1,
    }
}

pub fn initial(code: &str, fitness: f64) -> NewProgram {
    NewProgram { mutation: Mutation::Initial, ..program(code, 0, fitness, None) }
}
