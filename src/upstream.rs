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
//!   buys them all, decided from the list call's measured latency (which carries its size)
//!   and whether it fits the body limit.
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
//! - With `--redis-url`, replicas share the bucket, the answers and who fetches what
//!   ([`replicas`], over [`crate::shared`]); the local cache stays in front.
//!
//! There is one Bloc key per process, so the resource alone keys the cache.

mod breaker;
mod bucket;
mod budget;
mod call;
mod fetch;
mod flight;
mod planner;
mod refresh;
mod replicas;
mod scheduler;
mod settings;

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use moka::future::Cache;
use tokio::time::{Duration, Instant};

use self::breaker::Breaker;
use self::bucket::Bucket;
use self::budget::RetryBudget;
use self::flight::Flights;
use self::planner::{Choice, Demand, Planner};
use self::scheduler::Scheduler;
use crate::{
    bloc::{
        Account, BlocClient, Card, Customer, Endpoint, Error, Records, Transaction,
        TransactionsQuery, Wallet,
        models::Model,
        wire::{self, Wire},
    },
    metrics::Metrics,
    shared::{BucketShape, Shared},
};

/// Every customer Bloc returned in one list call.
pub struct ListSnapshot {
    /// Readable records, in Bloc's order.
    pub customers: Vec<Arc<Customer>>,
    /// Records left out because they could not be read at all.
    pub undecodable: usize,
    /// Each record's position by id (the first, should Bloc list an id twice), built once per
    /// list call so that requests find a listed customer without a map of their own.
    index: std::collections::HashMap<String, usize, foldhash::quality::RandomState>,
}

impl ListSnapshot {
    /// The list's records, indexed by id.
    pub fn new(customers: Vec<Arc<Customer>>, undecodable: usize) -> Self {
        let mut index = std::collections::HashMap::with_capacity_and_hasher(
            customers.len(),
            foldhash::quality::RandomState::default(),
        );
        for (position, customer) in customers.iter().enumerate() {
            index.entry(customer.id.clone()).or_insert(position);
        }
        Self {
            customers,
            undecodable,
            index,
        }
    }

    /// The listed customer with this id.
    pub fn find(&self, id: &str) -> Option<&Arc<Customer>> {
        self.customers.get(*self.index.get(id)?)
    }
}

pub use self::call::{Call, RequestStats};
pub use self::settings::Resilience;

/// Something Bloc serves: a record, or a whole collection.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Resource {
    Customer(String),
    List,
    /// A customer's accounts, by customer id.
    Accounts(String),
    /// A customer's cards, by customer id.
    Cards(String),
    /// A customer's wallets, by customer id.
    Wallets(String),
    /// One page of a customer's or an account's transactions.
    Transactions(TransactionsQuery),
    /// An account by id.
    Account(String),
    /// An account by number.
    AccountNumber(String),
    /// A transaction by reference.
    Transaction(String),
}

/// The planner's name for the customer collection.
const CUSTOMERS: &str = "customers";

