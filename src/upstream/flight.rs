//! Calls in flight: at most one per resource, shared by every request that needs it, and
//! gone from the map on every way out: an answer, a panic, or the task being cancelled.
//!
//! Hand-written: the sharing is `futures`' `Shared`; what is ours is the bookkeeping around
//! it, which must survive a panicking call (the entry left behind used to answer every later
//! request with the same failure, without calling Bloc, until restart).

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use futures::{
    FutureExt,
    future::{BoxFuture, Shared},
};
use tokio::{sync::oneshot, time::Instant};

use super::{Fetched, Resource};
use crate::bloc::Error;

/// The answer of a call in flight, for every request waiting for it.
pub(super) type Answer = Shared<BoxFuture<'static, Fetched>>;

/// Until when a shared call may start attempts (retries, waits for the upstream budget): the
/// latest deadline among the requests waiting for it. A request that joins late extends it.
pub(super) struct Until(Mutex<Instant>);

impl Until {
    fn new(at: Instant) -> Self {
        Self(Mutex::new(at))
    }

    /// The latest deadline so far.
    pub(super) fn get(&self) -> Instant {
        *lock(&self.0)
    }

    fn extend(&self, at: Instant) {
        let mut until = lock(&self.0);
        *until = (*until).max(at);
    }
}

struct Flight {
    /// Tells this call from a later one for the same resource.
    id: u64,
    answer: Answer,
    until: Arc<Until>,
}

/// The calls in flight, by resource.
#[derive(Default)]
pub(super) struct Flights {
    /// Keyed with foldhash (seeded per process), as the document cache is: SipHash was a
    /// measurable share of a one-customer request.
    map: Mutex<HashMap<Resource, Flight, foldhash::quality::RandomState>>,
    next_id: AtomicU64,
}

/// What joining found: the answer to wait for, and whether another request started the call.
pub(super) struct Joined {
    pub(super) answer: Answer,
    pub(super) coalesced: bool,
}

impl Flights {
    /// Joins the call in flight for `resource`, or starts one: `start` gets the call's
    /// [`Until`] and makes its future, which is spawned so that it finishes (and fills the
    /// cache) even if every request waiting for it goes away.
    pub(super) fn join_or_start<F, Fut>(
        self: &Arc<Self>,
        resource: &Resource,
        deadline: Instant,
        start: F,
    ) -> Joined
    where
        F: FnOnce(Arc<Until>) -> Fut,
        Fut: Future<Output = Fetched> + Send + 'static,
    {
        let (answer, landing, until) = {
            let mut map = lock(&self.map);
            if let Some(flight) = map.get(resource) {
                flight.until.extend(deadline);
                return Joined {
                    answer: flight.answer.clone(),
                    coalesced: true,
                };
            }
            let (reply, answered) = oneshot::channel();
            let answer = async move {
                answered.await.unwrap_or_else(|_| {
                    tracing::error!("a Bloc call ended without an answer (a bug in the facade)");
                    Err(Error::Transport { kind: "internal" })
                })
            }
            .boxed()
            .shared();
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let until = Arc::new(Until::new(deadline));
            let flight = Flight {
                id,
                answer: answer.clone(),
                until: until.clone(),
            };
            map.insert(resource.clone(), flight);
            let landing = Landing {
                flights: self.clone(),
                resource: resource.clone(),
                id,
                reply: Some(reply),
            };
            (answer, landing, until)
        };
        // Outside the lock: a task dropped unpolled (the runtime shutting down) drops its
        // landing at once, which takes the lock.
        let call = start(until);
        // Boxed: the call's future is a few KB (the HTTP client's among them), and spawning
        // moves it by value through several frames; as a box each move is a pointer's.
        tokio::spawn(Box::pin(async move {
            let result = call.await;
            landing.land(result);
        }));
        Joined {
            answer,
            coalesced: false,
        }
    }

    /// Whether a call for `resource` is in flight.
    pub(super) fn contains(&self, resource: &Resource) -> bool {
        lock(&self.map).contains_key(resource)
    }

