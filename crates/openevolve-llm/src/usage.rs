//! Token usage and estimated cost per model, summed over the run, and the run
//! budget. A request reserves its worst-case cost before it is sent, so that
//! concurrent requests cannot together run far past the budget: the overshoot
//! is at most one request's worst case.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::LlmError;
use crate::model::TokenUsage;

/// A model's prices in US dollars per million tokens; `None` means unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Prices {
    pub input_per_million: Option<f64>,
    pub output_per_million: Option<f64>,
}

impl Prices {
    /// The cost of `usage`, or `None` when the model has no prices at all
    /// (a price that is missing on one side counts as free).
    pub fn cost(&self, usage: TokenUsage) -> Option<f64> {
        if self.input_per_million.is_none() && self.output_per_million.is_none() {
            return None;
        }
        let per_token = |price: Option<f64>, tokens: u64| price.unwrap_or(0.0) * tokens as f64 / 1e6;
        Some(
            per_token(self.input_per_million, usage.prompt_tokens)
                + per_token(self.output_per_million, usage.completion_tokens),
        )
    }
}

/// Counters of one model (or of all, in `UsageSnapshot::total`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelUsage {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Requests that failed (any error).
    pub failed_requests: u64,
    /// Calls that returned text.
    pub completions: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Estimated cost in US dollars of the completions that had prices.
    pub cost_usd: f64,
    /// Completions whose server reported no usage; their tokens are estimated
    /// from the text length.
    pub estimated_completions: u64,
    /// Completions of models without prices, so missing from `cost_usd`.
    pub unpriced_completions: u64,
}

impl ModelUsage {
    fn add(&mut self, other: &ModelUsage) {
        self.requests += other.requests;
        self.failed_requests += other.failed_requests;
        self.completions += other.completions;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.cost_usd += other.cost_usd;
        self.estimated_completions += other.estimated_completions;
        self.unpriced_completions += other.unpriced_completions;
    }
}

/// Usage of a run so far; serializes to JSON for reports and checkpoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageSnapshot {
    pub models: BTreeMap<String, ModelUsage>,
    pub total: ModelUsage,
    pub budget_usd: Option<f64>,
}

/// One completed call, as recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallRecord {
    pub usage: TokenUsage,
    pub cost_usd: Option<f64>,
    /// The tokens were estimated because the server reported none.
    pub estimated: bool,
}

#[derive(Debug, Default)]
struct Ledger {
    models: BTreeMap<String, ModelUsage>,
    spent_usd: f64,
    reserved_usd: f64,
}

/// Shared by every ensemble of a run.
#[derive(Debug)]
pub struct UsageTracker {
    budget_usd: Option<f64>,
    ledger: Mutex<Ledger>,
}

