//! Per-request batching and de-duplication of Bloc calls.
//!
//! One [`Upstream`] lives for exactly one HTTP request (all operations of a batched request
//! share it; nothing is shared across requests). Its [`DataLoader`] gathers the ids that
//! sibling resolvers ask for into one batch, with no timer delay. Bloc has no bulk endpoint,
//! so a batch fans out one `GET /customers/{id}` per id, at most `concurrency` at a time.
//!
//! De-duplication does not rely on batch timing: every id maps to one shared future (in
//! flight or finished) for the life of the request, so an id is fetched at most once even
//! when two batches name it. Each id carries its own `Result`, so one failing id never fails
//! its batch-mates (async-graphql fails the whole batch when `load` returns `Err`).

use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use async_graphql::dataloader::{DataLoader, Loader};
use futures::{
    FutureExt,
    future::{BoxFuture, Shared, join_all},
};
use tokio::sync::{OnceCell, Semaphore};

use crate::bloc::{self, BlocClient, Customer};

/// The outcome of looking up one id.
pub(crate) type Lookup = Result<Option<Arc<Customer>>, bloc::Error>;

/// The outcome of the list call: readable records and how many were not.
pub(crate) type Listing = Result<Arc<ListSnapshot>, bloc::Error>;

/// Every customer Bloc returned for this request.
pub(crate) struct ListSnapshot {
    pub customers: Vec<Arc<Customer>>,
    pub undecodable: usize,
}

/// Counters for one HTTP request's upstream traffic.
#[derive(Default)]
pub struct UpstreamStats {
    calls: AtomicU64,
    batches: AtomicU64,
    micros: AtomicU64,
}

impl UpstreamStats {
    /// HTTP calls made to Bloc.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
    /// Batches the loader formed.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }
    /// Summed duration of the calls to Bloc (concurrent calls add up).
    pub fn upstream_time(&self) -> Duration {
        Duration::from_micros(self.micros.load(Ordering::Relaxed))
    }

    async fn time<T>(&self, call: impl Future<Output = T>) -> T {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let out = call.await;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.micros.fetch_add(micros, Ordering::Relaxed);
        out
    }
}

/// Everything resolvers use to reach Bloc during one HTTP request.
pub struct Upstream {
    loader: DataLoader<CustomerLoader>,
    listing: OnceCell<Listing>,
    /// Set when the list call starts, so lookups can wait for it instead of racing it.
    listing_started: AtomicBool,
}

impl Upstream {
    /// A fresh loader for one HTTP request.
    pub fn new(client: BlocClient, concurrency: usize) -> Self {
        let loader = CustomerLoader {
            client,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            memo: Mutex::default(),
            stats: Arc::default(),
        };
        Self {
            // Zero delay: the batch closes when the resolvers that were ready have run,
            // not after a timer (the 1 ms default costs ~1 ms at p50 on every query).
            loader: DataLoader::new(loader, tokio::spawn).delay(Duration::ZERO),
            listing: OnceCell::new(),
            listing_started: AtomicBool::new(false),
        }
    }

    /// Counters for the upstream calls this request made so far.
    pub fn stats(&self) -> &UpstreamStats {
        &self.loader.loader().stats
    }

    /// One customer by id, through the batching loader. When this request has already
    /// started the list call, the lookup waits for it: the list primes the loader, so an id
    /// it holds costs no call of its own.
    pub(crate) async fn customer(&self, id: &str) -> Lookup {
        if self.listing_started.load(Ordering::Acquire) {
            // A failed list is that field's error; the lookup then makes its own call.
            let _ = self.listing().await;
        }
        match self.loader.load_one(id.to_owned()).await {
            Ok(Some(lookup)) => lookup,
            // `load` answers every key it is given, so a missing key means "not found".
            Ok(None) => Ok(None),
            Err(never) => match never {},
        }
    }

    /// The whole customer list, fetched at most once per request. Its records prime the
    /// loader, so later lookups of those ids cost no upstream call.
    pub(crate) async fn listing(&self) -> Listing {
        self.listing_started.store(true, Ordering::Release);
        self.listing
            .get_or_init(|| async {
                let loader = self.loader.loader();
                let list = loader.stats.time(loader.client.customers()).await?;
                let customers: Vec<Arc<Customer>> =
                    list.customers.into_iter().map(Arc::new).collect();
                loader.prime(&customers);
                Ok(Arc::new(ListSnapshot {
                    customers,
                    undecodable: list.undecodable,
                }))
            })
            .await
            .clone()
    }
}

/// The loader behind [`Upstream`]: one shared future per id.
struct CustomerLoader {
    client: BlocClient,
    permits: Arc<Semaphore>,
    memo: Mutex<HashMap<String, Shared<BoxFuture<'static, Lookup>>>>,
    stats: Arc<UpstreamStats>,
}

impl CustomerLoader {
    fn lookup(&self, id: &str) -> Shared<BoxFuture<'static, Lookup>> {
        let mut memo = self.memo.lock().expect("memo lock poisoned");
        if let Some(existing) = memo.get(id) {
            return existing.clone();
        }
        let (client, permits, stats) = (
            self.client.clone(),
            self.permits.clone(),
            self.stats.clone(),
        );
        let id_owned = id.to_owned();
        let call = async move {
            let _permit = permits
                .acquire_owned()
                .await
                .expect("semaphore never closed");
            let found = stats.time(client.customer(&id_owned)).await?;
            Ok(found.map(Arc::new))
        }
        .boxed()
        .shared();
        memo.insert(id.to_owned(), call.clone());
        call
    }

    fn prime(&self, customers: &[Arc<Customer>]) {
        let mut memo = self.memo.lock().expect("memo lock poisoned");
        for customer in customers {
            let ready: Lookup = Ok(Some(customer.clone()));
            memo.entry(customer.id.clone())
                .or_insert_with(|| futures::future::ready(ready).boxed().shared());
        }
    }
}

impl Loader<String> for CustomerLoader {
    type Value = Lookup;
    type Error = Infallible;

    async fn load(&self, ids: &[String]) -> Result<HashMap<String, Lookup>, Infallible> {
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        let lookups = ids.iter().map(|id| {
            let call = self.lookup(id);
            async move { (id.clone(), call.await) }
        });
        Ok(join_all(lookups).await.into_iter().collect())
    }
}
