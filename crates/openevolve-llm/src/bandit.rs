//! Model choice that learns (`llm.model_selection: ucb`): an upper
//! confidence bound over the ensemble on improvement per token, in the
//! spirit of ShinkaEvolve's dynamic model selection.
//!
//! Each model is an arm. After an iteration is committed the controller
//! reports what the model's answer earned: how much the child's fitness
//! rose above its parent's (0 when it did not, or when it failed) and the
//! tokens the call used. A model's value is its total gain per thousand
//! tokens, scaled so that the best model's is 1; the next request goes to
//! the model with the highest value plus `exploration · √(2 ln N / n)`
//! (N requests reported in all, n for this model). Every model is tried
//! once first, in config order. Only models with a weight above 0 take
//! part. The state is plain data, saved with the run and restored on
//! resume.

use serde::{Deserialize, Serialize};

/// What one model has earned so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    /// Requests whose outcome was reported.
    pub pulls: u64,
    /// Summed fitness gains over the parents.
    pub gain: f64,
    /// Summed tokens (prompt and completion).
    pub tokens: u64,
}

impl Arm {
    /// Gain per thousand tokens; 0 before any token.
    fn gain_per_ktoken(&self) -> f64 {
        if self.tokens == 0 { 0.0 } else { self.gain / (self.tokens as f64 / 1000.0) }
    }
}

/// The bandit over one ensemble's models, in config order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelBandit {
    pub exploration: f64,
    pub arms: Vec<Arm>,
    /// Models that may be chosen (weight above 0).
    pub eligible: Vec<bool>,
}

impl ModelBandit {
    pub fn new(eligible: Vec<bool>, exploration: f64) -> Self {
        Self { exploration, arms: vec![Arm::default(); eligible.len()], eligible }
    }

    /// The model to ask next; `None` when no model is eligible.
    pub fn choose(&self) -> Option<usize> {
        let candidates = || (0..self.arms.len()).filter(|&i| self.eligible[i]);
        if let Some(untried) = candidates().find(|&i| self.arms[i].pulls == 0) {
            return Some(untried);
        }
        let total: u64 = candidates().map(|i| self.arms[i].pulls).sum();
        let best = candidates().map(|i| self.arms[i].gain_per_ktoken()).fold(0.0, f64::max);
        let bound = |i: usize| {
            let arm = &self.arms[i];
            let value = if best > 0.0 { arm.gain_per_ktoken() / best } else { 0.0 };
            value + self.exploration * (2.0 * (total.max(1) as f64).ln() / arm.pulls as f64).sqrt()
        };
        // The first of equal bounds wins, so choices replay exactly.
        candidates().fold(None, |chosen: Option<usize>, i| match chosen {
            Some(c) if bound(c) >= bound(i) => Some(c),
            _ => Some(i),
        })
    }

    /// Reports the outcome of a request to model `index`: the child's gain
    /// over its parent (negative or missing gains count as 0) and the tokens
    /// it used.
    pub fn record(&mut self, index: usize, gain: f64, tokens: u64) {
        let Some(arm) = self.arms.get_mut(index) else { return };
        arm.pulls += 1;
        arm.gain += if gain.is_finite() { gain.max(0.0) } else { 0.0 };
        arm.tokens += tokens;
    }

    /// Each model's share of the reported requests: where the bandit has
    /// put its trust so far (equal shares before any report).
    pub fn shares(&self) -> Vec<f64> {
        let total: u64 = self.arms.iter().map(|a| a.pulls).sum();
        if total == 0 {
            let n = self.eligible.iter().filter(|&&e| e).count().max(1) as f64;
            return self.eligible.iter().map(|&e| if e { 1.0 / n } else { 0.0 }).collect();
        }
        self.arms.iter().map(|a| a.pulls as f64 / total as f64).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_model_is_tried_once_then_the_one_that_gains_more_per_token_is_asked_most() {
        let mut bandit = ModelBandit::new(vec![true, true, false], 0.5);
        let mut asked = [0u32; 3];
        for _ in 0..200 {
            let i = bandit.choose().unwrap();
            asked[i] += 1;
            // Model 0 gains 0.01 per answer, model 1 nothing; same tokens.
            bandit.record(i, if i == 0 { 0.01 } else { -0.2 }, 1000);
        }
        assert_eq!(asked[2], 0, "a model of weight 0 is never asked");
        assert!(asked[1] >= 1, "every eligible model is tried");
        assert!(asked[0] > 4 * asked[1], "{asked:?}");
        let shares = bandit.shares();
        assert!(shares[0] > 0.8 && shares[2] == 0.0, "{shares:?}");
    }

    #[test]
    fn cost_counts_a_cheaper_model_with_the_same_gains_wins() {
        let mut bandit = ModelBandit::new(vec![true, true], 0.3);
        let mut asked = [0u32; 2];
        for _ in 0..200 {
            let i = bandit.choose().unwrap();
            asked[i] += 1;
            bandit.record(i, 0.01, if i == 0 { 4000 } else { 1000 });
        }
        assert!(asked[1] > 2 * asked[0], "{asked:?}");
    }

    #[test]
    fn without_any_gain_the_choice_stays_spread() {
        let mut bandit = ModelBandit::new(vec![true, true], 1.0);
        let mut asked = [0u32; 2];
        for _ in 0..100 {
            let i = bandit.choose().unwrap();
            asked[i] += 1;
            bandit.record(i, 0.0, 500);
        }
        assert!(asked[0].abs_diff(asked[1]) <= 2, "{asked:?}");
        assert_eq!(ModelBandit::new(vec![false], 1.0).choose(), None);
    }
}
