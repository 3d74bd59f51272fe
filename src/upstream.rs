//! The way to Bloc for every request: a process-wide gateway in front of [`BlocClient`].
//!
//! It keeps the facade inside Bloc's request budget and steady when Bloc is not:
//!
//! - a shared cache of customer records and of the list (moka: bounded, TTL), keyed by the
//!   resource; the list refreshes every record it returns; errors are never cached;
//! - coalescing: concurrent requests for the same resource share one call in flight. The
//!   shared call is no request's: each attempt has the configured per-call timeout, it may
//!   start attempts until the latest deadline of the requests waiting for it, and it finishes
//!   (filling the cache) even if they all go away; each request stops waiting at its own
//!   deadline;
//! - a process-wide token bucket for Bloc calls; a call that could not start before its
//!   request's deadline fails at once with `UPSTREAM_RATE_LIMITED`;
//! - retries for 5xx, 429, timeouts and broken connections, with exponential backoff and full
//!   jitter, honouring `Retry-After` (at most a minute), within the deadline and a retry
//!   budget;
//! - a circuit breaker that counts only Bloc's own failures: 5xx, broken connections, and the
//!   per-call timeout elapsing. A request's deadline passing is not one, since no attempt is
//!   cut short to fit a deadline. While it is open, cached records are served marked stale.
//!
//! There is one Bloc key per process, so the resource alone keys the cache.

mod breaker;
mod budget;
mod flight;

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

