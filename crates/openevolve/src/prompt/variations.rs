//! Template stochasticity: each named placeholder gets one of its phrasings.
//! Choices come from a caller-given seed so a run can be replayed exactly.

use std::collections::BTreeMap;

/// SplitMix64: tiny, well-mixed, and fixed forever (choices must not change
/// when a dependency updates its generator).
#[derive(Debug, Clone)]
pub struct SeededChoice {
    state: u64,
}

impl SeededChoice {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// An index below `len` (`len` > 0).
    pub fn index(&mut self, len: usize) -> usize {
        (self.next_u64() % len as u64) as usize
    }
}

/// The seed for one prompt: the run's seed mixed with the iteration, so
/// neighbouring iterations do not get correlated choices.
pub fn prompt_seed(run_seed: u64, iteration: u64) -> u64 {
    SeededChoice::new(run_seed ^ SeededChoice::new(iteration).next_u64()).next_u64()
}

/// One phrasing per placeholder: the first when `stochastic` is off, else a
/// seeded pick. Placeholders are visited in name order, so adding one only
/// changes choices after it.
pub fn choose_phrasings(
    variations: &BTreeMap<String, Vec<String>>,
    stochastic: bool,
    seed: u64,
) -> BTreeMap<String, String> {
    let mut choice = SeededChoice::new(seed);
    variations
        .iter()
        .filter(|(_, phrasings)| !phrasings.is_empty())
        .map(|(name, phrasings)| {
            let index = if stochastic { choice.index(phrasings.len()) } else { 0 };
            (name.clone(), phrasings[index].clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variations() -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([
            ("ask".to_string(), (0..8).map(|i| format!("ask {i}")).collect()),
            ("intro".to_string(), (0..8).map(|i| format!("intro {i}")).collect()),
        ])
    }

    #[test]
    fn same_seed_same_choices_and_seeds_differ() {
        let v = variations();
        assert_eq!(choose_phrasings(&v, true, 7), choose_phrasings(&v, true, 7));
        let distinct: std::collections::BTreeSet<_> =
            (0..20).map(|i| choose_phrasings(&v, true, prompt_seed(42, i))).collect();
        assert!(distinct.len() > 5, "only {} distinct choices", distinct.len());
    }

    #[test]
    fn without_stochasticity_the_first_phrasing_is_used() {
        let chosen = choose_phrasings(&variations(), false, 99);
        assert_eq!(chosen["ask"], "ask 0");
        assert_eq!(chosen["intro"], "intro 0");
    }

    #[test]
    fn splitmix_output_is_fixed() {
        // Reference values of SplitMix64 seeded with 0.
        let mut choice = SeededChoice::new(0);
        assert_eq!(choice.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(choice.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }
}
