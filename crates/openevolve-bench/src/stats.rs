//! The statistics a bench reports over seeds. Every function takes plain
//! scores (higher is better) and ignores NaN, which stands for "no score".

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Resamples of the bootstrap: enough that the interval's ends move by less
/// than a thousandth of the spread from one seed of the resampler to another.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// The values that are numbers, sorted.
pub fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Median of the values (NaN when there are none).
pub fn median(values: &[f64]) -> f64 {
    let v = sorted(values);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Mean of the values (NaN when there are none).
pub fn mean(values: &[f64]) -> f64 {
    let v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    v.iter().sum::<f64>() / v.len() as f64
}

/// A 95% percentile-bootstrap interval for the mean over seeds: the mean of
/// `values` resampled with replacement, [`BOOTSTRAP_RESAMPLES`] times, and
/// the 2.5th and 97.5th percentiles of those means. The resampler is seeded,
/// so a report is reproducible. With few seeds the interval is narrow
/// because it can only recombine what was seen: read it with the count.
pub fn bootstrap_mean_interval(values: &[f64], seed: u64) -> (f64, f64) {
    let v = sorted(values);
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| (0..v.len()).map(|_| v[rng.random_range(0..v.len())]).sum::<f64>() / v.len() as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let at = |q: f64| means[((q * (means.len() - 1) as f64).round() as usize).min(means.len() - 1)];
    (at(0.025), at(0.975))
}

/// How often a run of arm A ends above a run of arm B: over every pair of
/// their runs, 1 for a win, ½ for a tie (the probability of superiority).
/// NaN when either has no scores.
pub fn win_rate(a: &[f64], b: &[f64]) -> f64 {
    let (a, b) = (sorted(a), sorted(b));
    if a.is_empty() || b.is_empty() {
        return f64::NAN;
    }
    let wins: f64 = a
        .iter()
        .flat_map(|x| {
            b.iter().map(move |y| {
                if x > y {
                    1.0
                } else if x == y {
                    0.5
                } else {
                    0.0
                }
            })
        })
        .sum();
    wins / (a.len() * b.len()) as f64
}

/// The first index at which a best-so-far curve reaches `threshold`.
pub fn first_reach(best: &[f64], threshold: f64) -> Option<usize> {
    best.iter().position(|&b| b >= threshold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn medians_and_means_skip_missing_scores() {
        assert_eq!(median(&[3.0, f64::NAN, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[f64::NAN]).is_nan());
        assert_eq!(mean(&[1.0, 2.0, f64::NAN, 6.0]), 3.0);
    }

    #[test]
    fn win_rates_count_ties_as_half() {
        assert_eq!(win_rate(&[2.0, 2.0], &[1.0, 1.0]), 1.0);
        assert_eq!(win_rate(&[1.0], &[1.0]), 0.5);
        assert_eq!(win_rate(&[1.0, 3.0], &[2.0]), 0.5);
        assert!(win_rate(&[], &[1.0]).is_nan());
    }

    #[test]
    fn a_curve_reaches_a_threshold_where_it_first_meets_it() {
        assert_eq!(first_reach(&[0.1, 0.5, 0.5, 0.9], 0.5), Some(1));
        assert_eq!(first_reach(&[0.1, 0.2], 0.5), None);
    }

    #[test]
    fn the_bootstrap_interval_is_reproducible_and_covers_a_known_mean() {
        let values: Vec<f64> = (0..40).map(|i| (i % 10) as f64).collect();
        let (lo, hi) = bootstrap_mean_interval(&values, 1);
        assert_eq!((lo, hi), bootstrap_mean_interval(&values, 1));
        // Mean 4.5, standard error about 0.45: the interval is about ±0.9.
        assert!(lo < 4.5 && 4.5 < hi && hi - lo > 1.2 && hi - lo < 2.4, "{lo} {hi}");
    }

    proptest! {
        #[test]
        fn win_rates_of_two_arms_add_up_to_one(
            a in prop::collection::vec(0.0f64..1.0, 1..8),
            b in prop::collection::vec(0.0f64..1.0, 1..8),
        ) {
            prop_assert!((win_rate(&a, &b) + win_rate(&b, &a) - 1.0).abs() < 1e-12);
        }

        #[test]
        fn the_bootstrap_interval_lies_within_the_values(v in prop::collection::vec(-5.0f64..5.0, 1..10)) {
            let (lo, hi) = bootstrap_mean_interval(&v, 7);
            let s = sorted(&v);
            // A mean of equal values may round a last bit past them.
            let eps = 1e-12;
            prop_assert!(s[0] - eps <= lo && lo <= hi && hi <= s[s.len() - 1] + eps);
        }
    }
}
