//! The `database:` section of config.yaml. Keys, meanings and defaults follow
//! OpenEvolve's `DatabaseConfig`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Settings of the program database (`database:` in config.yaml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Database file; `None` puts `evolution.db` in the run's output directory.
    pub db_path: Option<String>,
    /// Store each prompt and LLM answer with the program it produced.
    pub log_prompts: bool,
    /// Most programs kept; programs owning no grid cell are evicted first.
    pub population_size: usize,
    /// Size of the global elite archive.
    pub archive_size: usize,
    /// Number of islands (separate populations).
    pub num_islands: usize,
    /// Fraction of parents drawn from the elite archive as the best of the archive.
    pub elite_selection_ratio: f64,
    /// Fraction of parents drawn uniformly from the island.
    pub exploration_ratio: f64,
    /// Fraction of parents drawn from the elite archive, preferring the island.
    pub exploitation_ratio: f64,
    /// MAP-Elites feature dimensions: `complexity`, `diversity`, `score` or a
    /// metric name the evaluator returns.
    pub feature_dimensions: Vec<String>,
    /// Bins per dimension: one number for all, or a map of dimension to bins.
    pub feature_bins: FeatureBins,
    /// Fixed `[low, high]` range per dimension that its bins split evenly;
    /// values outside fall into the edge bins. Missing dimensions take the
    /// built-in range: `complexity` [0, 10000] characters, `diversity` [0, 1],
    /// `score` and evaluator metrics [0, 1]. Fixed ranges keep a program's cell
    /// from drifting as the population grows.
    pub feature_ranges: BTreeMap<String, [f64; 2]>,
    /// Programs in the reference set that `diversity` measures distance to.
    pub diversity_reference_size: usize,
    /// Islands exchange their best every this many generations.
    pub migration_interval: u64,
    /// Fraction of an island's best programs sent to its neighbour.
    pub migration_rate: f64,
    /// Seed for sampling; `None` takes the top-level `random_seed`.
    pub random_seed: Option<u64>,
    /// Artifacts larger than this many bytes are stored as files, not inline.
    pub artifact_size_threshold: usize,
    /// Folder for large artifacts; `None` puts them beside the database file.
    pub artifacts_base_path: Option<String>,
    /// How many standard errors a program must beat another by to take its
    /// cell or its place as the best, where the evaluator reports noise
    /// (`<metric>_stderr`, or `evaluator.repeats`). Programs rank by their
    /// fitness less this many standard errors; without noise, by fitness.
    pub noise_z: f64,
    /// Several objectives: each island keeps a Pareto front of them, and
    /// parents drawn for exploitation come from it, by crowding distance.
    /// Empty: `combined_score` alone, as without.
    pub objectives: Vec<crate::Objective>,
    /// Metrics that must be above 0 for a program to be on a front (a rule
    /// such as the training examples' `within_tolerance`).
    pub constraints: Vec<String>,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            db_path: None,
            log_prompts: true,
            population_size: 1000,
            archive_size: 100,
            num_islands: 5,
            elite_selection_ratio: 0.1,
            exploration_ratio: 0.2,
            exploitation_ratio: 0.7,
            feature_dimensions: vec!["complexity".into(), "diversity".into()],
            feature_bins: FeatureBins::All(10),
            feature_ranges: BTreeMap::new(),
            diversity_reference_size: 20,
            migration_interval: 50,
            migration_rate: 0.1,
            random_seed: None,
            artifact_size_threshold: 32 * 1024,
            artifacts_base_path: None,
            noise_z: 2.0,
            objectives: Vec::new(),
            constraints: Vec::new(),
        }
    }
}

/// `feature_bins`: a single count for every dimension, or one per dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FeatureBins {
    All(u32),
    PerDimension(BTreeMap<String, u32>),
}

impl FeatureBins {
    /// Bins for `dimension`; dimensions missing from a per-dimension map get 10,
    /// OpenEvolve's default.
    pub fn for_dimension(&self, dimension: &str) -> u32 {
        match self {
            FeatureBins::All(n) => *n,
            FeatureBins::PerDimension(map) => map.get(dimension).copied().unwrap_or(10),
        }
    }
}

