//! Feature dimensions and the MAP-Elites grid.
//!
//! A dimension's bins split either the range the user fixed
//! (`feature_ranges`) or the range of the values seen so far. A fixed range
//! never moves: values outside it fall into the edge bins. An observed range
//! widens to take in each new value, so the bins spread over what the
//! programs actually are, and when it widens the database re-bins every
//! program from its stored values (deterministic, so resume and replay stay
//! exact). Fixed defaults (complexity over [0, 10000]) put every program of
//! a small problem into one bin, which switched quality-diversity off.
//! Databases made before observed ranges keep those defaults.
//!
//! `diversity` is the mean Jaccard distance between the program's set of token
//! bigrams and those of a reference set (the `diversity_reference_size` fittest
//! programs). Unlike character-count differences it sees what changed, not how
//! much text there is, and it costs O(tokens) per reference, where token-level
//! edit distance would cost O(tokens²).

use std::collections::BTreeMap;

use crate::{DatabaseConfig, DbError, Metrics};

/// What a dimension's bins split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Range {
    /// Set by the user (or, in an older database, by the built-in default).
    Fixed([f64; 2]),
    /// The lowest and highest value seen; `None` before the first.
    Observed(Option<[f64; 2]>),
}

/// The dimensions, bins and ranges of a run's grid.
#[derive(Debug, Clone)]
pub(crate) struct FeatureSpace {
    pub dimensions: Vec<String>,
    bins: Vec<u32>,
    ranges: Vec<Range>,
}

impl FeatureSpace {
    /// Observed ranges where the config fixes none; `legacy`: a database
    /// made before observed ranges, which keeps the built-in fixed defaults.
    pub fn new(config: &DatabaseConfig, legacy: bool) -> Self {
        let dimensions = config.feature_dimensions.clone();
        let bins = dimensions.iter().map(|d| config.feature_bins.for_dimension(d).max(1)).collect();
        let ranges = dimensions
            .iter()
            .map(|d| match config.feature_ranges.get(d) {
                Some(range) => Range::Fixed(*range),
                None if legacy => Range::Fixed(crate::config::legacy_default_range(d)),
                None => Range::Observed(None),
            })
            .collect();
        Self { dimensions, bins, ranges }
    }

    /// Each dimension's current range (what the bins split now); `None`:
    /// observed, and nothing seen yet.
    pub fn ranges(&self) -> Vec<Option<[f64; 2]>> {
        self.ranges
            .iter()
            .map(|r| match *r {
                Range::Fixed(range) => Some(range),
                Range::Observed(range) => range,
            })
            .collect()
    }

    /// Restores observed ranges saved by [`Self::ranges`].
    pub fn restore_ranges(&mut self, saved: &[Option<[f64; 2]>]) {
        for (range, saved) in self.ranges.iter_mut().zip(saved) {
            if let Range::Observed(seen) = range {
                *seen = *saved;
            }
        }
    }

    /// Widens the observed ranges to take in `values` (non-finite ones are
    /// ignored); true when one moved, and every program must be re-binned.
    pub fn widen(&mut self, values: &[f64]) -> bool {
        let mut moved = false;
        for (range, &v) in self.ranges.iter_mut().zip(values) {
            let Range::Observed(seen) = range else { continue };
            if !v.is_finite() {
                continue;
            }
            let next = match *seen {
                None => [v, v],
                Some([low, high]) => [low.min(v), high.max(v)],
            };
            if *seen != Some(next) {
                *seen = Some(next);
                moved = true;
            }
        }
        moved
    }

    pub fn uses_diversity(&self) -> bool {
        self.dimensions.iter().any(|d| d == "diversity")
    }

