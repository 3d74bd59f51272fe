//! One queue in front of the budget for Bloc calls, ordering them by value.
//!
//! - A client waiting on a record it does not have goes first, and clients take turns
//!   (round robin), so one client's burst of misses or `no-cache` requests waits behind its
//!   own calls, not in front of everyone else's.
//! - A client is never made to wait for a token it would not get in time: its turn is
//!   computed when it asks (its place in the rotation against the tokens the bucket will have
//!   earned), and if that turn comes after its deadline (less the call's expected latency), or
//!   more than [`MAX_TURN_WAIT`] from now, it is refused at once, to be answered
//!   `UPSTREAM_RATE_LIMITED`.
//! - Background refreshes (stale records being revalidated) use what waiting clients leave:
//!   they start only while the bucket holds a reserve beyond them, so a miss that arrives next
//!   still finds a token. A refresh first waits a moment ([`GATHER`]) so that the records
//!   going stale together are planned together, and the most demanded go first.
//!
//! The scheduler decides when; what a refresh buys (one record, or its whole list) is the
//! planner's, called by [`Scheduler::step`] with the queue and the budget's outlook.

use std::{
    collections::{HashMap, VecDeque, hash_map::Entry},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use tokio::{
    sync::{Notify, oneshot},
    time::{Duration, Instant},
};

use super::{Resource, bucket::Bucket};

/// How long a refresh waits for others to be planned with it.
pub(super) const GATHER: Duration = Duration::from_millis(200);

/// The share of the burst kept for clients waiting on misses: refreshes never take it.
const RESERVE_SHARE: f64 = 0.1;

/// The longest a client waits for its turn. A later turn is refused at once, even inside the
/// deadline: a screen is better served by an error it can show (and retry after
/// `retry_after`) than by seconds of nothing.
pub(super) const MAX_TURN_WAIT: Duration = Duration::from_secs(1);

/// A refresh waiting for its turn.
#[derive(Clone, Copy, Debug)]
pub(super) struct Queued {
    /// Answers served stale since it was queued (how much the record is wanted).
    pub demand: u32,
    /// When it was queued.
    pub since: Instant,
    /// When the record passes the staleness bound.
    pub due_by: Instant,
}

/// What the budget can still do, as the planner sees it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Outlook {
    tokens: f64,
    reserve: f64,
}

impl Outlook {
    /// Calls a refresh could start now: the tokens there are, less the reserve.
    pub(super) fn affordable(&self) -> f64 {
        (self.tokens - self.reserve).max(0.0)
    }
}

/// What the driver does next.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Start this refresh (its token is taken).
    Refresh(Resource),
    /// Nothing to do until this instant (or until woken, when `None`).
    Sleep(Option<Instant>),
}

/// The queue and the bucket.
pub(super) struct Scheduler {
    state: Mutex<State>,
    wake: Arc<Notify>,
}

struct State {
    bucket: Bucket,
    reserve: f64,
    waiting: Rotation,
    refreshes: HashMap<Resource, Queued>,
}

/// Tokens kept for misses out of a burst of `burst`.
pub(super) fn reserve(burst: u32) -> u32 {
    // A share of a u32, floored: within u32.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "see above"
    )]
    let reserve = (f64::from(burst) * RESERVE_SHARE).floor() as u32;
    reserve
}

impl Scheduler {
    /// A scheduler over `per_minute` calls with bursts of `burst`; `None` when unlimited.
    pub(super) fn new(per_minute: u32, burst: u32) -> Option<Self> {
        let bucket = Bucket::new(per_minute, burst, Instant::now())?;
        Some(Self {
            state: Mutex::new(State {
                bucket,
                reserve: f64::from(reserve(burst)),
                waiting: Rotation::default(),
                refreshes: HashMap::new(),
            }),
            wake: Arc::default(),
        })
    }

