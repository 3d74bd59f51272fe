//! Per-request batching and de-duplication of Bloc lookups.
//!
//! One [`Upstream`] lives for exactly one HTTP request (all operations of a batched request
//! share it; nothing is shared across requests here: that is the [`Gateway`]'s job). It is a
//! data loader shaped by Bloc's API:
//!
//! - **De-duplication:** every id maps to one shared lookup (in flight or finished) for the
//!   life of the request, so an id is looked up at most once however many fields, aliases or
//!   operations name it. Each id carries its own `Result`, so one failing id never fails
//!   another.
//! - **Batching:** the ids first asked for while the executor runs one pass over the
//!   request's ready resolvers form one batch (counted in `extensions.upstream.batches`,
//!   traced as one `loader_batch` span). Bloc has no bulk endpoint, so a batch is a fan-out
//!   of one lookup per id, at most `concurrency` at a time.
//! - **Relations** (`relations`): a customer's accounts, cards, wallets and transaction pages,
//!   and lookups of accounts and transactions, are one shared fetch per resource per request,
//!   joining the open batch like a customer's lookup.
//! - **An allowance:** the loader starts no more lookups than the request was priced at (its
//!   Bloc calls, counted by the cost model and charged to the client); past it a field gets
//!   `MAX_UPSTREAM_CALLS_EXCEEDED` instead of a call.
//! - **No batch window:** each lookup starts the moment it is asked for. A loader for a bulk
//!   endpoint holds its batch open for a timer tick to collect more keys; with one call per
//!   id that wait buys nothing. (Until try 6 in BENCHMARKS.md this was async-graphql's
//!   `DataLoader`, which holds even a zero delay on the timer wheel and cost about 5,000
//!   instructions per load.)

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use futures::{
    FutureExt,
    future::{BoxFuture, Shared},
};
use tokio::sync::{OnceCell, Semaphore};
use tracing::{Instrument, Span};

use crate::{
    bloc::{self, Customer},
    upstream::{Call, Fetched, Gateway, ListSnapshot, RequestStats, Resource},
};

mod relations;

pub(crate) use relations::{TransactionPage, priced_pages, transactions_per_page};

/// A relation's fetch, shared by everything in the request that asks for the same resource.
type SharedFetch = Shared<BoxFuture<'static, Fetched>>;

/// The outcome of looking up one id.
pub(crate) type Lookup = Result<Option<Arc<Customer>>, bloc::Error>;

/// The outcome of the list call.
pub(crate) type Listing = Result<Arc<ListSnapshot>, bloc::Error>;

/// One id's lookup, shared by everything in the request that names the id.
type SharedLookup = Shared<BoxFuture<'static, Lookup>>;

/// Everything resolvers use to reach Bloc during one HTTP request.
pub struct Upstream {
    gateway: Gateway,
    call: Call,
    permits: Arc<Semaphore>,
    /// Every id this request has asked for, with its lookup.
    /// Keyed with foldhash (seeded per process): ids are few per request, and SipHash was a
    /// measurable share of a one-customer request.
    lookups: Mutex<HashMap<String, SharedLookup, foldhash::quality::RandomState>>,
    /// The batch that ids asked for now join, until the current executor pass ends.
    open: Arc<Mutex<Option<Batch>>>,
    listing: OnceCell<Listing>,
    /// Set when the list call starts, so lookups can wait for it instead of racing it.
    listing_started: AtomicBool,
    /// Every other resource this request has asked for (accounts, cards, wallets,
    /// transaction pages, lookups by account or reference), with its fetch.
    relations: Mutex<HashMap<Resource, SharedFetch, foldhash::quality::RandomState>>,
    /// Lookups this request may still start: the Bloc calls it was priced at (and charged
    /// for) before it ran. Only a list longer than the cost model assumed can use them up.
    allowance: AtomicUsize,
}

/// A batch still taking ids.
struct Batch {
    /// The `loader_batch` span its lookups run in; `ids` is recorded when it closes.
    span: Span,
    ids: usize,
}

impl Upstream {
    /// A fresh loader for one HTTP request.
    pub fn new(gateway: Gateway, call: Call, concurrency: usize) -> Self {
        Self {
            gateway,
            call,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            lookups: Mutex::default(),
            open: Arc::default(),
            listing: OnceCell::new(),
            listing_started: AtomicBool::new(false),
            relations: Mutex::default(),
            allowance: AtomicUsize::new(usize::MAX),
        }
    }

    /// The loader, allowed to start at most `calls` lookups (what the request was priced at).
    pub fn with_allowance(self, calls: usize) -> Self {
        self.allowance.store(calls, Ordering::Relaxed);
        self
    }