/// A value [`DatabaseConfig::validate`] refuses: the key
/// (relative to `database:`) and what would be valid.
pub type InvalidValue = (String, String);

impl DatabaseConfig {
    /// Checks ranges and relations that types alone cannot express.
    pub fn validate(&self) -> Vec<InvalidValue> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, key: &str, msg: String| {
            if !ok {
                problems.push((key.to_string(), msg));
            }
        };
        for (key, v) in [
            ("elite_selection_ratio", self.elite_selection_ratio),
            ("exploration_ratio", self.exploration_ratio),
            ("exploitation_ratio", self.exploitation_ratio),
            ("migration_rate", self.migration_rate),
        ] {
            check((0.0..=1.0).contains(&v), key, format!("must be between 0 and 1, got {v}"));
        }
        let sum = self.exploration_ratio + self.exploitation_ratio;
        let both_in_range =
            [self.exploration_ratio, self.exploitation_ratio].iter().all(|r| (0.0..=1.0).contains(r));
        check(
            !both_in_range || sum <= 1.0 + 1e-9,
            "exploitation_ratio",
            format!(
                "exploration_ratio + exploitation_ratio must be at most 1 (the rest is fitness-weighted sampling), got {sum}"
            ),
        );
        check(self.num_islands >= 1, "num_islands", "must be at least 1, got 0".into());
        for (i, objective) in self.objectives.iter().enumerate() {
            check(
                !objective.metric.is_empty(),
                &format!("objectives[{i}].metric"),
                "must name a metric the evaluator returns".into(),
            );
        }
        check(
            self.constraints.iter().all(|c| !c.is_empty()),
            "constraints",
            "each must name a metric the evaluator returns".into(),
        );
        check(
            self.noise_z.is_finite() && self.noise_z >= 0.0,
            "noise_z",
            format!("must be a number of standard errors, 0 or more, got {}", self.noise_z),
        );
        check(self.population_size >= 1, "population_size", "must be at least 1, got 0".into());
        check(self.archive_size >= 1, "archive_size", "must be at least 1, got 0".into());
        check(
            self.migration_interval >= 1,
            "migration_interval",
            "must be at least 1 generation, got 0".into(),
        );
        self.check_grid(&mut problems);
        problems
    }

    /// The feature grid's problems: dimensions, bins and fixed ranges.
    fn check_grid(&self, problems: &mut Vec<InvalidValue>) {
        let mut check = |ok: bool, key: &str, msg: String| {
            if !ok {
                problems.push((key.to_string(), msg));
            }
        };
        check(
            !self.feature_dimensions.is_empty(),
            "feature_dimensions",
            "must name at least one dimension, e.g. [complexity, diversity]".into(),
        );
        let mut seen = std::collections::HashSet::new();
        for dim in &self.feature_dimensions {
            check(seen.insert(dim), "feature_dimensions", format!("`{dim}` is listed twice"));
        }
        match &self.feature_bins {
            FeatureBins::All(n) => check(*n >= 1, "feature_bins", "must be at least 1, got 0".into()),
            FeatureBins::PerDimension(map) => {
                for (dim, n) in map {
                    check(*n >= 1, &format!("feature_bins.{dim}"), "must be at least 1, got 0".into());
                    check(
                        self.feature_dimensions.contains(dim),
                        &format!("feature_bins.{dim}"),
                        format!(
                            "`{dim}` is not in feature_dimensions ({})",
                            self.feature_dimensions.join(", ")
                        ),
                    );
                }
            }
        }
        for (dim, [low, high]) in &self.feature_ranges {
            check(
                low.is_finite() && high.is_finite() && low < high,
                &format!("feature_ranges.{dim}"),
                format!("must be [low, high] with finite low < high, got [{low}, {high}]"),
            );
            check(
                self.feature_dimensions.contains(dim),
                &format!("feature_ranges.{dim}"),
                format!("`{dim}` is not in feature_dimensions ({})", self.feature_dimensions.join(", ")),
            );
        }
    }
}

/// The fixed range a dimension without `feature_ranges` had before ranges
/// were observed; databases made then keep it.
pub(crate) fn legacy_default_range(dimension: &str) -> [f64; 2] {
    match dimension {
        "complexity" => [0.0, 10_000.0],
        _ => [0.0, 1.0],
    }
}