use axum::http::HeaderValue;
use governor::{
    DefaultDirectRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use moka::future::Cache;
use tokio::time::{Duration, Instant};
use tracing::Instrument;

use self::breaker::Breaker;
use self::budget::RetryBudget;
use self::flight::{Flights, Until};
use crate::{
    bloc::{BlocClient, CallOptions, Customer, Error},
    config::Resilience,
    metrics::Metrics,
};

/// Every customer Bloc returned in one list call.
pub struct ListSnapshot {
    /// Readable records, in Bloc's order.
    pub customers: Vec<Arc<Customer>>,
    /// Records left out because they could not be read at all.
    pub undecodable: usize,
}

/// Counters for one HTTP request's upstream traffic (the `extensions.upstream` trace).
#[derive(Default)]
pub struct RequestStats {
    calls: AtomicU64,
    batches: AtomicU64,
    cache_hits: AtomicU64,
    coalesced: AtomicU64,
    micros: AtomicU64,
    stale: AtomicBool,
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
    /// Whether any answer came stale from the cache (circuit open).
    pub fn stale(&self) -> bool {
        self.stale.load(Ordering::Relaxed)
    }
}

/// What one HTTP request brings to each upstream lookup.
#[derive(Clone)]
pub struct Call {
    /// The lookup gives up at this, and no call starts after it for this request alone (a
    /// shared call may, for a request joining it with a later deadline). No call's timeout
    /// is cut to fit it.
    pub deadline: Instant,
    /// `Cache-Control: no-cache`: skip cached answers (fresh ones still refresh the cache).
    pub fresh: bool,
    /// Sent upstream as `X-Request-Id`.
    pub request_id: Option<HeaderValue>,
    /// The request's counters.
    pub stats: Arc<RequestStats>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Resource {
    Customer(String),
    List,
}

impl Resource {
    fn endpoint(&self) -> &'static str {
        match self {
            Resource::Customer(_) => "GET /customers/{id}",
            Resource::List => "GET /customers",
        }
    }
}

#[derive(Clone)]
enum Payload {
    Customer(Option<Arc<Customer>>),
    List(Arc<ListSnapshot>),
}

#[derive(Clone)]
struct Entry {
    payload: Payload,
    at: Instant,
}

type Fetched = Result<Payload, Error>;

/// The process-wide gateway. Cheap to clone.
#[derive(Clone)]
pub struct Gateway(Arc<Inner>);

struct Inner {
    client: BlocClient,
    cache: Option<Cache<Resource, Entry>>,
    fresh_for: Duration,
    flights: Arc<Flights>,
    limiter: Option<DefaultDirectRateLimiter>,
    breaker: Breaker,
    budget: RetryBudget,
    config: Resilience,
    call_timeout: Duration,
    metrics: Arc<Metrics>,
}

impl Gateway {
    /// A gateway over `client` with the given resilience settings.
    pub fn new(
        client: BlocClient,
        call_timeout: std::time::Duration,
        config: &Resilience,
        metrics: Arc<Metrics>,
    ) -> Self {
        let cache = (!config.cache_ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(config.cache_capacity)
                // Weighed in KiB of Bloc JSON, so the capacity bounds memory whatever size
                // Bloc's records are.
                .weigher(|_, entry: &Entry| match &entry.payload {
                    Payload::List(list) => list
                        .customers
                        .iter()
                        .fold(0u32, |sum, c| sum.saturating_add(c.cache_weight()))
                        .max(1),
                    Payload::Customer(Some(customer)) => customer.cache_weight(),
                    Payload::Customer(None) => 1,
                })
                // Entries outlive their freshness so they can be served stale while the
                // circuit is open.
                .time_to_live(config.cache_ttl.max(config.stale_for))
                .build()
        });
        let limiter = std::num::NonZeroU32::new(config.rate_per_minute).map(|rate| {
            let burst = std::num::NonZeroU32::new(config.burst).unwrap_or(rate);
            RateLimiter::direct(Quota::per_minute(rate).allow_burst(burst))
        });
        Self(Arc::new(Inner {
            client,
            cache,
            fresh_for: config.cache_ttl,
            flights: Arc::default(),
            limiter,
            breaker: Breaker::new(config.breaker_threshold, config.breaker_cool_down),
            budget: RetryBudget::new(config.retry_budget_percent, 10),
            config: config.clone(),
            call_timeout,
            metrics,
        }))
    }

    /// Whether the circuit is open (calls to Bloc are paused).
    pub fn circuit_open(&self) -> bool {
        self.0.breaker.is_open()
    }

    /// One customer by id; `None` when Bloc does not know it.
    pub async fn customer(&self, id: &str, call: &Call) -> Result<Option<Arc<Customer>>, Error> {
        match self.get(Resource::Customer(id.to_owned()), call).await? {
            Payload::Customer(found) => Ok(found),
            // A customer resource holds a customer: this would be a bug.
            Payload::List(_) => Err(Error::Transport { kind: "internal" }),
        }
    }

    /// Every customer.
    pub async fn customers(&self, call: &Call) -> Result<Arc<ListSnapshot>, Error> {
        match self.get(Resource::List, call).await? {
            Payload::List(list) => Ok(list),
            // The list resource holds a list: this would be a bug.
            Payload::Customer(_) => Err(Error::Transport { kind: "internal" }),
        }
    }

    async fn get(&self, resource: Resource, call: &Call) -> Fetched {
        let metrics = &self.0.metrics;
        if let Some(cache) = &self.0.cache {
            let cached = match call.fresh {
                true => None,
                false => cache.get(&resource).await,
            };
            if let Some(entry) = cached.filter(|e| e.at.elapsed() < self.0.fresh_for) {
                metrics.cache_hits.inc();
                call.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(entry.payload);
            }
            metrics.cache_misses.inc();
        }
        let joined = self
            .0
            .flights
            .join_or_start(&resource, call.deadline, |until| {
                self.clone().fetch(resource.clone(), call.clone(), until)
            });
        if joined.coalesced {
            metrics.coalesced.inc();
            call.stats.coalesced.fetch_add(1, Ordering::Relaxed);
        }
        let result = tokio::time::timeout_at(call.deadline, joined.answer)
            .await
            .unwrap_or(Err(Error::DeadlineExceeded));
        match result {
            Err(Error::CircuitOpen) => match self.stale(&resource).await {
                Some(payload) => {
                    metrics.stale_served.inc();
                    call.stats.stale.store(true, Ordering::Relaxed);
                    Ok(payload)
                }
                None => Err(Error::CircuitOpen),
            },
            other => other,
        }
    }

    async fn stale(&self, resource: &Resource) -> Option<Payload> {
        Some(self.0.cache.as_ref()?.get(resource).await?.payload)
    }

    /// The shared call: retries, then caches a success. It leaves the in-flight map after
    /// this returns (or however it ends: see [`flight`]).
    async fn fetch(self, resource: Resource, call: Call, until: Arc<Until>) -> Fetched {
        let result = self.with_retries(&resource, &call, &until).await;
        if let (Ok(payload), Some(cache)) = (&result, &self.0.cache) {
            let at = Instant::now();
            if let Payload::List(list) = payload {
                for customer in &list.customers {
                    let entry = Entry {
                        payload: Payload::Customer(Some(customer.clone())),
                        at,
                    };
                    cache
                        .insert(Resource::Customer(customer.id.clone()), entry)
                        .await;
                }
            }
            let entry = Entry {
                payload: payload.clone(),
                at,
            };
            cache.insert(resource, entry).await;
        }
        result
    }

    /// Attempts until one answers, or until retrying would not help, is not allowed, or could
    /// not start before every waiting request's deadline.
    async fn with_retries(&self, resource: &Resource, call: &Call, until: &Until) -> Fetched {
        self.0.budget.deposit();
        let mut retries: u32 = 0;
        loop {
            let result = self.attempt(resource, call, until.get()).await;
            let Err(error) = &result else {
                return result;
            };
            if !error.is_retryable() || retries >= self.0.config.max_retries {
                return result;
            }
            let backoff = error.retry_after().unwrap_or_else(|| {
                full_jitter(retries, self.0.config.retry_base, self.0.config.retry_cap)
            });
            // Checked: a wait too long to add to now ends after any deadline.
            let retry_at = Instant::now().checked_add(backoff);
            if retry_at.is_none_or(|at| at >= until.get()) || !self.0.budget.withdraw() {
                return result;
            }
            self.0.metrics.retries.inc();
            tokio::time::sleep(backoff).await;
            retries = retries.saturating_add(1);
        }
    }

    /// One call to Bloc, if it may start before `deadline`. Its timeout is the configured
    /// per-call timeout, never cut to a deadline, so that a timeout always means Bloc was
    /// slow (an outage for the breaker) and never that a request was in a hurry.
    async fn attempt(&self, resource: &Resource, call: &Call, deadline: Instant) -> Fetched {
        let inner = &self.0;
        if Instant::now() >= deadline {
            return Err(Error::DeadlineExceeded);
        }
        if inner.breaker.permit() == breaker::Permit::Refuse {
            return Err(Error::CircuitOpen);
        }
        self.wait_for_budget(deadline).await?;
        let options = CallOptions {
            timeout: Some(inner.call_timeout),
            request_id: call.request_id.clone(),
        };
        call.stats.calls.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        // Endpoint template only: the id in the path is the client's input.
        let span = tracing::info_span!("bloc_call", endpoint = resource.endpoint());
        let result = async {
            match resource {
                Resource::Customer(id) => inner
                    .client
                    .customer(id, &options)
                    .await
                    .map(|found| Payload::Customer(found.map(Arc::new))),
                Resource::List => inner.client.customers(&options).await.map(|list| {
                    Payload::List(Arc::new(ListSnapshot {
                        customers: list.customers.into_iter().map(Arc::new).collect(),
                        undecodable: list.undecodable,
                    }))
                }),
            }
        }
        .instrument(span)
        .await;
        let elapsed = started.elapsed();
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        call.stats.micros.fetch_add(micros, Ordering::Relaxed);
        let endpoint = resource.endpoint();
        inner
            .metrics
            .upstream_calls
            .with_label_values(&[endpoint, &status_label(&result)])
            .inc();
        inner
            .metrics
            .upstream_seconds
            .with_label_values(&[endpoint])
            .observe(elapsed.as_secs_f64());
        inner
            .breaker
            .record(matches!(&result, Err(e) if e.is_outage()));
        inner.metrics.circuit_state.set(inner.breaker.gauge());
        result
    }

    /// Waits for the process-wide token bucket, unless that would pass the deadline.
    async fn wait_for_budget(&self, deadline: Instant) -> Result<(), Error> {
        let Some(limiter) = &self.0.limiter else {
            return Ok(());
        };
        let clock = DefaultClock::default();
        loop {
            let Err(not_until) = limiter.check() else {
                return Ok(());
            };
            let wait = not_until.wait_time_from(clock.now());
            if Instant::now()
                .checked_add(wait)
                .is_none_or(|at| at > deadline)
            {
                self.0.metrics.limiter_rejections.inc();
                return Err(Error::BudgetExhausted { retry_after: wait });
            }
            self.0.metrics.limiter_waits.inc();
            tokio::time::sleep(wait).await;
        }
    }
}