    /// Raw feature values, in dimension order. `diversity` is computed only
    /// when the grid has that dimension, through `diversity`.
    pub fn values(
        &self,
        code: &str,
        metrics: &Metrics,
        fitness: f64,
        diversity: impl FnOnce() -> f64,
    ) -> Result<Vec<f64>, DbError> {
        let mut diversity = Some(diversity);
        self.dimensions
            .iter()
            .map(|dim| match dim.as_str() {
                "complexity" => Ok(code.chars().count() as f64),
                "diversity" => Ok(diversity.take().map_or(0.0, |f| f())),
                "score" => Ok(fitness),
                other => metrics.get(other).copied().ok_or_else(|| DbError::MissingFeatureMetric {
                    dimension: other.to_string(),
                    available: if metrics.is_empty() {
                        "no metrics".to_string()
                    } else {
                        metrics.keys().cloned().collect::<Vec<_>>().join(", ")
                    },
                }),
            })
            .collect()
    }

    /// The bin of each value. NaN goes to bin 0, and so does every value
    /// while a range is a single point.
    pub fn bins_of(&self, values: &[f64]) -> Vec<u32> {
        values
            .iter()
            .zip(self.bins.iter().zip(self.ranges()))
            .map(|(v, (&bins, range))| {
                let Some([low, high]) = range else { return 0 };
                if v.is_nan() || high <= low {
                    return 0;
                }
                let t = (v - low) / (high - low) * bins as f64;
                (t.floor().max(0.0) as u64).min(bins as u64 - 1) as u32
            })
            .collect()
    }

    /// Coordinates folded into one integer key (mixed radix).
    pub fn cell_key(&self, coords: &[u32]) -> u64 {
        coords.iter().zip(&self.bins).fold(0u64, |key, (&c, &b)| key * b as u64 + c as u64)
    }

    pub fn coords_of(&self, mut key: u64) -> Vec<u32> {
        let mut coords = vec![0u32; self.bins.len()];
        for (slot, &b) in coords.iter_mut().zip(&self.bins).rev() {
            *slot = (key % b as u64) as u32;
            key /= b as u64;
        }
        coords
    }

    /// Chebyshev distance between two cells, in bins.
    pub fn cell_distance(&self, a: u64, b: u64) -> u32 {
        let (a, b) = (self.coords_of(a), self.coords_of(b));
        a.iter().zip(&b).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0)
    }

    /// What must not change for an existing database: dimensions, bins and
    /// fixed ranges, as a comparable description.
    pub fn describe(&self) -> String {
        let parts: BTreeMap<usize, String> = self
            .dimensions
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let range = match self.ranges[i] {
                    Range::Fixed([low, high]) => format!("[{low},{high}]"),
                    Range::Observed(_) => "observed".to_string(),
                };
                (i, format!("{d}:{}:{range}", self.bins[i]))
            })
            .collect();
        parts.into_values().collect::<Vec<_>>().join(" ")
    }
}

/// Sorted, deduplicated hashes of a program's token bigrams.
pub(crate) fn token_shingles(code: &str) -> Vec<u64> {
    let tokens = tokenize(code);
    let mut shingles: Vec<u64> = if tokens.len() < 2 {
        tokens.iter().map(|t| fnv1a(t.as_bytes())).collect()
    } else {
        tokens.windows(2).map(|w| fnv1a(w[0].as_bytes()) ^ fnv1a(w[1].as_bytes()).rotate_left(17)).collect()
    };
    shingles.sort_unstable();
    shingles.dedup();
    shingles
}

/// Identifiers and numbers are one token each; every other non-space
/// character is a token of its own.
fn tokenize(code: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start: Option<usize> = None;
    for (i, ch) in code.char_indices() {
        let word = ch.is_alphanumeric() || ch == '_';
        match (word, start) {
            (true, None) => start = Some(i),
            (true, Some(_)) => {}
            (false, Some(s)) => {
                tokens.push(&code[s..i]);
                start = None;
            }
            (false, None) => {}
        }
        if !word && !ch.is_whitespace() {
            tokens.push(&code[i..i + ch.len_utf8()]);
        }
    }
    if let Some(s) = start {
        tokens.push(&code[s..]);
    }
    tokens
}

/// Jaccard distance of two sorted, deduplicated sets; 0 for two empty sets.
pub(crate) fn jaccard_distance(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - common;
    if union == 0 { 0.0 } else { 1.0 - common as f64 / union as f64 }
}