impl UsageTracker {
    pub fn new(budget_usd: Option<f64>) -> Arc<Self> {
        Arc::new(Self { budget_usd, ledger: Mutex::default() })
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // A panic elsewhere while holding the lock leaves counters valid.
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets aside `worst_case_usd` for a request about to be sent, or refuses
    /// when what is spent and set aside already reaches the budget.
    pub fn reserve(self: &Arc<Self>, worst_case_usd: f64) -> Result<Reservation, LlmError> {
        let mut ledger = self.ledger();
        if let Some(budget_usd) = self.budget_usd
            && ledger.spent_usd + ledger.reserved_usd >= budget_usd
        {
            return Err(LlmError::BudgetExhausted {
                spent_usd: ledger.spent_usd,
                reserved_usd: ledger.reserved_usd,
                budget_usd,
            });
        }
        ledger.reserved_usd += worst_case_usd;
        Ok(Reservation { tracker: Arc::clone(self), amount_usd: worst_case_usd })
    }

    /// Counts one HTTP request to `model`.
    pub fn record_request(&self, model: &str, succeeded: bool) {
        let mut ledger = self.ledger();
        let entry = ledger.models.entry(model.to_string()).or_default();
        entry.requests += 1;
        entry.failed_requests += u64::from(!succeeded);
    }

    pub fn spent_usd(&self) -> f64 {
        self.ledger().spent_usd
    }

    pub fn snapshot(&self) -> UsageSnapshot {
        let ledger = self.ledger();
        let mut total = ModelUsage::default();
        for usage in ledger.models.values() {
            total.add(usage);
        }
        UsageSnapshot { models: ledger.models.clone(), total, budget_usd: self.budget_usd }
    }

    /// Continues counting from `snapshot` (a resumed run keeps its spend).
    pub fn restore(&self, snapshot: &UsageSnapshot) {
        let mut ledger = self.ledger();
        ledger.models = snapshot.models.clone();
        ledger.spent_usd = snapshot.models.values().map(|m| m.cost_usd).sum();
    }
}

/// Budget set aside for one call; released when dropped, so a failed or
/// cancelled call gives it back.
#[derive(Debug)]
pub struct Reservation {
    tracker: Arc<UsageTracker>,
    amount_usd: f64,
}

impl Reservation {
    /// Replaces the reservation by what the call of `model` actually used.
    pub fn settle(self, model: &str, record: CallRecord) {
        let mut ledger = self.tracker.ledger();
        let entry = ledger.models.entry(model.to_string()).or_default();
        entry.completions += 1;
        entry.prompt_tokens += record.usage.prompt_tokens;
        entry.completion_tokens += record.usage.completion_tokens;
        entry.cost_usd += record.cost_usd.unwrap_or(0.0);
        entry.estimated_completions += u64::from(record.estimated);
        entry.unpriced_completions += u64::from(record.cost_usd.is_none());
        ledger.spent_usd += record.cost_usd.unwrap_or(0.0);
        // `self` drops after the guard, releasing the reservation.
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut ledger = self.tracker.ledger();
        ledger.reserved_usd = (ledger.reserved_usd - self.amount_usd).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(prompt_tokens: u64, completion_tokens: u64, cost_usd: Option<f64>) -> CallRecord {
        CallRecord { usage: TokenUsage { prompt_tokens, completion_tokens }, cost_usd, estimated: false }
    }

    #[test]
    fn prices_per_million_tokens() {
        let prices = Prices { input_per_million: Some(2.0), output_per_million: Some(10.0) };
        let cost = prices.cost(TokenUsage { prompt_tokens: 500_000, completion_tokens: 100_000 }).unwrap();
        assert!((cost - 2.0).abs() < 1e-12);
        assert_eq!(Prices::default().cost(TokenUsage::default()), None);
    }

    #[test]
    fn sums_per_model_and_in_total() {
        let tracker = UsageTracker::new(None);
        tracker.record_request("a", false);
        tracker.record_request("a", true);
        tracker.reserve(1.0).unwrap().settle("a", record(10, 5, Some(0.25)));
        tracker.record_request("b", true);
        tracker.reserve(1.0).unwrap().settle("b", record(1, 1, None));
        let snapshot = tracker.snapshot();
        assert_eq!(snapshot.models["a"].requests, 2);
        assert_eq!(snapshot.models["a"].failed_requests, 1);
        assert_eq!(snapshot.total.completions, 2);
        assert_eq!(snapshot.total.prompt_tokens, 11);
        assert_eq!(snapshot.total.unpriced_completions, 1);
        assert!((snapshot.total.cost_usd - 0.25).abs() < 1e-12);
        let json = serde_json::to_value(&snapshot).unwrap();
        assert_eq!(json["models"]["a"]["completion_tokens"], 5);
    }

    #[test]
    fn budget_counts_reservations_and_releases_them() {
        let tracker = UsageTracker::new(Some(1.0));
        let in_flight = tracker.reserve(0.6).unwrap();
        let second = tracker.reserve(0.6).unwrap();
        // 1.2 set aside: a third request would risk passing the budget.
        assert!(matches!(tracker.reserve(0.1), Err(LlmError::BudgetExhausted { .. })));
        drop(second); // failed: its reservation comes back
        in_flight.settle("a", record(0, 0, Some(0.3)));
        let third = tracker.reserve(0.6).unwrap();
        third.settle("a", record(0, 0, Some(0.7)));
        match tracker.reserve(0.01) {
            Err(LlmError::BudgetExhausted { spent_usd, budget_usd, .. }) => {
                assert!((spent_usd - 1.0).abs() < 1e-9);
                assert_eq!(budget_usd, 1.0);
            }
            other => panic!("expected the budget to be exhausted, got {other:?}"),
        }
    }

    #[test]
    fn restore_continues_the_spend() {
        let tracker = UsageTracker::new(Some(1.0));
        tracker.reserve(0.0).unwrap().settle("a", record(1, 1, Some(0.9)));
        let resumed = UsageTracker::new(Some(1.0));
        resumed.restore(&tracker.snapshot());
        assert!((resumed.spent_usd() - 0.9).abs() < 1e-12);
        resumed.reserve(0.5).unwrap().settle("a", record(1, 1, Some(0.2)));
        assert!(resumed.reserve(0.0).is_err());
        assert_eq!(resumed.snapshot().models["a"].completions, 2);
    }
}
