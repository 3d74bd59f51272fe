//! The way to Bloc for every request: a process-wide gateway in front of [`BlocClient`].
//!
//! It makes Bloc's budget (500 calls a minute) go as far as the data allows, with an explicit
//! freshness contract, and keeps the facade steady when Bloc is not:
//!
//! - **Freshness.** A cached record younger than the TTL (`--cache-ttl-ms`) is fresh. Up to
//!   the staleness bound (`--max-staleness-ms`) it is served at once while a refresh is queued
//!   (stale-while-revalidate), and the answer says how old it is. Past the bound it must be
//!   fetched again, or the field errors. A client's `Cache-Control: max-age=N` (or
//!   `no-cache`, which is `max-age=0`) tightens the bound for its request; its refetches are
//!   its own calls, in its turn. Ages count from when the call that brought the record was
//!   sent, so they are never understated.
//! - **One queue in front of the budget** ([`scheduler`]): a client waiting on a miss goes
//!   before any refresh, clients take turns, refreshes go most-demanded first and only while
//!   a reserve of tokens is left for misses. A client whose turn would come after its
//!   deadline is refused at once (`UPSTREAM_RATE_LIMITED`), never made to wait in vain.
//! - **Many records for one call** ([`planner`]): when the records due (misses waiting, or
//!   refreshes gathered) are more than single calls can buy cheaply or in time, one list call
//!   buys them all, decided from the list's measured size and latency.
//! - Coalescing: concurrent requests for the same resource share one call in flight. The
//!   shared call is no request's: each attempt has the configured per-call timeout, it may
//!   start attempts until the latest deadline of the requests waiting for it, and it finishes
//!   (filling the cache) even if they all go away.
//! - Retries for 5xx, 429, timeouts and broken connections, with exponential backoff and full
//!   jitter, honouring `Retry-After` (at most a minute), within the deadline and a retry
//!   budget. Background refreshes are not retried: the record is still served, and the next
//!   answer served stale queues another.
//! - A circuit breaker that counts only Bloc's own failures: 5xx, broken connections, and the
//!   per-call timeout elapsing. While it is open, cached records up to `--stale-for-secs` old
//!   are served marked stale (stale-if-error), unless the client's own `max-age` forbids.
//!
//! There is one Bloc key per process, so the resource alone keys the cache.

mod breaker;
mod bucket;
mod budget;
mod flight;
mod planner;
mod scheduler;