/// 64-bit FNV-1a: small, and fixed by its definition, so stored hashes stay
/// valid across builds.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for &b in bytes {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FeatureBins;

    fn space(dims: &[&str], bins: u32) -> FeatureSpace {
        let config = DatabaseConfig {
            feature_dimensions: dims.iter().map(|s| s.to_string()).collect(),
            feature_bins: FeatureBins::All(bins),
            ..DatabaseConfig::default()
        };
        FeatureSpace::new(&config, true)
    }

    #[test]
    fn bins_are_fixed_and_clamped() {
        let s = space(&["complexity", "score"], 10);
        assert_eq!(s.bins_of(&[0.0, 0.0]), vec![0, 0]);
        assert_eq!(s.bins_of(&[999.0, 0.55]), vec![0, 5]);
        assert_eq!(s.bins_of(&[1e9, -3.0]), vec![9, 0]);
        assert_eq!(s.bins_of(&[10_000.0, 1.0]), vec![9, 9]);
    }

    #[test]
    fn observed_ranges_widen_only_for_new_extremes_and_split_what_was_seen() {
        let mut s = FeatureSpace::new(
            &DatabaseConfig {
                feature_dimensions: vec!["complexity".into(), "score".into()],
                feature_bins: FeatureBins::All(4),
                feature_ranges: [("score".to_string(), [0.0, 1.0])].into(),
                ..DatabaseConfig::default()
            },
            false,
        );
        assert!(s.widen(&[1000.0, 0.5]));
        // A single point: everything in bin 0 until the range has width.
        assert_eq!(s.bins_of(&[1000.0, 0.5]), vec![0, 2]);
        assert!(s.widen(&[1008.0, 9.0]), "complexity widened; score is fixed");
        assert!(!s.widen(&[1004.0, -1.0]) && !s.widen(&[f64::NAN, 0.1]));
        assert_eq!(s.ranges(), vec![Some([1000.0, 1008.0]), Some([0.0, 1.0])]);
        let bins: Vec<u32> =
            [1000.0, 1002.0, 1004.0, 1006.0, 1008.0].iter().map(|&c| s.bins_of(&[c, 0.0])[0]).collect();
        assert_eq!(bins, vec![0, 1, 2, 3, 3]);
        assert_eq!(s.describe(), "complexity:4:observed score:4:[0,1]");
    }

    #[test]
    fn cell_keys_round_trip() {
        let config = DatabaseConfig {
            feature_dimensions: vec!["a".into(), "b".into(), "c".into()],
            feature_bins: FeatureBins::PerDimension(
                [("a".into(), 3), ("b".into(), 5), ("c".into(), 2)].into(),
            ),
            ..DatabaseConfig::default()
        };
        let s = FeatureSpace::new(&config, false);
        let mut seen = std::collections::BTreeSet::new();
        for a in 0..3 {
            for b in 0..5 {
                for c in 0..2 {
                    let key = s.cell_key(&[a, b, c]);
                    assert_eq!(s.coords_of(key), vec![a, b, c]);
                    seen.insert(key);
                }
            }
        }
        assert_eq!(seen.len(), 30);
        assert_eq!(s.cell_distance(s.cell_key(&[0, 0, 0]), s.cell_key(&[2, 1, 1])), 2);
    }

    #[test]
    fn unknown_dimension_without_metric_is_a_clear_error() {
        let s = space(&["complexity", "memory_mb"], 4);
        let err = s.values("fn f() {}", &Metrics::from([("speed".into(), 1.0)]), 1.0, || 0.0);
        let msg = err.unwrap_err().to_string();
        assert!(msg.contains("memory_mb") && msg.contains("speed"), "{msg}");
    }

    #[test]
    fn token_distance_sees_changes_not_length() {
        let a = token_shingles("fn add(a: i32, b: i32) -> i32 { a + b }");
        let same_len = token_shingles("fn mul(x: i32, y: i32) -> i32 { x * y }");
        let renamed_spacing = token_shingles("fn add(a: i32,   b: i32) -> i32 {\n a + b\n}");
        assert_eq!(jaccard_distance(&a, &renamed_spacing), 0.0);
        assert!(jaccard_distance(&a, &same_len) > 0.3);
        assert_eq!(jaccard_distance(&a, &[]), 1.0);
    }
}
