//! Whether to buy many records with one list call or each with its own call.
//!
//! Bloc's list endpoints return a whole collection in one call (no paging). One call is one
//! token of the budget however many records it brings, but it is not free: it moves and
//! decodes every record, and for a large organisation it may not fit the body limit at all.
//! The planner decides from what the facade has measured on the calls it already makes:
//!
//! - each collection's list latency, from every list call (its size shows in it: the bytes
//!   the call moves and decodes);
//! - the latency of single-record calls;
//! - whether the list was too large for `--upstream-body-limit` (not tried again for an hour,
//!   so a million-customer organisation costs at most one refused list call an hour) or
//!   failed otherwise (not tried again for a minute);
//! - the number of distinct records due and demanded now, the calls the budget can start
//!   now, and how long there is until they are needed.
//!
//! A list call costs `max(1, list latency / single latency)` call-equivalents: its latency
//! stands for the bytes it moves and decodes. Once measured, it is chosen when the demanded
//! records are at least that many (it is cheaper), or more than the budget can start now (it
//! is the only way to have them without queueing); never when it could not arrive in time or
//! does not fit. Before it is measured, only the second reason tries it: a probe is a gamble
//! on its size, taken only when single calls would have to queue anyway.
//!
//! It knows collections only by name, so every list endpoint (customers today; accounts or
//! cards later) can use it.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use tokio::time::{Duration, Instant};

/// How long a list found too large for the body limit is not tried again.
const TOO_LARGE_FOR: Duration = Duration::from_secs(3600);

/// How long a list that failed otherwise is not tried again by the planner.
const FAILED_FOR: Duration = Duration::from_secs(60);

/// Weight of a new sample in the moving averages.
const ALPHA: f64 = 0.2;

/// What a collection has been measured to cost.
#[derive(Clone, Copy, Debug, Default)]
struct Collection {
    /// Moving average of the list call's latency; `None` until one answered.
    latency: Option<f64>,
    /// The list did not fit the body limit, or failed: not tried again before this.
    avoid_until: Option<Instant>,
}

/// The records wanted now, and what the budget can do about them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Demand {
    /// Distinct records of the collection due and asked for.
    pub distinct: usize,
    /// Calls the budget can start now.
    pub affordable: f64,
    /// How long until they are needed (a request's deadline, a record's staleness bound).
    pub slack: Duration,
}

/// The planner's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Choice {
    /// One call per record.
    Singles,
    /// One list call for the whole collection.
    List,
}

/// Measurements of every collection and of single-record calls.
#[derive(Default)]
pub(crate) struct Planner {
    measured: Mutex<Measured>,
}

#[derive(Default)]
struct Measured {
    single: Option<f64>,
    collections: HashMap<&'static str, Collection>,
}

impl Planner {
    /// Learns from a single-record call that answered.
    pub(crate) fn observe_single(&self, latency: Duration) {
        let mut measured = self.lock();
        measured.single = Some(average(measured.single, latency));
    }

    /// Learns from a list call that answered.
    pub(crate) fn observe_list(&self, collection: &'static str, latency: Duration) {
        let mut measured = self.lock();
        let entry = measured.collections.entry(collection).or_default();
        entry.latency = Some(average(entry.latency, latency));
        entry.avoid_until = None;
    }

    /// Learns that a list call failed: refused for its size (`too_large`), or otherwise.
    pub(crate) fn observe_list_failed(
        &self,
        collection: &'static str,
        too_large: bool,
        now: Instant,
    ) {
        let mut measured = self.lock();
        let entry = measured.collections.entry(collection).or_default();
        let avoid = if too_large { TOO_LARGE_FOR } else { FAILED_FOR };
        entry.avoid_until = now.checked_add(avoid);
    }

    /// The expected latency of a list call of `collection`, once one answered.
    pub(crate) fn list_latency(&self, collection: &'static str) -> Option<Duration> {
        let latency = self.lock().collections.get(collection)?.latency?;
        Duration::try_from_secs_f64(latency).ok()
    }

    /// The expected latency of a single-record call, once one was measured.
    pub(crate) fn single_latency(&self) -> Option<Duration> {
        Duration::try_from_secs_f64(self.lock().single?).ok()
    }