use std::{
    collections::HashMap,
    sync::{
        Arc, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use axum::http::HeaderValue;
use moka::future::Cache;
use tokio::{
    sync::Notify,
    time::{Duration, Instant},
};
use tracing::Instrument;

use self::breaker::Breaker;
use self::budget::RetryBudget;
use self::flight::{Flights, Until};
use self::planner::{Choice, Demand, ListMeasure, Planner};
use self::scheduler::{Outlook, Queued, Scheduler, Step};
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
    /// Age of the oldest answer served past its freshness, in milliseconds (0: none).
    oldest_ms: AtomicU64,
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
        self.stale.load(Ordering::Relaxed)
    }
    /// The age of the oldest answer that was not fresh.
    pub fn oldest(&self) -> Option<Duration> {
        match self.oldest_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    fn served_stale(&self, age: Duration) {
        self.stale.store(true, Ordering::Relaxed);
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

/// Something Bloc serves: a record, or a whole collection.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Resource {
    Customer(String),
    List,
}

/// The planner's name for the customer collection.
const CUSTOMERS: &str = "customers";

impl Resource {
    fn endpoint(&self) -> &'static str {
        match self {
            Resource::Customer(_) => "GET /customers/{id}",
            Resource::List => "GET /customers",
        }
    }

    /// Whether a successful fetch of `self` brings `other` too (a list brings its records).
    fn covers(&self, other: &Resource) -> bool {
        self == other || matches!((self, other), (Resource::List, Resource::Customer(_)))
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
    /// When the call that brought it was sent: its age counts from here.
    at: Instant,
}

type Fetched = Result<Payload, Error>;

/// Who a call is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// A client waits for it: it asks the scheduler for its token, and may be retried.
    Waited,
    /// A background refresh: its token was taken by the scheduler, and it is not retried.
    Refresh,
}

/// The process-wide gateway. Cheap to clone.
#[derive(Clone)]
pub struct Gateway(Arc<Inner>);

struct Inner {
    client: BlocClient,
    cache: Option<Cache<Resource, Entry>>,
    fresh_for: Duration,
    max_staleness: Duration,
    flights: Arc<Flights>,
    /// `None` when the budget is unlimited (`--upstream-rate 0`).
    scheduler: Option<Scheduler>,
    /// Whether the scheduler's driver task runs (started with the first request).
    driving: AtomicBool,
    planner: Planner,
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
                .max_capacity(config.cache_capacity.saturating_mul(1024))
                // Weighed in bytes, so the capacity bounds memory whatever size Bloc's
                // records are. The list weighs only its own pointers: it shares its records
                // with their entries, and there is one list, whose records are bounded by
                // the body limit. (Weighed twice, a 20,000-customer list did not stay in the
                // default capacity beside its records: tests/api/freshness.rs.)
                .weigher(|_, entry: &Entry| match &entry.payload {
                    Payload::List(list) => {
                        let pointers = list.customers.len().saturating_mul(POINTER_WEIGHT);
                        u32::try_from(pointers)
                            .unwrap_or(u32::MAX)
                            .saturating_add(ENTRY_OVERHEAD)
                    }
                    Payload::Customer(Some(customer)) => customer.cache_weight(),
                    Payload::Customer(None) => ENTRY_OVERHEAD,
                })
                // Entries outlive their freshness: they are served inside the staleness
                // bound, and while the circuit is open.
                .time_to_live(
                    config
                        .cache_ttl
                        .max(config.max_staleness)
                        .max(config.stale_for),
                )
                .build()
        });
        Self(Arc::new(Inner {
            client,
            cache,
            fresh_for: config.cache_ttl,
            max_staleness: config.max_staleness.max(config.cache_ttl),
            flights: Arc::default(),
            scheduler: Scheduler::new(config.rate_per_minute, config.burst),
            driving: AtomicBool::new(false),
            planner: Planner::default(),
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

    /// The oldest answer `call` accepts: the service's bound, or the client's if tighter.
    fn bound(&self, call: &Call) -> Duration {
        let bound = self.0.max_staleness;
        call.max_age.map_or(bound, |max_age| max_age.min(bound))
    }

    async fn get(&self, resource: Resource, call: &Call) -> Fetched {
        let inner = &self.0;
        let metrics = &inner.metrics;
        let mut kept = None;
        if let Some(cache) = &inner.cache {
            if let Some(entry) = cache.get(&resource).await {
                let age = entry.at.elapsed();
                if age <= self.bound(call) {
                    metrics.cache_hits.inc();
                    call.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
                    if age >= inner.fresh_for {
                        metrics.served_revalidating.inc();
                        call.stats.served_stale(age);
                        let due_by = entry.at.checked_add(inner.max_staleness);
                        self.revalidate(&resource, due_by.unwrap_or(entry.at));
                    }
                    return Ok(entry.payload);
                }
                kept = Some(entry);
            }
            metrics.cache_misses.inc();
        }
        let result = match self.through_list(&resource, call).await {
            Some(found) => found,
            None => self.fetch_waited(resource, call).await,
        };
        match result {
            Err(Error::CircuitOpen) => {
                // Stale-if-error: the service keeps records for `stale_for`; a client's own
                // max-age still holds.
                let limit = call.max_age.unwrap_or(Duration::MAX);
                match kept.filter(|e| e.at.elapsed() <= limit) {
                    Some(entry) => {
                        metrics.stale_served.inc();
                        call.stats.served_stale(entry.at.elapsed());
                        Ok(entry.payload)
                    }
                    None => Err(Error::CircuitOpen),
                }
            }
            other => other,
        }
    }

    /// Waits for `resource` from the call in flight, or from a new one.
    async fn fetch_waited(&self, resource: Resource, call: &Call) -> Fetched {
        let metrics = &self.0.metrics;
        let joined = self
            .0
            .flights
            .join_or_start(&resource, call.deadline, |until| {
                self.clone()
                    .fetch(resource.clone(), call.clone(), until, Purpose::Waited)
            });
        if joined.coalesced {
            metrics.coalesced.inc();
            call.stats.coalesced.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::timeout_at(call.deadline, joined.answer)
            .await
            .unwrap_or(Err(Error::DeadlineExceeded))
    }

    /// A missed customer through the list, when the planner says the list is the better buy
    /// for the misses waiting now, or a list call is already in flight. `None`: make a call
    /// of its own (also when the list failed, or does not hold the id).
    async fn through_list(&self, resource: &Resource, call: &Call) -> Option<Fetched> {
        let inner = &self.0;
        let (Resource::Customer(_), Some(scheduler), Some(cache)) =
            (resource, &inner.scheduler, &inner.cache)
        else {
            return None;
        };
        if let Some(list) = cache.get(&Resource::List).await
            && list.at.elapsed() < inner.fresh_for
        {
            // A fresh list that does not hold the id: it is new, or no customer at all.
            return None;
        }
        let now = Instant::now();
        let slack = call.deadline.saturating_duration_since(now);
        if inner.flights.contains(&Resource::List) {
            // Join the list in flight, unless it is known to take longer than there is.
            let measured = inner.planner.list_measure(CUSTOMERS);
            if measured.is_some_and(|m| m.latency >= slack) {
                return None;
            }
        } else {
            let misses = inner.flights.count(|r| matches!(r, Resource::Customer(_)));
            let demand = Demand {
                distinct: misses.saturating_add(1),
                affordable: scheduler.affordable(Duration::ZERO),
                slack,
            };
            if inner.planner.choose(CUSTOMERS, demand, now) != Choice::List {
                return None;
            }
        }
        self.fetch_waited(Resource::List, call).await.ok()?;
        let entry = cache.get(resource).await?;
        let age = entry.at.elapsed();
        (age <= self.bound(call)).then(|| {
            inner.metrics.misses_via_list.inc();
            if age >= inner.fresh_for {
                call.stats.served_stale(age);
            }
            Ok(entry.payload)
        })
    }

    /// Queues a refresh of a record served stale (with a budget), or starts it (without).
    fn revalidate(&self, resource: &Resource, due_by: Instant) {
        match &self.0.scheduler {
            Some(scheduler) => {
                scheduler.queue_refresh(resource, due_by);
                self.ensure_driver(scheduler);
            }
            None => self.refresh(resource.clone()),
        }
    }

    /// Starts a background refresh, unless a call for it is already in flight.
    fn refresh(&self, resource: Resource) {
        // The refresh's token is taken and it is not retried, so its deadline only stops a
        // call that could not even start (the breaker's probe pending) from lingering.
        let deadline = Instant::now()
            .checked_add(self.0.call_timeout)
            .unwrap_or_else(Instant::now);
        let call = Call {
            deadline,
            max_age: None,
            client: Arc::from("refresh"),
            request_id: None,
            stats: Arc::default(),
        };
        let plan = match resource {
            Resource::List => "list",
            Resource::Customer(_) => "single",
        };
        let joined = self.0.flights.join_or_start(&resource, deadline, |until| {
            self.clone()
                .fetch(resource.clone(), call, until, Purpose::Refresh)
        });
        if !joined.coalesced {
            self.0.metrics.refreshes.with_label_values(&[plan]).inc();
        }
    }

    /// Starts the task that hands tokens to waiting clients and starts refreshes, once.
    fn ensure_driver(&self, scheduler: &Scheduler) {
        // A read first: this runs on every answer served stale.
        if self.0.driving.load(Ordering::Acquire) || self.0.driving.swap(true, Ordering::AcqRel) {
            return;
        }
        let gateway = Arc::downgrade(&self.0);
        tokio::spawn(drive(gateway, scheduler.waker()));
    }

    /// What a refresh turn buys: the whole list, when the planner finds it the better buy
    /// for the customers queued; else the most demanded refresh. Drops what a call in flight
    /// will bring anyway (the resource itself, or the list it is in).
    fn plan_refresh(
        &self,
        queue: &mut HashMap<Resource, Queued>,
        outlook: Outlook,
    ) -> Option<Resource> {
        let inner = &self.0;
        let listing = inner.flights.contains(&Resource::List);
        queue.retain(|resource, _| {
            !(inner.flights.contains(resource) || listing && Resource::List.covers(resource))
        });
        let now = Instant::now();
        let customers = queue
            .iter()
            .filter(|(r, _)| matches!(r, Resource::Customer(_)));
        let (count, due_by) = customers.fold((0usize, None::<Instant>), |(n, due), (_, q)| {
            (
                n.saturating_add(1),
                Some(due.map_or(q.due_by, |d| d.min(q.due_by))),
            )
        });
        if let Some(due_by) = due_by {
            let slack = due_by.saturating_duration_since(now);
            let demand = Demand {
                distinct: count,
                affordable: outlook.affordable(Duration::ZERO),
                slack,
            };
            if queue.contains_key(&Resource::List)
                || inner.planner.choose(CUSTOMERS, demand, now) == Choice::List
            {
                queue.retain(|resource, _| !Resource::List.covers(resource));
                return Some(Resource::List);
            }
        }
        let best = scheduler::most_wanted(queue)?;
        scheduler::take(queue, &best);
        Some(best)
    }

    /// The shared call: retries, then caches a success. It leaves the in-flight map after
    /// this returns (or however it ends: see [`flight`]).
    async fn fetch(
        self,
        resource: Resource,
        call: Call,
        until: Arc<Until>,
        purpose: Purpose,
    ) -> Fetched {
        let (result, sent) = self.with_retries(&resource, &call, &until, purpose).await;
        let inner = &self.0;
        match &result {
            Ok(payload) => {
                if let Some(scheduler) = &inner.scheduler {
                    scheduler.fulfilled(|queued| resource.covers(queued));
                }
                if let Some(cache) = &inner.cache {
                    self.store(&resource, payload, sent, cache).await;
                }
            }
            Err(error) if resource == Resource::List && error.is_answer() => {
                let too_large = matches!(error, Error::BodyTooLarge { .. });
                inner
                    .planner
                    .observe_list_failed(CUSTOMERS, too_large, Instant::now());
            }
            Err(_) => {}
        }
        result
    }

    async fn store(
        &self,
        resource: &Resource,
        payload: &Payload,
        at: Instant,
        cache: &Cache<Resource, Entry>,
    ) {
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
        cache.insert(resource.clone(), entry).await;
    }

    /// Attempts until one answers, or until retrying would not help, is not allowed, or could
    /// not start before every waiting request's deadline. Also says when the last attempt
    /// was sent.
    async fn with_retries(
        &self,
        resource: &Resource,
        call: &Call,
        until: &Until,
        purpose: Purpose,
    ) -> (Fetched, Instant) {
        self.0.budget.deposit();
        let mut retries: u32 = 0;
        let mut prepaid = purpose == Purpose::Refresh;
        loop {
            let sent = Instant::now();
            let result = self.attempt(resource, call, until.get(), prepaid).await;
            prepaid = false;
            let Err(error) = &result else {
                return (result, sent);
            };
            if purpose == Purpose::Refresh
                || !error.is_retryable()
                || retries >= self.0.config.max_retries
            {
                return (result, sent);
            }
            let backoff = error.retry_after().unwrap_or_else(|| {
                full_jitter(retries, self.0.config.retry_base, self.0.config.retry_cap)
            });
            // Checked: a wait too long to add to now ends after any deadline.
            let retry_at = Instant::now().checked_add(backoff);
            if retry_at.is_none_or(|at| at >= until.get()) || !self.0.budget.withdraw() {
                return (result, sent);
            }
            self.0.metrics.retries.inc();
            tokio::time::sleep(backoff).await;
            retries = retries.saturating_add(1);
        }
    }

    /// One call to Bloc, if it may start before `deadline` (and get a token by then, unless
    /// `prepaid`). Its timeout is the configured per-call timeout, never cut to a deadline,
    /// so that a timeout always means Bloc was slow (an outage for the breaker) and never
    /// that a request was in a hurry.
    async fn attempt(
        &self,
        resource: &Resource,
        call: &Call,
        deadline: Instant,
        prepaid: bool,
    ) -> Fetched {
        let inner = &self.0;
        if Instant::now() >= deadline {
            return Err(Error::DeadlineExceeded);
        }
        if inner.breaker.permit() == breaker::Permit::Refuse {
            return Err(Error::CircuitOpen);
        }
        if !prepaid {
            self.wait_for_budget(resource, call, deadline).await?;
        }
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
        self.learn(&result, elapsed);
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

    /// Tells the planner what an answered call cost.
    fn learn(&self, result: &Fetched, elapsed: Duration) {
        match result {
            Ok(Payload::Customer(_)) => self.0.planner.observe_single(elapsed),
            Ok(Payload::List(list)) => {
                let bytes = list
                    .customers
                    .iter()
                    .fold(0usize, |sum, c| sum.saturating_add(c.wire_bytes()));
                let measure = ListMeasure {
                    records: list.customers.len(),
                    bytes,
                    latency: elapsed,
                };
                self.0.planner.observe_list(CUSTOMERS, measure);
            }
            Err(_) => {}
        }
    }

    /// Takes a token from the scheduler for a call a client waits on, in the client's turn,
    /// or fails at once if that turn would come after `deadline`.
    async fn wait_for_budget(
        &self,
        resource: &Resource,
        call: &Call,
        deadline: Instant,
    ) -> Result<(), Error> {
        let Some(scheduler) = &self.0.scheduler else {
            return Ok(());
        };
        self.ensure_driver(scheduler);
        let expected = match resource {
            Resource::List => self.0.planner.list_measure(CUSTOMERS).map(|m| m.latency),
            Resource::Customer(_) => self.0.planner.single_latency(),
        };
        let queued = scheduler.waiting() > 0;
        match scheduler
            .admit(&call.client, deadline, expected.unwrap_or_default())
            .await
        {
            Ok(()) => {
                if queued {
                    self.0.metrics.limiter_waits.inc();
                }
                Ok(())
            }
            Err(retry_after) => {
                self.0.metrics.limiter_rejections.inc();
                Err(Error::BudgetExhausted { retry_after })
            }
        }
    }
}

/// Bytes a cache entry is taken to hold beyond its JSON (keys, timestamps, the map's own).
const ENTRY_OVERHEAD: u32 = 128;

/// Bytes the cached list holds per record it shares with the records' own entries.
const POINTER_WEIGHT: usize = std::mem::size_of::<Arc<Customer>>();

/// The scheduler's driver: grants tokens to waiting clients in turn, and starts refreshes
/// when the budget has room. Holds the gateway weakly, so it ends when the gateway does.
async fn drive(gateway: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        let notified = wake.notified();
        tokio::pin!(notified);
        // Registered before the step, so a wake-up during it is not lost.
        notified.as_mut().enable();
        let sleep = {
            let Some(inner) = gateway.upgrade() else {
                return;
            };
            let gateway = Gateway(inner);
            let Some(scheduler) = &gateway.0.scheduler else {
                return;
            };
            match scheduler.step(|queue, outlook| gateway.plan_refresh(queue, outlook)) {
                Step::Refresh(resource) => {
                    gateway.refresh(resource);
                    continue;
                }
                Step::Sleep(until) => until,
            }
        };
        match sleep {
            Some(until) => {
                tokio::select! {
                    () = &mut notified => {}
                    () = tokio::time::sleep_until(until) => {}
                }
            }
            None => notified.await,
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
        Err(Error::Decode { .. } | Error::BodyTooLarge { .. } | Error::Unsuccessful) => {
            "bad_response".into()
        }
        Err(Error::CircuitOpen | Error::DeadlineExceeded | Error::BudgetExhausted { .. }) => {
            "not_sent".into()
        }
    }
}
