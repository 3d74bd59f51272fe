//! A circuit breaker for Bloc.
//!
//! Hand-written rather than taken from a crate: it is one small state machine, and it must
//! use tokio's clock (so tests can pause time) and report its state to our metrics.

use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::time::{Duration, Instant};

/// What the breaker says about making a call now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Go ahead.
    Call,
    /// Go ahead: this call is the probe that decides whether the circuit closes.
    Probe,
    /// Do not call: the circuit is open.
    Refuse,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { since: Instant },
}

/// Opens after `threshold` outages in a row; after `cool_down` lets one probe through, which
/// closes it on success and reopens it on failure.
pub struct Breaker {
    state: Mutex<State>,
    threshold: u32,
    cool_down: Duration,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(threshold: u32, cool_down: Duration) -> Self {
        Self {
            state: Mutex::new(State::Closed { failures: 0 }),
            threshold: threshold.max(1),
            cool_down,
        }
    }

    /// Whether a call may be made now.
    pub fn permit(&self) -> Permit {
        let mut state = self.lock();
        let now = Instant::now();
        match *state {
            State::Closed { .. } => Permit::Call,
            State::Open { until } if now < until => Permit::Refuse,
            // A probe that never reported (its caller went away) must not wedge the breaker.
            State::HalfOpen { since } if now < later(since, self.cool_down) => Permit::Refuse,
            State::Open { .. } | State::HalfOpen { .. } => {
                *state = State::HalfOpen { since: now };
                Permit::Probe
            }
        }
    }

    /// Records a call's outcome: `outage` for 5xx, timeouts and broken connections.
    pub fn record(&self, outage: bool) {
        let mut state = self.lock();
        *state = match (*state, outage) {
            (_, false) => State::Closed { failures: 0 },
            (State::Closed { failures }, true) if failures.saturating_add(1) < self.threshold => {
                State::Closed {
                    failures: failures.saturating_add(1),
                }
            }
            (_, true) => State::Open {
                until: later(Instant::now(), self.cool_down),
            },
        };
    }

    /// 0 closed, 1 open, 2 half-open (the `bloc_circuit_state` gauge).
    pub fn gauge(&self) -> i64 {
        match *self.lock() {
            State::Closed { .. } => 0,
            State::Open { .. } => 1,
            State::HalfOpen { .. } => 2,
        }
    }

    /// Whether calls are being refused now (for `/status`).
    pub fn is_open(&self) -> bool {
        matches!(*self.lock(), State::Open { until } if Instant::now() < until)
    }

    /// The state stays usable after a panic elsewhere: every write is one assignment.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `at + by`, or as late as the clock can tell when that is past its range: a cool-down
/// too long to add (a configuration mistake) keeps the circuit open rather than panicking.
fn later(at: Instant, by: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
    at.checked_add(by)
        .or_else(|| at.checked_add(CENTURY))
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_after_the_threshold_probes_after_the_cool_down_and_closes_on_success() {
        let breaker = Breaker::new(3, Duration::from_secs(10));
        breaker.record(true);
        breaker.record(true);
        assert_eq!(breaker.permit(), Permit::Call);
        breaker.record(true);
        assert_eq!((breaker.permit(), breaker.gauge()), (Permit::Refuse, 1));

        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(breaker.permit(), Permit::Probe);
        assert_eq!(breaker.permit(), Permit::Refuse, "one probe at a time");
        breaker.record(false);
        assert_eq!((breaker.permit(), breaker.gauge()), (Permit::Call, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_reopens_and_a_success_resets_the_count() {
        let breaker = Breaker::new(2, Duration::from_secs(5));
        breaker.record(true);
        breaker.record(false);
        breaker.record(true);
        assert_eq!(
            breaker.permit(),
            Permit::Call,
            "failures must be consecutive"
        );
        breaker.record(true);
        assert!(breaker.is_open());
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(breaker.permit(), Permit::Probe);
        breaker.record(true);
        assert!(breaker.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn a_cool_down_too_long_to_add_to_the_clock_keeps_the_circuit_open() {
        let breaker = Breaker::new(1, Duration::MAX);
        breaker.record(true);
        assert!(breaker.is_open());
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(breaker.permit(), Permit::Refuse);
    }
}