    /// Singles or the list, for `demand` on `collection` (see the module doc).
    pub(crate) fn choose(&self, collection: &'static str, demand: Demand, now: Instant) -> Choice {
        let measured = self.lock();
        decide(
            measured.collections.get(collection),
            measured.single,
            demand,
            now,
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Measured> {
        // Plain numbers, whole at every step: a poisoned lock is used as is.
        self.measured.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn average(previous: Option<f64>, sample: Duration) -> f64 {
    let sample = sample.as_secs_f64();
    match previous {
        None => sample,
        Some(previous) => previous + ALPHA * (sample - previous),
    }
}

fn decide(
    collection: Option<&Collection>,
    single: Option<f64>,
    demand: Demand,
    now: Instant,
) -> Choice {
    // One record is one call either way.
    if demand.distinct < 2 {
        return Choice::Singles;
    }
    let wanted = demand.distinct as f64;
    if collection
        .and_then(|c| c.avoid_until)
        .is_some_and(|until| now < until)
    {
        return Choice::Singles;
    }
    let Some(list) = collection.and_then(|c| c.latency) else {
        // Never measured: a probe, only when single calls would have to queue anyway.
        return if wanted > demand.affordable {
            Choice::List
        } else {
            Choice::Singles
        };
    };
    if list >= demand.slack.as_secs_f64() {
        return Choice::Singles;
    }
    let cost = match single {
        Some(single) if single > 0.0 => (list / single).max(1.0),
        _ => 1.0,
    };
    if wanted >= cost || wanted > demand.affordable {
        Choice::List
    } else {
        Choice::Singles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(distinct: usize, affordable: f64) -> Demand {
        Demand {
            distinct,
            affordable,
            slack: Duration::from_secs(10),
        }
    }

    fn measured(list_ms: u64, single_ms: u64) -> Planner {
        let planner = Planner::default();
        planner.observe_single(Duration::from_millis(single_ms));
        planner.observe_list("customers", Duration::from_millis(list_ms));
        planner
    }

    #[tokio::test(start_paused = true)]
    async fn the_list_is_chosen_when_it_costs_fewer_calls_than_the_records_wanted() {
        let now = Instant::now();
        // The list takes 8 times as long as one record: worth it from 8 records on.
        let planner = measured(160, 20);
        assert_eq!(
            planner.choose("customers", demand(7, 100.0), now),
            Choice::Singles
        );
        assert_eq!(
            planner.choose("customers", demand(8, 100.0), now),
            Choice::List
        );
        // ...or when single calls cannot buy the records in time, cost what it may.
        assert_eq!(
            planner.choose("customers", demand(5, 4.0), now),
            Choice::List
        );
        assert_eq!(
            planner.choose("customers", demand(1, 0.0), now),
            Choice::Singles,
            "one record is one call either way"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_list_is_not_chosen_when_it_would_arrive_too_late_or_does_not_fit() {
        let now = Instant::now();
        let slow = measured(3_000, 20);
        let hurried = Demand {
            slack: Duration::from_secs(2),
            ..demand(500, 10.0)
        };
        assert_eq!(slow.choose("customers", hurried, now), Choice::Singles);

        let planner = measured(40, 20);
        planner.observe_list_failed("customers", true, now);
        assert_eq!(
            planner.choose("customers", demand(500, 10.0), now),
            Choice::Singles
        );
        let in_an_hour = now + TOO_LARGE_FOR;
        assert_eq!(
            planner.choose("customers", demand(500, 10.0), in_an_hour),
            Choice::List,
            "tried again after an hour"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unmeasured_list_is_tried_only_when_single_calls_would_queue() {
        let now = Instant::now();
        let planner = Planner::default();
        assert_eq!(
            planner.choose("accounts", demand(40, 50.0), now),
            Choice::Singles
        );
        assert_eq!(
            planner.choose("accounts", demand(51, 50.0), now),
            Choice::List
        );
        planner.observe_list_failed("accounts", false, now);
        assert_eq!(
            planner.choose("accounts", demand(51, 50.0), now),
            Choice::Singles,
            "a failed list is not tried again at once"
        );
        assert!(planner.list_latency("accounts").is_none());
    }
}
