//! When to try a failed request again and how long to wait first.

use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::seed::{mix, unit_interval};

/// Longest wait a server's Retry-After can impose; beyond it we would rather
/// fail the request than stall the run.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// Retries for one model: `retries` after the first attempt, the first after
/// about `initial_delay`, each later one after twice the previous delay, never
/// longer than `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub retries: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    pub fn new(retries: u32, initial_delay: Duration) -> Self {
        Self { retries, initial_delay, max_delay: Duration::from_secs(60).max(initial_delay) }
    }

    /// The wait before retry number `retry` (0 for the first), with jitter in
    /// [½, 1] of the exponential delay so that concurrent callers spread out.
    /// The jitter comes from `jitter_seed`, which differs per request: runs
    /// stay reproducible and no global RNG is needed.
    pub fn backoff(&self, retry: u32, jitter_seed: u64) -> Duration {
        let exponential = self.initial_delay.saturating_mul(2u32.saturating_pow(retry)).min(self.max_delay);
        let unit = unit_interval(mix(jitter_seed, u64::from(retry)));
        exponential.mul_f64(0.5 + 0.5 * unit)
    }

    /// The wait before retry `retry` after `error`: the server's Retry-After
    /// when it asked for longer than our own backoff.
    pub fn delay_after(&self, error: &crate::LlmError, retry: u32, jitter_seed: u64) -> Duration {
        let ours = self.backoff(retry, jitter_seed);
        error.retry_after().map_or(ours, |theirs| theirs.min(MAX_RETRY_AFTER).max(ours))
    }
}

/// The wait a 429/503 answer asks for: OpenAI's `retry-after-ms`, else
/// `retry-after` in seconds. (The HTTP-date form is rare for these APIs and
/// falls back to our own backoff.)
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)
    };
    if let Some(ms) = number("retry-after-ms") {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    number("retry-after").map(|s| Duration::from_secs_f64(s.min(MAX_RETRY_AFTER.as_secs_f64())))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;
    use crate::LlmError;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let policy = RetryPolicy {
            retries: 10,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for retry in 0..8 {
            let full = Duration::from_millis(100 * 2u64.pow(retry)).min(Duration::from_secs(1));
            let waits: Vec<Duration> = (0..50).map(|seed| policy.backoff(retry, seed)).collect();
            assert!(waits.iter().all(|w| *w >= full / 2 && *w <= full), "retry {retry}: {waits:?}");
            // Jitter really varies with the seed.
            assert!(waits.iter().any(|w| *w != waits[0]));
        }
        assert_eq!(policy.backoff(3, 7), policy.backoff(3, 7));
    }

    #[test]
    fn reads_retry_after_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(250)));
        let mut dated = HeaderMap::new();
        dated.insert("retry-after", HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&dated), None);
        dated.insert("retry-after", HeaderValue::from_static("86400"));
        assert_eq!(retry_after(&dated), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn server_wait_wins_when_longer() {
        let policy = RetryPolicy::new(3, Duration::from_millis(10));
        let error = |retry_after| LlmError::Unavailable {
            model: "m".into(),
            status: 429,
            message: String::new(),
            retry_after,
        };
        assert_eq!(policy.delay_after(&error(Some(Duration::from_secs(3))), 0, 1), Duration::from_secs(3));
        assert!(policy.delay_after(&error(None), 0, 1) <= Duration::from_millis(10));
        assert!(policy.delay_after(&error(Some(Duration::ZERO)), 0, 1) >= Duration::from_millis(5));
    }
}
