//! Deterministic numbers for model choice, request seeds and jitter, derived
//! from the run seed and the iteration. A fixed mixing function (not a library
//! RNG) keeps them the same across dependency upgrades, so resumed runs agree.

/// SplitMix64's finaliser applied to `a` combined with `b`: a well-spread u64
/// for every pair, different for different pairs in practice.
pub fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_add(0x9E37_79B9_7F4A_7C15).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in [0, 1) from a mixed value.
pub fn unit_interval(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// The seed sent with a request. Kept below 2^31 because some servers
/// (llama.cpp) store it in 32 bits and others in a signed integer.
pub fn request_seed(base: u64, stream: u64, iteration: u64, repeat: u64) -> u64 {
    mix(mix(mix(base, stream), iteration), repeat) & 0x7FFF_FFFF
}

/// The index chosen by `weights` for the uniform number `u` in [0, 1); `None`
/// when no weight is positive.
pub fn weighted_index(weights: &[f64], u: f64) -> Option<usize> {
    let total: f64 = weights.iter().filter(|w| **w > 0.0).sum();
    if total <= 0.0 {
        return None;
    }
    let mut target = u * total;
    for (i, w) in weights.iter().enumerate().filter(|(_, w)| **w > 0.0) {
        if target < *w {
            return Some(i);
        }
        target -= w;
    }
    // Rounding can leave `target` a hair above the last weight.
    weights.iter().rposition(|w| *w > 0.0)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn request_seeds_differ_across_iterations_and_repeats() {
        let seeds: HashSet<u64> =
            (0..1000).flat_map(|i| (0..3).map(move |r| request_seed(42, 0, i, r))).collect();
        assert_eq!(seeds.len(), 3000);
        assert!(seeds.iter().all(|s| *s < 1 << 31));
        assert_ne!(request_seed(42, 0, 5, 0), request_seed(42, 1, 5, 0));
        assert_eq!(request_seed(42, 0, 5, 0), request_seed(42, 0, 5, 0));
    }

    #[test]
    fn weighted_index_follows_weights() {
        let weights = [0.0, 3.0, 1.0];
        assert_eq!(weighted_index(&weights, 0.0), Some(1));
        assert_eq!(weighted_index(&weights, 0.74), Some(1));
        assert_eq!(weighted_index(&weights, 0.76), Some(2));
        assert_eq!(weighted_index(&weights, 0.999_999_999), Some(2));
        assert_eq!(weighted_index(&[0.0, 0.0], 0.5), None);
    }
}
