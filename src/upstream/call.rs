//! What a request brings to the gateway (its deadline, freshness bound and client), and the
//! counters of what its lookups cost (the `extensions.upstream` trace).

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use axum::http::HeaderValue;
use tokio::time::{Duration, Instant};

/// Counters for one HTTP request's upstream traffic (the `extensions.upstream` trace).
#[derive(Default)]
pub struct RequestStats {
    pub(super) calls: AtomicU64,
    pub(super) batches: AtomicU64,
    pub(super) cache_hits: AtomicU64,
    pub(super) coalesced: AtomicU64,
    pub(super) micros: AtomicU64,
    /// Age of the oldest answer served past its freshness, in milliseconds (0: none).
    pub(super) oldest_ms: AtomicU64,
}

impl RequestStats {
    /// Calls this request made to Bloc (retries included).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
    /// Batches the request's loader formed.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }
    /// Counts one loader batch.
    pub fn count_batch(&self) {
        self.batches.fetch_add(1, Ordering::Relaxed);
    }
    /// Lookups answered from the shared cache.
    pub fn cache_hits(&self) -> u64 {
        self.cache_hits.load(Ordering::Relaxed)
    }
    /// Lookups that joined another request's call in flight.
    pub fn coalesced(&self) -> u64 {
        self.coalesced.load(Ordering::Relaxed)
    }
    /// Summed duration of this request's calls to Bloc.
    pub fn upstream_time(&self) -> Duration {
        Duration::from_micros(self.micros.load(Ordering::Relaxed))
    }
    /// Whether any answer was not fresh: served inside the staleness bound while a refresh
    /// was queued, or served stale while the circuit was open.
    pub fn stale(&self) -> bool {
        self.oldest_ms.load(Ordering::Relaxed) != 0
    }
    /// The age of the oldest answer that was not fresh.
    pub fn oldest(&self) -> Option<Duration> {
        match self.oldest_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    pub(super) fn served_stale(&self, age: Duration) {
        // At least a millisecond, so that zero keeps meaning "none".
        let ms = u64::try_from(age.as_millis()).unwrap_or(u64::MAX).max(1);
        self.oldest_ms.fetch_max(ms, Ordering::Relaxed);
    }
}

/// What one HTTP request brings to each upstream lookup.
#[derive(Clone)]
pub struct Call {
    /// The lookup gives up at this, and no call starts after it for this request alone (a
    /// shared call may, for a request joining it with a later deadline). No call's timeout
    /// is cut to fit it.
    pub deadline: Instant,
    /// The client's bound on the age of what it is served (`Cache-Control: max-age=N`;
    /// `no-cache` is zero). It can only tighten the service's bound.
    pub max_age: Option<Duration>,
    /// Who is asking: clients take turns for the budget.
    pub client: Arc<str>,
    /// Sent upstream as `X-Request-Id`.
    pub request_id: Option<HeaderValue>,
    /// The request's counters.
    pub stats: Arc<RequestStats>,
}
