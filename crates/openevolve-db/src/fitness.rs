//! Fitness as the database uses it (the SDK's one rule), and the order of
//! programs it induces.

use std::cmp::Ordering;

use crate::{Metrics, ProgramId};

/// Fitness of a program: [`openevolve_sdk::fitness`], the one rule, with
/// the grid's feature dimensions left out of the mean; NaN means "no score"
/// (nothing to average, or a NaN score), and such programs rank last.
pub fn fitness(metrics: &Metrics, feature_dimensions: &[String]) -> f64 {
    openevolve_sdk::fitness(metrics, feature_dimensions).unwrap_or(f64::NAN)
}

/// [`fitness`] and its standard error (0 without noise).
pub(crate) fn fitness_with_stderr(metrics: &Metrics, feature_dimensions: &[String]) -> (f64, f64) {
    match openevolve_sdk::fitness_with_stderr(metrics, feature_dimensions) {
        Some(f) => (f.value, f.stderr),
        None => (f64::NAN, 0.0),
    }
}

/// What the database ranks a program by: its fitness less `noise_z`
/// standard errors, so that a program takes a cell or the lead only by more
/// than the noise; without noise, its fitness. NaN stays NaN (no score).
pub(crate) fn ranking_fitness(fitness: f64, stderr: f64, noise_z: f64) -> f64 {
    if stderr > 0.0 { fitness - noise_z * stderr } else { fitness }
}

/// `a` is strictly fitter than `b`: NaN is never fitter, and any number is
/// fitter than NaN.
pub(crate) fn strictly_fitter(a: f64, b: f64) -> bool {
    match (a.is_nan(), b.is_nan()) {
        (true, _) => false,
        (false, true) => true,
        (false, false) => a > b,
    }
}

/// A program's place in a ranking. Ascending order runs from worst to best:
/// NaN first, then by fitness, and among equal fitness the older program
/// (smaller id) counts as better, so an incumbent keeps its place on ties.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rank {
    pub fitness: f64,
    pub id: ProgramId,
}

impl Rank {
    pub fn new(fitness: f64, id: ProgramId) -> Self {
        Self { fitness, id }
    }
}

impl Ord for Rank {
    fn cmp(&self, other: &Self) -> Ordering {
        let by_fitness = match (self.fitness.is_nan(), other.fitness.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => self.fitness.total_cmp(&other.fitness),
        };
        by_fitness.then_with(|| other.id.cmp(&self.id))
    }
}

impl PartialOrd for Rank {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Rank {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Rank {}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(pairs: &[(&str, f64)]) -> Metrics {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn combined_score_wins_over_other_metrics() {
        let m = metrics(&[("combined_score", 0.25), ("speed", 10.0)]);
        assert_eq!(fitness(&m, &[]), 0.25);
    }

    #[test]
    fn mean_excludes_feature_dimensions() {
        let m = metrics(&[("a", 1.0), ("b", 3.0), ("memory", 100.0)]);
        assert_eq!(fitness(&m, &["memory".to_string()]), 2.0);
    }

    #[test]
    fn no_metrics_or_nan_rank_last() {
        assert!(fitness(&Metrics::new(), &[]).is_nan());
        let worst_number = Rank::new(f64::NEG_INFINITY, 5);
        let nan = Rank::new(f64::NAN, 1);
        assert!(nan < worst_number);
        assert!(strictly_fitter(f64::NEG_INFINITY, f64::NAN));
        assert!(!strictly_fitter(f64::NAN, f64::NAN));
        assert!(!strictly_fitter(1.0, 1.0));
    }

    #[test]
    fn ties_favour_the_older_program() {
        assert!(Rank::new(1.0, 2) < Rank::new(1.0, 1));
    }
}