impl Resource {
    /// The endpoint's template, for metrics and spans (never the client's id).
    fn endpoint(&self) -> &'static str {
        match self {
            Resource::Customer(_) => "GET /customers/{id}",
            Resource::List => "GET /customers",
            Resource::Accounts(_) => "GET /accounts/customers/accounts/{id}",
            Resource::Cards(_) => "GET /cards/customer/{id}",
            Resource::Wallets(_) => "GET /wallets/customers/{id}",
            Resource::Transactions(_) => "GET /transactions",
            Resource::Account(_) => "GET /accounts/{id}",
            Resource::AccountNumber(_) => "GET /accounts/number/{number}",
            Resource::Transaction(_) => "GET /transactions/reference/{reference}",
        }
    }

    /// The call that fetches it.
    fn call(&self) -> Endpoint<'_> {
        match self {
            Resource::Customer(id) => Endpoint::Customer(id),
            Resource::List => Endpoint::Customers,
            Resource::Accounts(id) => Endpoint::CustomerAccounts(id),
            Resource::Cards(id) => Endpoint::CustomerCards(id),
            Resource::Wallets(id) => Endpoint::CustomerWallets(id),
            Resource::Transactions(query) => Endpoint::Transactions(query),
            Resource::Account(id) => Endpoint::Account(id),
            Resource::AccountNumber(number) => Endpoint::AccountByNumber(number),
            Resource::Transaction(reference) => Endpoint::Transaction(reference),
        }
    }

    /// What Bloc's answer holds, decoded (and checked: a record must be the one asked for).
    fn decode(&self, answer: &Wire) -> Fetched {
        Ok(match self {
            Resource::Customer(id) => Payload::Customer(wire::customer(id, answer)?),
            Resource::List => {
                let list = wire::customers(answer)?;
                Payload::List(Arc::new(ListSnapshot::new(
                    list.customers.into_iter().map(Arc::new).collect(),
                    list.undecodable,
                )))
            }
            Resource::Accounts(_) => Payload::Accounts(Arc::new(wire::records(answer)?)),
            Resource::Cards(_) => Payload::Cards(Arc::new(wire::records(answer)?)),
            Resource::Wallets(_) => Payload::Wallets(Arc::new(wire::records(answer)?)),
            Resource::Transactions(_) => Payload::Transactions(Arc::new(wire::records(answer)?)),
            Resource::Account(id) => Payload::Account(wire::account(id, answer)?),
            Resource::AccountNumber(number) => {
                Payload::Account(wire::account_by_number(number, answer)?)
            }
            Resource::Transaction(reference) => {
                Payload::Transaction(wire::transaction(reference, answer)?)
            }
        })
    }

    /// [`Resource::decode`], on tokio's blocking pool for a large answer (a list of
    /// thousands of records takes tens of milliseconds, which would stall a request worker).
    async fn decode_off_worker(&self, answer: Wire) -> Fetched {
        if answer.len() < wire::DECODE_ON_WORKER_BELOW {
            return self.decode(&answer);
        }
        let resource = self.clone();
        tokio::task::spawn_blocking(move || resource.decode(&answer))
            .await
            .unwrap_or(Err(Error::Transport { kind: "internal" }))
    }

    /// Whether a successful fetch of `self` brings `other` too (a list brings its records,
    /// a customer's accounts each account).
    fn covers(&self, other: &Resource) -> bool {
        self == other
            || matches!(
                (self, other),
                (Resource::List, Resource::Customer(_))
                    | (Resource::Accounts(_), Resource::Account(_))
            )
    }
}

/// What a [`Resource`] holds.
#[derive(Clone)]
pub(crate) enum Payload {
    Customer(Option<Arc<Customer>>),
    List(Arc<ListSnapshot>),
    Accounts(Arc<Records<Account>>),
    Cards(Arc<Records<Card>>),
    Wallets(Arc<Records<Wallet>>),
    Transactions(Arc<Records<Transaction>>),
    Account(Option<Arc<Account>>),
    Transaction(Option<Arc<Transaction>>),
}

impl Payload {
    /// What the entry weighs in the cache, in bytes.
    fn weight(&self) -> u32 {
        match self {
            // The list weighs only its own pointers: it shares its records with their
            // entries, and there is one list, whose records are bounded by the body limit.
            // (Weighed twice, a 20,000-customer list did not stay in the default capacity
            // beside its records: tests/api/freshness.rs.)
            Payload::List(list) => {
                let pointers = list.customers.len().saturating_mul(POINTER_WEIGHT);
                u32::try_from(pointers)
                    .unwrap_or(u32::MAX)
                    .saturating_add(ENTRY_OVERHEAD)
            }
            Payload::Customer(Some(customer)) => customer.cache_weight(),
            Payload::Accounts(records) => records.cache_weight(),
            Payload::Cards(records) => records.cache_weight(),
            Payload::Wallets(records) => records.cache_weight(),
            Payload::Transactions(records) => records.cache_weight(),
            Payload::Account(Some(account)) => account.cache_weight(),
            Payload::Transaction(Some(transaction)) => transaction.cache_weight(),
            Payload::Customer(None) | Payload::Account(None) | Payload::Transaction(None) => {
                ENTRY_OVERHEAD
            }
        }
    }

    /// Whether it says the resource does not exist (Bloc's 404).
    fn is_missing(&self) -> bool {
        matches!(
            self,
            Payload::Customer(None) | Payload::Account(None) | Payload::Transaction(None)
        )
    }
}

#[derive(Clone)]
struct Entry {
    payload: Payload,
    /// When the call that brought it was sent: its age counts from here.
    at: Instant,
}

/// What fetching a resource gave.
pub(crate) type Fetched = Result<Payload, Error>;

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
    /// The state shared with the other replicas, with `--redis-url`.
    shared: Option<Shared>,
    /// The budget's shape, for the shared bucket (`None`: unlimited).
    shape: Option<BucketShape>,
    /// Tokens a refresh leaves in the shared bucket for misses (the scheduler's reserve).
    reserve: u32,
    /// The budget's local share while Redis is down.
    local_share: replicas::LocalShare,
    /// How long an entry is kept (fresh, stale-while-revalidate, stale-if-error).
    keep_for: Duration,
}

