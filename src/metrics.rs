//! Prometheus metrics, one registry per running app (so tests can read their own).

use std::{
    borrow::Cow,
    collections::HashSet,
    sync::{Mutex, PoisonError},
};

use crate::auth::JwksCounts;
use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
    core::Collector,
};

/// Distinct operation names kept as labels.
pub const MAX_OPERATION_LABELS: usize = 100;

/// Every metric the service exports at `/metrics`.
pub struct Metrics {
    registry: Registry,
    /// Operation names seen so far; past [`MAX_OPERATION_LABELS`] new ones count as `other`.
    operations: Mutex<HashSet<String>>,
    /// GraphQL requests by operation name and outcome.
    pub requests: IntCounterVec,
    /// GraphQL request latency.
    pub request_seconds: HistogramVec,
    /// Operations run directly (`graphql_executions_total{executor="direct"}`).
    pub executed_directly: IntCounter,
    /// Operations run on async-graphql's executor (`executor="async_graphql"`).
    pub executed_by_async_graphql: IntCounter,
    /// Upstream calls by endpoint and status (HTTP status, or `timeout`, `transport`...).
    pub upstream_calls: IntCounterVec,
    /// Upstream call latency by endpoint.
    pub upstream_seconds: HistogramVec,
    /// Lookups answered from the shared cache.
    pub cache_hits: IntCounter,
    /// Lookups the shared cache could not answer.
    pub cache_misses: IntCounter,
    /// Lookups that joined a call already in flight.
    pub coalesced: IntCounter,
    /// Calls that waited for the upstream rate limiter.
    pub limiter_waits: IntCounter,
    /// Calls refused because the rate limiter would not allow them before the deadline.
    pub limiter_rejections: IntCounter,
    /// Circuit state: 0 closed, 1 open, 2 half-open.
    pub circuit_state: IntGauge,
    /// Retried upstream calls.
    pub retries: IntCounter,
    /// Answers served stale from the cache while the circuit was open.
    pub stale_served: IntCounter,
    /// Answers served past their freshness but inside the staleness bound, a refresh queued.
    pub served_revalidating: IntCounter,
    /// Background refreshes started, by plan (`single` or `list`).
    pub refreshes: IntCounterVec,
    /// Misses answered by joining a list call instead of a call of their own.
    pub misses_via_list: IntCounter,
    /// Whether the shared state on Redis is in use: 1 up, 0 down (or not yet reached).
    pub redis_up: IntGauge,
    /// Changes of the shared state, by the state entered (`up`, `down`).
    pub redis_transitions: IntCounterVec,
    /// Redis operations that failed or were late, by operation.
    pub redis_errors: IntCounterVec,
    /// Replicas counted live by their heartbeats.
    pub live_replicas: IntGauge,
    /// Lookups answered from the shared cache (another replica's call).
    pub shared_cache_hits: IntCounter,
    /// Calls that waited for the shared bucket.
    pub shared_budget_waits: IntCounter,
    /// Lookups that waited for another replica's call in flight (its lease).
    pub lease_waits: IntCounter,
    /// Calls paid from this replica's local share of the budget while Redis was down.
    pub local_share_calls: IntCounter,
    /// Signing keys held from `--jwt-jwks-url`.
    jwks_keys: IntGauge,
    /// JWKS fetches by outcome (`ok`, `failed`).
    jwks_fetches: IntCounterVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    #[allow(
        clippy::expect_used,
        reason = "every name, help text and label is a literal in `try_new`, each registered \
                  once in a fresh registry: an error is a bug that any test building the app shows"
    )]
    pub fn new() -> Self {
        Self::try_new().expect("metrics are valid and unique")
    }

    fn try_new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let counter = |name: &str, help: &str| register(&registry, IntCounter::new(name, help)?);
        let counters = |name: &str, help: &str, labels: &[&str]| {
            register(
                &registry,
                IntCounterVec::new(Opts::new(name, help), labels)?,
            )
        };
        let histogram = |name: &str, help: &str, labels: &[&str]| {
            let buckets = vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ];
            let opts = HistogramOpts::new(name, help).buckets(buckets);
            register(&registry, HistogramVec::new(opts, labels)?)
        };
        let circuit_state = register(
            &registry,
            IntGauge::new(
                "bloc_circuit_state",
                "Circuit to Bloc: 0 closed, 1 open, 2 half-open",
            )?,
        )?;
        let gauge = |name: &str, help: &str| register(&registry, IntGauge::new(name, help)?);
        let executions = counters(
            "graphql_executions_total",
            "GraphQL operations run, by executor (direct or async_graphql)",
            &["executor"],
        )?;
        Ok(Self {
            requests: counters(
                "graphql_requests_total",
                "GraphQL requests by operation name and outcome",
                &["operation", "outcome"],
            )?,
            request_seconds: histogram(
                "graphql_request_duration_seconds",
                "GraphQL request latency",
                &["outcome"],
            )?,
            executed_directly: executions.with_label_values(&["direct"]),
            executed_by_async_graphql: executions.with_label_values(&["async_graphql"]),
            upstream_calls: counters(
                "bloc_calls_total",
                "Calls to Bloc by endpoint and status",
                &["endpoint", "status"],
            )?,
            upstream_seconds: histogram(
                "bloc_call_duration_seconds",
                "Latency of calls to Bloc",
                &["endpoint"],
            )?,
            cache_hits: counter("bloc_cache_hits_total", "Lookups answered from the cache")?,
            cache_misses: counter(
                "bloc_cache_misses_total",
                "Lookups the cache could not answer",
            )?,
            coalesced: counter(
                "bloc_coalesced_total",
                "Lookups that joined a call in flight",
            )?,
            limiter_waits: counter(
                "bloc_rate_limiter_waits_total",
                "Calls that waited for the upstream rate limiter",
            )?,
            limiter_rejections: counter(
                "bloc_rate_limiter_rejections_total",
                "Calls refused because the budget would not allow them in time",
            )?,
            circuit_state,
            retries: counter("bloc_retries_total", "Retried calls to Bloc")?,
            stale_served: counter(
                "bloc_stale_served_total",
                "Answers served stale from the cache while the circuit was open",
            )?,
            served_revalidating: counter(
                "bloc_stale_while_revalidate_total",
                "Answers served past their freshness, inside the staleness bound, while a \
                 refresh was queued",
            )?,
            refreshes: counters(
                "bloc_refreshes_total",
                "Background refreshes started, by plan (single or list)",
                &["plan"],
            )?,
            misses_via_list: counter(
                "bloc_misses_via_list_total",
                "Misses answered by joining a list call instead of a call of their own",
            )?,
            redis_up: gauge(
                "redis_up",
                "Shared state on Redis in use: 1 up, 0 down or not reached yet",
            )?,
            redis_transitions: counters(
                "redis_transitions_total",
                "Changes of the shared state, by the state entered (up, down)",
                &["to"],
            )?,
            redis_errors: counters(
                "redis_errors_total",
                "Redis operations that failed or were late, by operation",
                &["op"],
            )?,
            live_replicas: gauge(
                "bloc_graphql_live_replicas",
                "Replicas counted live by their heartbeats on Redis",
            )?,
            shared_cache_hits: counter(
                "bloc_shared_cache_hits_total",
                "Lookups answered from the shared cache on Redis",
            )?,
            shared_budget_waits: counter(
                "bloc_shared_budget_waits_total",
                "Calls that waited for the shared token bucket",
            )?,
            lease_waits: counter(
                "bloc_lease_waits_total",
                "Lookups that waited for another replica's call in flight",
            )?,
            local_share_calls: counter(
                "bloc_local_share_calls_total",
                "Calls paid from this replica's local share of the budget while Redis was down",
            )?,
            jwks_keys: gauge(
                "bloc_graphql_jwks_keys",
                "Signing keys held from the identity provider's JWKS",
            )?,
            jwks_fetches: counters(
                "bloc_graphql_jwks_fetches_total",
                "Fetches of the identity provider's JWKS, by outcome (ok, failed)",
                &["outcome"],
            )?,
            registry,
            operations: Mutex::default(),
        })
    }

    /// Brings the JWKS metrics up to `counts` (kept by `auth`, which sits below the metrics
    /// and cannot count into them: read when `/metrics` is asked for).
    pub fn observe_jwks(&self, counts: &JwksCounts) {
        self.jwks_keys
            .set(i64::try_from(counts.keys).unwrap_or(i64::MAX));
        for (outcome, total) in [("ok", counts.fetched), ("failed", counts.failed)] {
            let counter = self.jwks_fetches.with_label_values(&[outcome]);
            counter.inc_by(total.saturating_sub(counter.get()));
        }
    }

    /// The `operation` label for a client-chosen name: `anonymous` without one, `invalid`
    /// for names that are not GraphQL names (or too long), `other` once the label set is full,
    /// so clients cannot blow up the metric's cardinality.
    pub fn operation_label<'a>(&self, name: Option<&'a str>) -> Cow<'a, str> {
        let Some(name) = name else {
            return Cow::Borrowed("anonymous");
        };
        let valid = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Cow::Borrowed("invalid");
        }
        // A panic while the lock was held leaves the set consistent (it only ever gains
        // whole names), so a poisoned lock is used as is.
        let mut seen = self
            .operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if seen.contains(name) {
            Cow::Borrowed(name)
        } else if seen.len() < MAX_OPERATION_LABELS {
            seen.insert(name.to_owned());
            Cow::Borrowed(name)
        } else {
            Cow::Borrowed("other")
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        // The encoder refuses only a family without metrics or without a name; `gather`
        // drops the first and every name here is a literal, so this error is a bug.
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_else(|error| {
                tracing::error!(%error, "could not encode the metrics");
                String::new()
            })
    }
}

/// `metric`, once registered in `registry`.
fn register<M: Collector + Clone + 'static>(
    registry: &Registry,
    metric: M,
) -> prometheus::Result<M> {
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}