/// "Full jitter" backoff: a random wait between zero and `base * 2^retry`, capped.
fn full_jitter(retry: u32, base: Duration, cap: Duration) -> Duration {
    let ceiling = base.saturating_mul(1 << retry.min(16)).min(cap);
    let mut bytes = [0u8; 8];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        // No randomness (the OS source failed): the longest wait is the safe one.
        return ceiling;
    }
    let fraction = u64::from_le_bytes(bytes) as f64 / u64::MAX as f64;
    ceiling.mul_f64(fraction)
}

fn status_label(result: &Fetched) -> String {
    match result {
        Ok(Payload::Customer(None)) => "404".into(),
        Ok(_) => "200".into(),
        Err(Error::Unauthorized { status } | Error::UnexpectedStatus { status }) => {
            status.to_string()
        }
        Err(Error::ServerError { status, .. }) => status.to_string(),
        Err(Error::RateLimited { .. }) => "429".into(),
        Err(Error::Timeout) => "timeout".into(),
        Err(Error::Transport { .. }) => "transport".into(),
        Err(Error::Decode { .. } | Error::Unsuccessful) => "bad_response".into(),
        Err(Error::CircuitOpen | Error::DeadlineExceeded | Error::BudgetExhausted { .. }) => {
            "not_sent".into()
        }
    }
}