impl Gateway {
    /// A gateway over `client` with the given resilience settings.
    pub fn new(
        client: BlocClient,
        call_timeout: std::time::Duration,
        config: &Resilience,
        metrics: Arc<Metrics>,
        shared: Option<Shared>,
    ) -> Self {
        let keep_for = config
            .cache_ttl
            .max(config.max_staleness)
            .max(config.stale_for);
        let shape = Bucket::new(config.rate_per_minute, config.burst, Instant::now()).map(|b| {
            let (interval, capacity) = b.shape();
            BucketShape { interval, capacity }
        });
        let cache = (!config.cache_ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(config.cache_capacity.saturating_mul(1024))
                // Weighed in bytes, so the capacity bounds memory whatever size Bloc's
                // records are.
                .weigher(|_, entry: &Entry| entry.payload.weight())
                // Entries outlive their freshness: they are served inside the staleness
                // bound, and while the circuit is open.
                .time_to_live(keep_for)
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
            shared,
            reserve: shape.map_or(0, |s| scheduler::reserve(s.capacity)),
            shape,
            local_share: replicas::LocalShare::default(),
            keep_for,
        }))
    }

    /// The shared state's condition (`up`, `down`, `connecting`) and the live replicas
    /// counted; `None` without `--redis-url`.
    pub fn shared_state(&self) -> Option<(&'static str, u32)> {
        let shared = self.0.shared.as_ref()?;
        Some((shared.state(), shared.live_replicas()))
    }

    /// Whether the circuit is open (calls to Bloc are paused).
    pub fn circuit_open(&self) -> bool {
        self.0.breaker.is_open()
    }

    /// The circuit's state in words: `closed`, `open` (calls paused) or `half_open` (one probe
    /// allowed), as the `bloc_circuit_state` gauge has it.
    pub fn circuit_state(&self) -> &'static str {
        match self.0.breaker.gauge() {
            0 => "closed",
            1 if self.0.breaker.is_open() => "open",
            // Open with its cool-down over: the next call is the probe.
            _ => "half_open",
        }
    }

    /// One customer by id; `None` when Bloc does not know it.
    pub async fn customer(&self, id: &str, call: &Call) -> Result<Option<Arc<Customer>>, Error> {
        match self.get(Resource::Customer(id.to_owned()), call).await? {
            Payload::Customer(found) => Ok(found),
            // A customer resource holds a customer: anything else would be a bug.
            _ => Err(Error::Transport { kind: "internal" }),
        }
    }

    /// Every customer.
    pub async fn customers(&self, call: &Call) -> Result<Arc<ListSnapshot>, Error> {
        match self.get(Resource::List, call).await? {
            Payload::List(list) => Ok(list),
            // The list resource holds a list: anything else would be a bug.
            _ => Err(Error::Transport { kind: "internal" }),
        }
    }

    /// The oldest answer `call` accepts: the service's bound, or the client's if tighter.
    fn bound(&self, call: &Call) -> Duration {
        let bound = self.0.max_staleness;
        call.max_age.map_or(bound, |max_age| max_age.min(bound))
    }

    /// Whatever `resource` holds, through the cache, the budget and the breaker like a
    /// customer.
    pub(crate) async fn resource(&self, resource: Resource, call: &Call) -> Fetched {
        self.get(resource, call).await
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
            match self.shared_answer(&resource, call, None).await {
                Ok(found) => {
                    metrics.cache_hits.inc();
                    call.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
                    return found;
                }
                // An older answer from another replica, still good for stale-if-error.
                Err(Some(entry)) if kept.as_ref().is_none_or(|k| k.at < entry.at) => {
                    kept = Some(entry);
                }
                Err(_) => {}
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
            let latency = inner.planner.list_latency(CUSTOMERS);
            if latency.is_some_and(|latency| latency >= slack) {
                return None;
            }
        } else {
            let misses = inner.flights.count(|r| matches!(r, Resource::Customer(_)));
            let demand = Demand {
                distinct: misses.saturating_add(1),
                affordable: scheduler.affordable(),
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
}

/// Bytes a cache entry is taken to hold beyond its JSON (keys, timestamps, the map's own).
const ENTRY_OVERHEAD: u32 = 128;

/// Bytes the cached list holds per record it shares with the records' own entries.
const POINTER_WEIGHT: usize = std::mem::size_of::<Arc<Customer>>();