    /// Takes one lookup from the allowance; false when none is left.
    fn spend(&self) -> bool {
        self.allowance
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }

    /// Counters for the upstream traffic of this request so far.
    pub fn stats(&self) -> &RequestStats {
        &self.call.stats
    }

    /// One customer by id. When this request has already started the list call, the lookup
    /// waits for it: an id the list holds costs no call of its own (unless this request
    /// looked it up before the list started: that lookup stands).
    pub(crate) async fn customer(&self, id: &str) -> Lookup {
        if self.listing_started.load(Ordering::Acquire) {
            // A failed list is that field's error; the lookup then makes its own call.
            // Boxed: the rare path would otherwise make every lookup's future (which
            // async-graphql boxes and moves per field) the size of the list call's.
            let listed = Box::pin(self.listing()).await;
            if let Ok(list) = listed
                && let Some(customer) = list.find(id)
                && !self.asked(id)
            {
                return Ok(Some(customer.clone()));
            }
        }
        self.lookup(id).await
    }

    /// Whether this request has a lookup of `id` of its own.
    fn asked(&self, id: &str) -> bool {
        let lookups = self.lookups.lock().unwrap_or_else(PoisonError::into_inner);
        lookups.contains_key(id)
    }

    /// The whole customer list, fetched at most once per request. Lookups of the ids it holds
    /// asked for once it has started cost nothing (`customer`).
    pub(crate) async fn listing(&self) -> Listing {
        self.listing_started.store(true, Ordering::Release);
        self.listing
            .get_or_init(|| async { self.gateway.customers(&self.call).await })
            .await
            .clone()
    }

    /// The id's shared lookup: the existing one, or a new one in the open batch.
    fn lookup(&self, id: &str) -> SharedLookup {
        // Both locks guard data that a panicking holder leaves consistent (whole map entries,
        // an optional batch), so a poisoned lock is used as is.
        let mut lookups = self.lookups.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = lookups.get(id) {
            return existing.clone();
        }
        let lookup = if self.spend() {
            self.start(id, self.join_batch())
        } else {
            futures::future::ready(Err(bloc::Error::NotPriced))
                .boxed()
                .shared()
        };
        lookups.insert(id.to_owned(), lookup.clone());
        lookup
    }

    /// Starts the lookups of the `ids` this request has not asked for yet, as one batch,
    /// closed at once: the direct executor knows every id it will ask for before it asks, so
    /// it needs no task to close the batch when the executor's pass ends. It then asks for
    /// each id as resolvers do, and finds its lookup started.
    pub(crate) fn prefetch(&self, ids: &[&str]) {
        let mut lookups = self.lookups.lock().unwrap_or_else(PoisonError::into_inner);
        let mut batch: Option<(Span, usize)> = None;
        for id in ids {
            // An id asked for before, or earlier in `ids`, has its lookup already.
            if lookups.contains_key(*id) {
                continue;
            }
            let (span, count) = batch.get_or_insert_with(|| {
                self.call.stats.count_batch();
                let span = tracing::info_span!("loader_batch", ids = tracing::field::Empty);
                (span, 0)
            });
            *count = count.saturating_add(1);
            let lookup = self.start(id, span.clone());
            lookups.insert((*id).to_owned(), lookup);
        }
        if let Some((span, count)) = batch {
            // The batch size only: ids are the clients' input.
            span.record("ids", count);
        }
    }

    /// A new lookup of `id` in the batch whose span is `span`.
    fn start(&self, id: &str, span: Span) -> SharedLookup {
        let (gateway, call, permits) = (
            self.gateway.clone(),
            self.call.clone(),
            self.permits.clone(),
        );
        let id = id.to_owned();
        async move {
            // `Err` only once the semaphore is closed, which this private one never is.
            let _permit = permits.acquire_owned().await.ok();
            gateway.customer(&id, &call).await
        }
        .instrument(span)
        .boxed()
        .shared()
    }

    /// Adds one id to the open batch, opening one if there is none, and returns the batch's
    /// span. A new batch is closed by a task spawned when it opens, which runs once the
    /// request's task has finished its current pass over its ready resolvers.
    fn join_batch(&self) -> Span {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let batch = open.get_or_insert_with(|| {
            self.call.stats.count_batch();
            let closing = Arc::clone(&self.open);
            tokio::spawn(async move {
                let batch = closing
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                if let Some(batch) = batch {
                    // The batch size only: ids are the clients' input.
                    batch.span.record("ids", batch.ids);
                }
            });
            Batch {
                span: tracing::info_span!("loader_batch", ids = tracing::field::Empty),
                ids: 0,
            }
        });
        batch.ids = batch.ids.saturating_add(1);
        batch.span.clone()
    }
}
