//! The upstream settings: Bloc's budget, the cache and its freshness bound, retries and the
//! circuit breaker.

use std::time::Duration;

/// How the facade protects Bloc's budget and copes with Bloc's failures.
#[derive(Debug, Clone)]
pub struct Resilience {
    /// Process-wide Bloc calls per minute; 0 turns the limiter off.
    pub rate_per_minute: u32,
    /// Calls the bucket allows at once.
    pub burst: u32,
    /// How long a cached record or list counts as fresh; zero turns the cache off.
    pub cache_ttl: Duration,
    /// The staleness bound: past its freshness and up to this age, a record is served at once
    /// while a refresh is queued (stale-while-revalidate); past it, it must be fetched again.
    /// At least `cache_ttl` (equal: nothing is served stale).
    pub max_staleness: Duration,
    /// Cache size in KiB: a record weighs the bytes of its JSON and its decoded struct (about
    /// 1.5 KiB for a typical record); the list weighs its pointers (it shares its records).
    pub cache_capacity: u64,
    /// How long cached records are kept for serving stale while the circuit is open.
    pub stale_for: Duration,
    /// Retries after a first attempt.
    pub max_retries: u32,
    /// First backoff ceiling; it doubles per retry.
    pub retry_base: Duration,
    /// Largest backoff ceiling.
    pub retry_cap: Duration,
    /// Retries may add at most this share of calls, in percent.
    pub retry_budget_percent: u8,
    /// Outages in a row that open the circuit.
    pub breaker_threshold: u32,
    /// How long the circuit stays open before a probe.
    pub breaker_cool_down: Duration,
}

impl Resilience {
    /// The defaults: Bloc's documented budget, and settings measured in BENCHMARKS.md.
    pub const DEFAULT: Self = Self {
        rate_per_minute: 500,
        burst: 50,
        cache_ttl: Duration::from_secs(5),
        max_staleness: Duration::from_secs(30),
        cache_capacity: 32 * 1024,
        stale_for: Duration::from_secs(300),
        max_retries: 2,
        retry_base: Duration::from_millis(100),
        retry_cap: Duration::from_secs(2),
        retry_budget_percent: 20,
        breaker_threshold: 5,
        breaker_cool_down: Duration::from_secs(10),
    };
}

impl Default for Resilience {
    fn default() -> Self {
        Self::DEFAULT
    }
}