    /// What wakes the driver when there is new work.
    pub(super) fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// A token for a call `client` waits on, taken before `deadline` less `expected` (the
    /// call's expected latency) and within [`MAX_TURN_WAIT`], or at once the time until the
    /// budget would allow it.
    pub(super) async fn admit(
        &self,
        client: &Arc<str>,
        deadline: Instant,
        expected: Duration,
    ) -> Result<(), Duration> {
        let (granted, start_by, wait) = {
            let mut state = self.lock();
            let now = Instant::now();
            if state.waiting.is_empty() && state.bucket.take(now) {
                return Ok(());
            }
            let turn = state.waiting.turn_of(client);
            // Everyone queued had stopped waiting: the fast path after all.
            if turn == 1 && state.bucket.take(now) {
                return Ok(());
            }
            let wait = state.bucket.wait_for(now, turn as f64);
            let start_by = deadline
                .checked_sub(expected)
                .unwrap_or(now)
                .min(now.checked_add(MAX_TURN_WAIT).unwrap_or(now));
            if now.checked_add(wait).is_none_or(|at| at > start_by) {
                return Err(wait);
            }
            let (grant, granted) = oneshot::channel();
            state.waiting.push(client, grant);
            (granted, start_by, wait)
        };
        self.wake.notify_one();
        match tokio::time::timeout_at(start_by, granted).await {
            Ok(Ok(())) => Ok(()),
            // The turn did not come in time after all (clients ahead of it joined the
            // rotation later but earlier in it), or the scheduler went away.
            _ => Err(wait),
        }
    }

    /// Queues a refresh of `resource` (which passes the staleness bound at `due_by`), or
    /// adds to the demand of the one queued.
    pub(super) fn queue_refresh(&self, resource: &Resource, due_by: Instant) {
        let queued = {
            let mut state = self.lock();
            match state.refreshes.get_mut(resource) {
                Some(queued) => {
                    queued.demand = queued.demand.saturating_add(1);
                    queued.due_by = queued.due_by.min(due_by);
                    false
                }
                None => {
                    let queued = Queued {
                        demand: 1,
                        since: Instant::now(),
                        due_by,
                    };
                    state.refreshes.insert(resource.clone(), queued);
                    true
                }
            }
        };
        if queued {
            self.wake.notify_one();
        }
    }

    /// Drops queued refreshes that `fetched` (just answered) makes unnecessary.
    pub(super) fn fulfilled(&self, fetched: impl Fn(&Resource) -> bool) {
        self.lock()
            .refreshes
            .retain(|resource, _| !fetched(resource));
    }

