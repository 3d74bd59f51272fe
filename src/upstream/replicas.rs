//! What the gateway shares with the other replicas through Redis ([`crate::shared`]): the
//! budget's tokens, the answers it fetched, and who is fetching what.
//!
//! - **One budget.** After its turn in the local scheduler (whose bucket holds the whole
//!   rate, so one replica alone never exceeds it), a call takes a token from the shared
//!   bucket; a refresh only while the shared bucket keeps the scheduler's reserve for
//!   misses. While Redis is down, the token comes from a local share instead: the rate ÷ the
//!   live replicas last counted, starting empty (so that the replicas' shares and what the
//!   shared bucket gave just before add up to no burst over the budget).
//! - **One cache.** An answer is shared as Bloc sent it ([`Wire`]), with the time its call
//!   was sent, and decoded by whoever reads it with the same decoder as the call's, so ages,
//!   drift and identity checks are the same on every replica. A list's records (a
//!   customer's accounts) are shared under their own keys too, as their lookups' answers.
//!   The local cache stays in front: a hot key costs no round trip.
//! - **One fetch.** A replica that misses takes a lease on the fetch; the others wait for
//!   its answer (polling, up to the lease's bound, or until the lease is given back without
//!   one: the holder's call failed), then fetch themselves.

use std::{
    ops::ControlFlow,
    sync::Mutex,
    time::{SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use tokio::time::{Duration, Instant};

use super::{
    Call, Entry, Fetched, Gateway, Purpose, Resource, bucket::Bucket, flight::Until,
    scheduler::MAX_TURN_WAIT,
};
use crate::{
    bloc::{
        Error,
        wire::{self, Wire},
    },
    shared::{Lease, Shared, Take},
};

/// How often a replica waiting on another's fetch looks for its answer.
const POLL_EVERY: Duration = Duration::from_millis(15);
/// The first byte of a shared entry: its format.
const FORMAT: u8 = 1;

/// The local share of the budget while Redis is down.
#[derive(Default)]
pub(super) struct LocalShare(Mutex<Option<(u32, Bucket)>>);

impl Gateway {
    /// A token from the shared bucket (or, Redis down, the local share) for a call that may
    /// start until `deadline`. A waited call waits for a token due within a second and before
    /// its deadline (reserved, so waiters go in the order they came) and is refused at once
    /// otherwise, as the local scheduler refuses; a refresh goes now or not at all.
    pub(super) async fn shared_turn(
        &self,
        purpose: Purpose,
        deadline: Instant,
    ) -> Result<(), Error> {
        let inner = &self.0;
        let (Some(shared), Some(shape)) = (&inner.shared, inner.shape) else {
            return Ok(());
        };
        let (reserve, patience) = match purpose {
            Purpose::Waited => (0, patience(deadline)),
            Purpose::Refresh => (inner.reserve, Duration::ZERO),
        };
        match shared.take(shape, reserve, patience).await {
            Take::Allowed(wait) => {
                inner.local_share.forget();
                if !wait.is_zero() {
                    inner.metrics.shared_budget_waits.inc();
                    tokio::time::sleep(wait).await;
                }
                Ok(())
            }
            Take::Refused(retry_after) => {
                inner.metrics.limiter_rejections.inc();
                Err(Error::BudgetExhausted { retry_after })
            }
            Take::Unavailable => self.local_turn(shared, purpose, deadline).await,
        }
    }

    /// A token from this replica's share of the budget while Redis is down, on the same
    /// terms as the shared bucket's.
    async fn local_turn(
        &self,
        shared: &Shared,
        purpose: Purpose,
        deadline: Instant,
    ) -> Result<(), Error> {
        let inner = &self.0;
        let burst = inner.shape.map_or(0, |shape| shape.capacity);
        let wait =
            inner
                .local_share
                .take(inner.config.rate_per_minute, burst, shared.live_replicas());
        let allowed = match purpose {
            Purpose::Waited => patience(deadline),
            Purpose::Refresh => Duration::ZERO,
        };
        match wait {
            Ok(wait) if wait <= allowed => {
                inner.metrics.local_share_calls.inc();
                shared.spent_apart();
                tokio::time::sleep(wait).await;
                Ok(())
            }
            Ok(retry_after) | Err(retry_after) => {
                inner.metrics.limiter_rejections.inc();
                Err(Error::BudgetExhausted { retry_after })
            }
        }
    }

    /// Whether the shared bucket and cache are in use now.
    pub(super) fn shared_is_up(&self) -> bool {
        self.0.shared.as_ref().is_some_and(Shared::is_up)
    }

    /// The entry another replica shared for `resource`, if Redis is up and holds one.
    pub(super) async fn shared_entry(&self, resource: &Resource) -> Option<Entry> {
        let shared = self.0.shared.as_ref().filter(|s| s.is_up())?;
        let stored = shared
            .get(&resource.shared_key(), *resource == Resource::List)
            .await?;
        let (at, answer) = open_entry(&stored)?;
        let payload = resource.decode_off_worker(answer).await.ok()?;
        Some(Entry { payload, at })
    }

    /// Serves `resource` from the shared tier if it holds an answer `call` accepts (one
    /// younger than its bound, or one whose call was sent from `since` on), caching it
    /// locally; else gives back the entry found (for stale-if-error), if any.
    pub(super) async fn shared_answer(
        &self,
        resource: &Resource,
        call: &Call,
        since: Option<Instant>,
    ) -> Result<Fetched, Option<Entry>> {
        let inner = &self.0;
        let Some(entry) = self.shared_entry(resource).await else {
            return Err(None);
        };
        let age = entry.at.elapsed();
        let awaited = since.is_some_and(|since| entry.at >= since);
        if age > self.bound(call) && !awaited {
            return Err(Some(entry));
        }
        if let Some(cache) = &inner.cache {
            self.store(resource, &entry.payload, entry.at, cache).await;
        }
        inner.metrics.shared_cache_hits.inc();
        if age >= inner.fresh_for {
            inner.metrics.served_revalidating.inc();
            call.stats.served_stale(age);
            let due_by = entry.at.checked_add(inner.max_staleness);
            self.revalidate(resource, due_by.unwrap_or(entry.at));
        }
        Ok(Ok(entry.payload))
    }

    /// Before calling Bloc for `resource`: a refresh takes a fresh answer another replica
    /// shared instead, if there is one; then the call takes the lease on the fetch, or waits
    /// for the replica that holds it (so replicas whose copies go stale together refresh
    /// once). `Continue(leased)`: call Bloc (holding the lease or not).
    pub(super) async fn before_fetching(
        &self,
        resource: &Resource,
        call: &Call,
        until: &Until,
        purpose: Purpose,
    ) -> ControlFlow<Fetched, bool> {
        let inner = &self.0;
        let Some(shared) = self.sharing() else {
            return ControlFlow::Continue(false);
        };
        // A refresh first looks for a fresh answer another replica shared: then it is done.
        if purpose == Purpose::Refresh
            && let Some(entry) = self.shared_entry(resource).await
            && entry.at.elapsed() < inner.fresh_for
        {
            if let Some(cache) = &inner.cache {
                self.store(resource, &entry.payload, entry.at, cache).await;
            }
            return ControlFlow::Break(Ok(entry.payload));
        }
        match shared
            .lease(&resource.shared_key(), inner.call_timeout)
            .await
        {
            Lease::Ours => return ControlFlow::Continue(true),
            Lease::Unavailable => return ControlFlow::Continue(false),
            Lease::Theirs => {}
        }
        inner.metrics.lease_waits.inc();
        let now = Instant::now();
        let give_up = now
            .checked_add(inner.call_timeout)
            .map_or(until.get(), |at| at.min(until.get()));
        // The holder took its lease at most a lease's life ago, and sent its call after: an
        // answer from a call sent since then is the one waited for, accepted whatever the
        // client's max-age, as a call in flight joined on this replica would be.
        let since = now.checked_sub(inner.call_timeout);
        while shared.is_up() {
            let now = Instant::now();
            if now >= give_up {
                break;
            }
            tokio::time::sleep(POLL_EVERY.min(give_up.saturating_duration_since(now))).await;
            if let Ok(found) = self.shared_answer(resource, call, since).await {
                return ControlFlow::Break(found);
            }
            // Given back without an answer: the holder's call failed. Try for ourselves.
            if shared.leased(&resource.shared_key()).await != Some(true) {
                break;
            }
        }
        ControlFlow::Continue(false)
    }

    /// The shared state, when answers are shared now: Redis is up, and there is a cache (a
    /// replica that caches nothing shares nothing either).
    fn sharing(&self) -> Option<&Shared> {
        let inner = &self.0;
        inner
            .shared
            .as_ref()
            .filter(|shared| shared.is_up() && inner.cache.is_some())
    }

    /// Gives back the lease on fetching `resource`.
    pub(super) async fn release_lease(&self, resource: &Resource) {
        if let Some(shared) = &self.0.shared {
            shared.release(&resource.shared_key()).await;
        }
    }

    /// Shares an answer with the other replicas: under its resource's key, and a list's
    /// records under theirs (in the background: a list may hold thousands).
    pub(super) async fn share(&self, resource: &Resource, answer: Wire, sent: Instant) {
        let inner = &self.0;
        let Some(shared) = self.sharing() else {
            return;
        };
        let at = wall_clock_millis(sent);
        let keep_for = inner.keep_for;
        let bulky = *resource == Resource::List;
        let entry = seal_entry(at, &answer);
        shared
            .put(&resource.shared_key(), &entry, keep_for, bulky)
            .await;
        let record: fn(String) -> Resource = match resource {
            Resource::List => Resource::Customer,
            Resource::Accounts(_) => Resource::Account,
            _ => return,
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let items = wire::split(&answer)
                .into_iter()
                .map(|(id, single)| (record(id).shared_key(), seal_entry(at, &single)))
                .collect();
            shared.put_many(items, keep_for).await;
        });
    }
}

impl LocalShare {
    /// Reserves a token from the share of `live` replicas (rebuilt, empty, when that number
    /// changes or Redis has just gone down) and says how long until it is due (often zero);
    /// `Err`: none is due within [`MAX_TURN_WAIT`] (nothing reserved), with the time until one.
    ///
    /// Each share saves up `burst / live` and earns `(rate - burst) / live` a minute, both
    /// rounded down, so the shares together never allow more than the whole bucket would.
    fn take(&self, rate: u32, burst: u32, live: u32) -> Result<Duration, Duration> {
        let now = Instant::now();
        let live = live.max(1);
        let mut share = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if share.as_ref().is_none_or(|(counted, _)| *counted != live) {
            let saved = burst.checked_div(live).unwrap_or(0);
            let earned = rate.saturating_sub(burst).checked_div(live).unwrap_or(0);
            *share = Bucket::empty(saved.saturating_add(earned), saved, now).map(|b| (live, b));
        }
        let Some((_, bucket)) = share.as_mut() else {
            // A share too small to earn a token: nothing this minute.
            return Err(Duration::from_secs(60));
        };
        bucket.reserve(now, MAX_TURN_WAIT)
    }

    /// Redis answers again: the next outage starts a new, empty share.
    fn forget(&self) {
        let mut share = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if share.is_some() {
            *share = None;
        }
    }
}

impl Resource {
    /// Its name in the shared state (sealed there: [`crate::shared`] stores only its HMAC).
    fn shared_key(&self) -> Vec<u8> {
        let key = match self {
            Resource::Customer(id) => format!("customer\0{id}"),
            Resource::List => "list".to_owned(),
            Resource::Accounts(id) => format!("accounts\0{id}"),
            Resource::Cards(id) => format!("cards\0{id}"),
            Resource::Wallets(id) => format!("wallets\0{id}"),
            Resource::Transactions(query) => {
                let (owner, id) = match &query.owner {
                    crate::bloc::Owner::Customer(id) => ("customer", id),
                    crate::bloc::Owner::Account(id) => ("account", id),
                };
                format!(
                    "transactions\0{owner}\0{:?}\0{:?}\0{}\0{}\0{id}",
                    query.drcr, query.status, query.page, query.per_page
                )
            }
            Resource::Account(id) => format!("account\0{id}"),
            Resource::AccountNumber(number) => format!("account number\0{number}"),
            Resource::Transaction(reference) => format!("transaction\0{reference}"),
        };
        key.into_bytes()
    }
}

/// How long a call a client waits on may wait for its token: within [`MAX_TURN_WAIT`] and
/// before `deadline`.
fn patience(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .min(MAX_TURN_WAIT)
}

/// An entry as shared: format, when its call was sent (Unix ms), and Bloc's answer.
fn seal_entry(at_millis: u64, answer: &Wire) -> Vec<u8> {
    let mut entry = Vec::with_capacity(answer.len().saturating_add(10));
    entry.push(FORMAT);
    entry.extend_from_slice(&at_millis.to_be_bytes());
    match answer {
        Wire::Missing => entry.push(0),
        Wire::Body(body) => {
            entry.push(1);
            entry.extend_from_slice(body);
        }
    }
    entry
}

/// A shared entry's answer and the instant its call was sent, on this replica's clock.
fn open_entry(entry: &[u8]) -> Option<(Instant, Wire)> {
    let (&format, rest) = entry.split_first()?;
    if format != FORMAT {
        return None;
    }
    let (at, rest) = rest.split_first_chunk::<8>()?;
    let (&kind, body) = rest.split_first()?;
    let answer = match kind {
        0 => Wire::Missing,
        1 => Wire::Body(Bytes::copy_from_slice(body)),
        _ => return None,
    };
    // A clock ahead of ours makes the answer younger than it is by the skew: counted as
    // age 0 at most, never negative.
    let age = wall_clock_millis(Instant::now()).saturating_sub(u64::from_be_bytes(*at));
    let sent = Instant::now().checked_sub(Duration::from_millis(age))?;
    Some((sent, answer))
}

/// `at` on the wall clock, in Unix milliseconds.
fn wall_clock_millis(at: Instant) -> u64 {
    let then = SystemTime::now()
        .checked_sub(at.elapsed())
        .unwrap_or(UNIX_EPOCH);
    let since = then.duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_keeps_its_answer_and_its_age() {
        let sent = Instant::now().checked_sub(Duration::from_secs(3)).unwrap();
        let answer = Wire::Body(Bytes::from_static(b"{\"success\":true}"));
        let sealed = seal_entry(wall_clock_millis(sent), &answer);
        let (at, opened) = open_entry(&sealed).unwrap();
        assert_eq!(opened, answer);
        let age = at.elapsed();
        assert!(
            age >= Duration::from_millis(2_990) && age < Duration::from_secs(4),
            "{age:?}"
        );
        let missing = seal_entry(wall_clock_millis(Instant::now()), &Wire::Missing);
        assert_eq!(open_entry(&missing).unwrap().1, Wire::Missing);
        assert!(open_entry(&[2, 0, 0]).is_none(), "another format");
        assert!(open_entry(&sealed[..5]).is_none(), "cut short");
    }

    #[test]
    fn a_local_share_starts_empty_and_earns_its_part_of_the_rate() {
        let share = LocalShare::default();
        // 500 a minute, bursts of 50, 5 replicas: bursts of 10, 90 a minute earned.
        let wait = share.take(500, 50, 5).expect("a token within a second");
        assert!(
            wait > Duration::from_millis(600) && wait <= Duration::from_millis(667),
            "{wait:?}"
        );
        let next = share
            .take(500, 50, 5)
            .expect_err("the next is 1.3 s away: refused");
        assert!(next > Duration::from_millis(1300), "{next:?}");
        // 120 with bursts of 10 over 3: 3 saved, 36 earned (not 37: the three shares
        // together stay within the 110 the whole bucket earns), one every 1.67 s.
        share.forget();
        assert_eq!(share.take(120, 10, 3), Err(Duration::from_secs(60) / 36));
        share.forget();
        assert_eq!(
            share.take(3, 1, 3),
            Err(Duration::from_secs(60)),
            "too small to earn"
        );
        share.forget();
        let one = share.take(500, 50, 1).expect("empty again after an outage");
        assert!(one < Duration::from_millis(200), "{one:?}");
    }
}