    /// Calls in flight for resources that `matches`.
    pub(super) fn count(&self, matches: impl Fn(&Resource) -> bool) -> usize {
        lock(&self.map).keys().filter(|r| matches(r)).count()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.map).len()
    }
}

/// Owned by a call's task: takes the call out of the map when the call ends, however it ends.
struct Landing {
    flights: Arc<Flights>,
    resource: Resource,
    id: u64,
    /// Taken when the call answers; dropped unused (waiters hear "no answer") otherwise.
    reply: Option<oneshot::Sender<Fetched>>,
}

impl Landing {
    /// The call answered: out of the map first, so that a request woken by the answer finds
    /// the cache (filled before this) rather than this spent call.
    fn land(mut self, result: Fetched) {
        self.leave();
        if let Some(reply) = self.reply.take() {
            // No receiver only when every waiter went away: nothing to tell.
            let _ = reply.send(result);
        }
    }

    /// Removes this call, not a later one for the same resource.
    fn leave(&self) {
        let mut map = lock(&self.flights.map);
        if map.get(&self.resource).is_some_and(|f| f.id == self.id) {
            map.remove(&self.resource);
        }
    }
}

impl Drop for Landing {
    /// Runs on every way out, unwinding from a panic and cancellation included; `reply` is
    /// dropped after this, so waiters learn of the failure only once the entry is gone.
    fn drop(&mut self) {
        self.leave();
    }
}

/// The map stays usable after a panic elsewhere: its entries are complete at every step.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
#[allow(
    clippy::arithmetic_side_effects,
    reason = "test arithmetic on small constants"
)]
mod tests {
    use std::{future::pending, time::Duration};

    use super::*;
    use crate::upstream::Payload;

    fn in_five_seconds() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[tokio::test]
    async fn a_call_that_panics_leaves_nothing_in_flight_and_the_next_request_calls_again() {
        let flights = Arc::new(Flights::default());

        let failed = flights.join_or_start(&Resource::List, in_five_seconds(), |_| async {
            panic!("a bug in a Bloc call")
        });
        let outcome = failed.answer.await;

        assert!(
            matches!(outcome, Err(Error::Transport { kind: "internal" })),
            "{:?}",
            outcome.err()
        );
        assert_eq!(flights.len(), 0);
        let next = flights.join_or_start(&Resource::List, in_five_seconds(), |_| async {
            Ok(Payload::Customer(None))
        });
        assert!(!next.coalesced, "a new call, not the spent one");
        assert!(matches!(next.answer.await, Ok(Payload::Customer(None))));
    }

    #[test]
    fn a_call_cancelled_by_runtime_shutdown_leaves_nothing_in_flight() {
        let flights = Arc::new(Flights::default());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();

        let joined = runtime.block_on(async {
            let joined = flights.join_or_start(&Resource::List, in_five_seconds(), |_| pending());
            tokio::task::yield_now().await;
            joined
        });
        assert_eq!(flights.len(), 1, "in flight while the runtime runs");
        drop(runtime);

        assert_eq!(flights.len(), 0);
        let outcome = futures::executor::block_on(joined.answer);
        assert!(matches!(
            outcome,
            Err(Error::Transport { kind: "internal" })
        ));
    }

    #[tokio::test]
    async fn a_request_joining_late_lets_the_shared_call_retry_until_its_own_deadline() {
        let flights = Arc::new(Flights::default());
        let first = Instant::now() + Duration::from_secs(1);
        let (tell, told) = oneshot::channel();

        let started = flights.join_or_start(&Resource::List, first, |until| {
            let _ = tell.send(until);
            pending()
        });
        let later = flights.join_or_start(&Resource::List, first + Duration::from_secs(2), |_| {
            pending::<Fetched>()
        });
        let earlier = flights.join_or_start(&Resource::List, first, |_| pending::<Fetched>());
        let until = told.await.unwrap();

        assert!(!started.coalesced && later.coalesced && earlier.coalesced);
        assert_eq!(until.get(), first + Duration::from_secs(2));
    }
}
