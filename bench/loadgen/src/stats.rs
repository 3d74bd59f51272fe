//! What one connection saw, merged across connections into the final report.
//!
//! Raw samples rather than a histogram: a minute at 5,000 answers/s is 300,000 latencies,
//! about a megabyte, and exact percentiles cost one sort at the end.

use std::{collections::BTreeMap, time::Duration};

use serde_json::{Value, json};

/// Answers seen by one connection (or, merged, by all).
#[derive(Default)]
pub struct Stats {
    /// Latency of every measured answer, errors included, in microseconds.
    latencies_us: Vec<u32>,
    /// Receipt time minus the customer's `updated_at`, in milliseconds.
    pub ages_ms: Vec<i64>,
    /// Erroneous answers by code.
    errors: BTreeMap<String, u64>,
    /// Errors that came without an answer (no connection), counted apart from answers.
    unanswered: u64,
    /// Answers marked `extensions.stale`.
    pub stale: u64,
}

impl Stats {
    /// A good answer.
    pub fn answered(&mut self, latency: Duration) {
        self.latencies_us
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    /// An answer (or a failed exchange) that counts as an error `code`.
    pub fn failed(&mut self, latency: Duration, code: &str) {
        self.answered(latency);
        self.count(code);
    }

    /// An error with no exchange to time, e.g. a refused connection.
    pub fn error(&mut self, code: &str) {
        self.unanswered = self.unanswered.saturating_add(1);
        self.count(code);
    }

    fn count(&mut self, code: &str) {
        // Looked up before inserting, so a repeated code costs no allocation.
        match self.errors.get_mut(code) {
            Some(count) => *count = count.saturating_add(1),
            None => {
                self.errors.insert(code.to_owned(), 1);
            }
        }
    }

    /// Answers (errors included) and errors (unanswered ones included) so far.
    pub fn counts(&self) -> (usize, u64) {
        (self.latencies_us.len(), self.errors.values().sum())
    }

    /// Adds another connection's samples.
    pub fn merge(&mut self, other: Stats) {
        self.latencies_us.extend(other.latencies_us);
        self.ages_ms.extend(other.ages_ms);
        for (code, count) in other.errors {
            let total = self.errors.entry(code).or_default();
            *total = total.saturating_add(count);
        }
        self.unanswered = self.unanswered.saturating_add(other.unanswered);
        self.stale = self.stale.saturating_add(other.stale);
    }

    /// The run's JSON report over `seconds` of measurement.
    pub fn report(mut self, seconds: f64) -> Value {
        self.latencies_us.sort_unstable();
        self.ages_ms.sort_unstable();
        let queries = self.latencies_us.len();
        let ms = |us: Option<u32>| us.map(|us| f64::from(us) / 1000.0);
        let latency = |q: f64| ms(quantile(&self.latencies_us, q));
        let age = |q: f64| quantile(&self.ages_ms, q);
        let error_total: u64 = self.errors.values().sum();
        json!({
            "queries": queries,
            "seconds": seconds,
            "qps": if seconds > 0.0 { queries as f64 / seconds } else { 0.0 },
            "p50_ms": latency(0.50),
            "p99_ms": latency(0.99),
            "max_ms": ms(self.latencies_us.last().copied()),
            "errors": self.errors,
            "error_total": error_total,
            "age_ms": {
                "p50": age(0.50),
                "p99": age(0.99),
                "max": self.ages_ms.last(),
                "samples": self.ages_ms.len(),
            },
            "stale_answers": self.stale,
        })
    }
}

/// The nearest-rank `q` quantile of sorted `samples`; `None` when there are none.
fn quantile<T: Copy>(samples: &[T], q: f64) -> Option<T> {
    let rank = (q * samples.len() as f64).ceil() as usize;
    samples.get(rank.saturating_sub(1)).copied()
}
