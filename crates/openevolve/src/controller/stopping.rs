//! When a run ends early: a target score, early stopping on a plateau, or an
//! LLM endpoint that keeps failing. The state lives in the database with
//! every committed iteration, so a resumed run counts on where it stopped.

use serde::{Deserialize, Serialize};

/// Consecutive iterations whose LLM call failed (after its retries) that end
/// the run: past this the endpoint is down, not flaky.
pub const MAX_CONSECUTIVE_LLM_FAILURES: u64 = 8;

/// Counters the stop rules need, saved with each iteration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StopState {
    /// Best value of `early_stopping_metric` seen so far.
    pub best_metric: Option<f64>,
    /// Iterations since `best_metric` last rose by more than the threshold.
    pub iterations_without_improvement: u64,
    pub consecutive_llm_failures: u64,
    /// The last LLM error, for the message when the endpoint is given up on.
    pub last_llm_error: Option<String>,
}

impl StopState {
    /// Counts one committed iteration. `metric` is the early-stopping metric
    /// of the child it stored, if any.
    pub fn observe(&mut self, metric: Option<f64>, llm_error: Option<String>, convergence_threshold: f64) {
        match llm_error {
            Some(e) => {
                self.consecutive_llm_failures += 1;
                self.last_llm_error = Some(e);
            }
            None => self.consecutive_llm_failures = 0,
        }
        let improved = match (metric.filter(|m| m.is_finite()), self.best_metric) {
            (Some(m), None) => {
                self.best_metric = Some(m);
                true
            }
            (Some(m), Some(best)) if m > best => {
                self.best_metric = Some(m);
                m - best > convergence_threshold
            }
            _ => false,
        };
        if improved {
            self.iterations_without_improvement = 0;
        } else {
            self.iterations_without_improvement += 1;
        }
    }

    pub fn plateaued(&self, patience: Option<i64>) -> bool {
        patience.is_some_and(|p| p >= 1 && self.iterations_without_improvement >= p as u64)
    }

    pub fn llm_is_down(&self) -> bool {
        self.consecutive_llm_failures >= MAX_CONSECUTIVE_LLM_FAILURES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn improvement_below_the_threshold_does_not_reset_patience() {
        let mut s = StopState::default();
        s.observe(Some(1.0), None, 0.1);
        assert_eq!(s.iterations_without_improvement, 0);
        s.observe(Some(1.05), None, 0.1);
        assert_eq!((s.iterations_without_improvement, s.best_metric), (1, Some(1.05)));
        s.observe(None, None, 0.1);
        assert!(s.plateaued(Some(2)) && !s.plateaued(Some(3)) && !s.plateaued(None));
        s.observe(Some(1.3), None, 0.1);
        assert_eq!(s.iterations_without_improvement, 0);
    }

    #[test]
    fn consecutive_llm_failures_end_the_run_and_a_success_resets_them() {
        let mut s = StopState::default();
        for _ in 0..MAX_CONSECUTIVE_LLM_FAILURES - 1 {
            s.observe(None, Some("connection refused".into()), 0.0);
        }
        assert!(!s.llm_is_down());
        s.observe(None, None, 0.0);
        assert_eq!(s.consecutive_llm_failures, 0);
        for _ in 0..MAX_CONSECUTIVE_LLM_FAILURES {
            s.observe(None, Some("connection refused".into()), 0.0);
        }
        assert!(s.llm_is_down());
        assert_eq!(s.last_llm_error.as_deref(), Some("connection refused"));
    }
}
