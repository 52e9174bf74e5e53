//! The database's deterministic random stream. Draws use our own range
//! functions on raw ChaCha8 output, so a seed gives the same samples whatever
//! version of `rand` is around; the position in the stream is saved with the
//! database so a resumed run continues it.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

pub(crate) struct DeterministicRng {
    seed: u64,
    inner: ChaCha8Rng,
}

impl DeterministicRng {
    pub fn new(seed: u64, word_pos: u128) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_word_pos(word_pos);
        Self { seed, inner }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn word_pos(&self) -> u128 {
        self.inner.get_word_pos()
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.inner.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n) for n > 0, without modulo bias (rejection sampling).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0) has no values to draw");
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.inner.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resuming_at_a_saved_position_continues_the_stream() {
        let mut a = DeterministicRng::new(7, 0);
        let _ = (a.below(10), a.unit());
        let mut b = DeterministicRng::new(7, a.word_pos());
        for _ in 0..20 {
            assert_eq!(a.below(1000), b.below(1000));
        }
    }

    #[test]
    fn draws_stay_in_range() {
        let mut r = DeterministicRng::new(1, 0);
        for n in 1..200 {
            assert!(r.below(n) < n);
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