    /// Clients waiting for a token now.
    pub(super) fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }

    /// Calls a client asking now could start at once: the tokens there are, less those the
    /// clients already waiting will take.
    pub(super) fn affordable(&self) -> f64 {
        let mut state = self.lock();
        let waiting = state.waiting.len() as f64;
        (state.bucket.available(Instant::now()) - waiting).max(0.0)
    }

    /// One round of the driver: grants tokens to waiting clients, in turn; then, if the
    /// bucket holds more than the reserve and a refresh has gathered, lets `plan` pick what
    /// to refresh (removing what it covers from the queue) and takes its token.
    pub(super) fn step(
        &self,
        plan: impl FnOnce(&mut HashMap<Resource, Queued>, Outlook) -> Option<Resource>,
    ) -> Step {
        let mut state = self.lock();
        let state = &mut *state;
        let now = Instant::now();
        while state.bucket.available(now) >= 1.0 {
            let Some(grant) = state.waiting.pop() else {
                break;
            };
            // A client that stopped waiting (its deadline came) takes nothing.
            if grant.send(()).is_ok() {
                state.bucket.take(now);
            }
        }
        if !state.waiting.is_empty() {
            return Step::Sleep(now.checked_add(state.bucket.wait_for(now, 1.0)));
        }
        let Some(gathered) = state
            .refreshes
            .values()
            .map(|q| q.since.checked_add(GATHER).unwrap_or(q.since))
            .min()
        else {
            return Step::Sleep(None);
        };
        if gathered > now {
            return Step::Sleep(Some(gathered));
        }
        let needed = 1.0 + state.reserve;
        if state.bucket.available(now) < needed {
            return Step::Sleep(now.checked_add(state.bucket.wait_for(now, needed)));
        }
        let outlook = Outlook {
            tokens: state.bucket.available(now),
            reserve: state.reserve,
        };
        match plan(&mut state.refreshes, outlook) {
            Some(resource) => {
                state.bucket.take(now);
                Step::Refresh(resource)
            }
            None => Step::Sleep(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Whole entries and plain numbers at every step: a poisoned lock is used as is.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Waiting clients, taking turns: each client's calls in order, one client after another.
#[derive(Default)]
struct Rotation {
    clients: VecDeque<(Arc<str>, VecDeque<oneshot::Sender<()>>)>,
}

impl Rotation {
    fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    fn len(&self) -> usize {
        self.clients.iter().map(|(_, calls)| calls.len()).sum()
    }

    /// The turn (counting from 1) a new call of `client` would get: its own calls before it,
    /// and as many of every other client's (up to as many) as take turns with them. Calls
    /// whose clients stopped waiting are dropped first, so they do not count.
    fn turn_of(&mut self, client: &str) -> usize {
        for (_, calls) in &mut self.clients {
            calls.retain(|grant| !grant.is_closed());
        }
        self.clients.retain(|(_, calls)| !calls.is_empty());
        let rounds = self
            .clients
            .iter()
            .find(|(id, _)| &**id == client)
            .map_or(0, |(_, calls)| calls.len())
            .saturating_add(1);
        let others: usize = self
            .clients
            .iter()
            .filter(|(id, _)| &**id != client)
            .map(|(_, calls)| calls.len().min(rounds))
            .sum();
        others.saturating_add(rounds)
    }

    fn push(&mut self, client: &Arc<str>, grant: oneshot::Sender<()>) {
        match self.clients.iter_mut().find(|(id, _)| id == client) {
            Some((_, calls)) => calls.push_back(grant),
            None => self
                .clients
                .push_back((client.clone(), VecDeque::from([grant]))),
        }
    }

    /// The next call in turn: the first client's oldest, and that client goes to the back.
    fn pop(&mut self) -> Option<oneshot::Sender<()>> {
        let (client, mut calls) = self.clients.pop_front()?;
        let grant = calls.pop_front();
        if !calls.is_empty() {
            self.clients.push_back((client, calls));
        }
        grant
    }
}

/// The refresh worth most: the most demanded, then the one nearest its bound.
pub(super) fn most_wanted(queue: &HashMap<Resource, Queued>) -> Option<Resource> {
    queue
        .iter()
        .max_by(|(_, a), (_, b)| {
            a.demand
                .cmp(&b.demand)
                .then_with(|| b.due_by.cmp(&a.due_by))
        })
        .map(|(resource, _)| resource.clone())
}

/// Removes one queued refresh, reporting whether it was there.
pub(super) fn take(queue: &mut HashMap<Resource, Queued>, resource: &Resource) -> bool {
    match queue.entry(resource.clone()) {
        Entry::Occupied(entry) => {
            entry.remove();
            true
        }
        Entry::Vacant(_) => false,
    }
}

#[cfg(test)]
#[allow(
    clippy::arithmetic_side_effects,
    reason = "test arithmetic on instants"
)]
mod tests {
    use super::*;

    fn customer(id: &str) -> Resource {
        Resource::Customer(id.to_owned())
    }

    fn client(id: &str) -> Arc<str> {
        Arc::from(id)
    }

    /// Takes every token the bucket holds.
    async fn drain(scheduler: &Scheduler, far: Instant) {
        while scheduler.lock().bucket.available(Instant::now()).ge(&1.0) {
            scheduler
                .admit(&client("drain"), far, Duration::ZERO)
                .await
                .unwrap();
        }
    }

    /// Runs the scheduler's driver as the gateway does, without refreshes.
    fn drive(scheduler: &Arc<Scheduler>) -> tokio::task::JoinHandle<()> {
        let scheduler = scheduler.clone();
        tokio::spawn(async move {
            loop {
                if let Step::Sleep(until) = scheduler.step(|_, _| None) {
                    let far = Instant::now() + Duration::from_secs(3600);
                    tokio::time::sleep_until(until.unwrap_or(far)).await;
                }
            }
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_is_refused_at_once_when_its_turn_would_come_after_its_deadline() {
        // 121 a minute with bursts of 1: a token every half second.
        let scheduler = Arc::new(Scheduler::new(121, 1).unwrap());
        let soon = Instant::now() + Duration::from_millis(900);
        drain(&scheduler, soon).await;
        let driver = drive(&scheduler);

        let started = Instant::now();
        let a = client("a");
        // Calls expected to take 100 ms must start by 800 ms: the first's turn (500 ms) is
        // in time, the second's (1 s) is not.
        let first = scheduler.admit(&a, soon, Duration::from_millis(100));
        let second = scheduler.admit(&a, soon, Duration::from_millis(100));
        let (first, second) = tokio::join!(first, second);

        assert!(first.is_ok(), "a token within the deadline");
        assert_eq!(
            second.unwrap_err(),
            Duration::from_secs(1),
            "two tokens away"
        );
        // Refused without waiting: the join ended when the first was granted.
        assert_eq!(Instant::now() - started, Duration::from_millis(500));
        driver.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn no_client_waits_longer_than_the_longest_turn_whatever_its_deadline() {
        // A token every 0.4 s: the third turn (1.2 s away) is past the longest wait.
        let scheduler = Arc::new(Scheduler::new(151, 1).unwrap());
        let far = Instant::now() + Duration::from_secs(60);
        drain(&scheduler, far).await;
        let driver = drive(&scheduler);

        let a = client("a");
        let (first, second, third) = tokio::join!(
            scheduler.admit(&a, far, Duration::ZERO),
            scheduler.admit(&a, far, Duration::ZERO),
            scheduler.admit(&a, far, Duration::ZERO),
        );

        assert!(first.is_ok() && second.is_ok());
        assert!(third.is_err());
        driver.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_clients_take_turns() {
        // Turns a tenth of a second apart: all inside the longest wait.
        let scheduler = Arc::new(Scheduler::new(601, 1).unwrap());
        let far = Instant::now() + Duration::from_secs(60);
        drain(&scheduler, far).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Client "greedy" queues three calls before "polite" queues one.
        for name in ["greedy", "greedy", "greedy", "polite"] {
            let (scheduler, order) = (scheduler.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                scheduler
                    .admit(&client(name), far, Duration::ZERO)
                    .await
                    .unwrap();
                order.lock().unwrap().push(name);
            }));
            tokio::task::yield_now().await;
        }
        let driver = drive(&scheduler);
        for task in tasks {
            task.await.unwrap();
        }
        driver.abort();
        let order = order.lock().unwrap().clone();
        assert_eq!(order, ["greedy", "polite", "greedy", "greedy"]);
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_wait_for_waiting_clients_and_the_reserve_and_go_most_wanted_first() {
        // 620 a minute, bursts of 20: 600 earned, a reserve of 2 tokens for clients.
        let scheduler = Scheduler::new(620, 20).unwrap();
        let due = Instant::now() + Duration::from_secs(30);
        scheduler.queue_refresh(&customer("idle"), due);
        scheduler.queue_refresh(&customer("wanted"), due);
        scheduler.queue_refresh(&customer("wanted"), due);
        let pick = |queue: &mut HashMap<Resource, Queued>, _: Outlook| {
            let best = most_wanted(queue)?;
            take(queue, &best);
            Some(best)
        };

        assert!(
            matches!(scheduler.step(pick), Step::Sleep(Some(_))),
            "gathering first"
        );
        tokio::time::advance(GATHER).await;
        assert_eq!(scheduler.step(pick), Step::Refresh(customer("wanted")));

        // Down to the reserve: the idle refresh waits, a client does not.
        for _ in 0..17 {
            assert!(scheduler.lock().bucket.take(Instant::now()));
        }
        assert!(matches!(scheduler.step(pick), Step::Sleep(Some(_))));
        let far = Instant::now() + Duration::from_secs(5);
        assert!(
            scheduler
                .admit(&client("a"), far, Duration::ZERO)
                .await
                .is_ok()
        );
        tokio::time::advance(Duration::from_millis(200)).await;
        assert_eq!(scheduler.step(pick), Step::Refresh(customer("idle")));
    }
}
