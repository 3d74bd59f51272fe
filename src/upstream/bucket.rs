//! The process-wide budget for Bloc calls: a token bucket on tokio's clock.
//!
//! Hand-written rather than governor's: the scheduler must ask what governor does not answer
//! (how many tokens there are now, how long until `n` are) and tests must drive it with tokio's paused clock.

use tokio::time::{Duration, Instant};

/// At most `per_minute` calls in any minute: up to `burst` saved up, earned at the rest of
/// the rate. (A bucket earning the whole rate on top of its burst would allow `per_minute +
/// burst` in the minute after a quiet spell, past Bloc's limit.)
#[derive(Debug)]
pub(super) struct Bucket {
    /// Time to earn one token.
    interval: Duration,
    capacity: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket; `None` when `per_minute` is zero (no limit). The burst is at least 1
    /// and at most half the rate, so the other half at least is earned.
    pub(super) fn new(per_minute: u32, burst: u32, now: Instant) -> Option<Self> {
        let burst = burst.min(per_minute / 2).max(1);
        let interval = Duration::from_secs(60).checked_div(per_minute.checked_sub(burst)?)?;
        let capacity = f64::from(burst);
        Some(Self {
            interval,
            capacity,
            tokens: capacity,
            at: now,
        })
    }

    /// An empty bucket, earning from `now` (see [`Bucket::new`]).
    pub(super) fn empty(per_minute: u32, burst: u32, now: Instant) -> Option<Self> {
        let mut bucket = Self::new(per_minute, burst, now)?;
        bucket.tokens = 0.0;
        Some(bucket)
    }

    /// Its shape for a bucket kept elsewhere (Redis): the time to earn a token, and the
    /// tokens saved up at most.
    pub(super) fn shape(&self) -> (Duration, u32) {
        // The capacity is a whole number of tokens, at most half a `u32` rate.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "see above"
        )]
        let capacity = self.capacity as u32;
        (self.interval, capacity)
    }

    fn refill(&mut self, now: Instant) {
        let earned = now.saturating_duration_since(self.at).as_secs_f64() / self.interval_secs();
        self.tokens = (self.tokens + earned).min(self.capacity);
        self.at = self.at.max(now);
    }

    fn interval_secs(&self) -> f64 {
        self.interval.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// Tokens there are now (fractions included).
    pub(super) fn available(&mut self, now: Instant) -> f64 {
        self.refill(now);
        self.tokens
    }

    /// Takes one token if there is one.
    pub(super) fn take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Takes the next token, due now or within `patience` (it may go negative: the token is
    /// the caller's, who waits the time returned); `Err` with the time until one is due when
    /// that is longer (nothing taken).
    pub(super) fn reserve(
        &mut self,
        now: Instant,
        patience: Duration,
    ) -> Result<Duration, Duration> {
        let wait = self.wait_for(now, 1.0);
        if wait > patience {
            return Err(wait);
        }
        self.tokens -= 1.0;
        Ok(wait)
    }

    /// How long until `n` tokens are there (zero when they already are).
    pub(super) fn wait_for(&mut self, now: Instant, n: f64) -> Duration {
        self.refill(now);
        let short = (n - self.tokens).max(0.0);
        Duration::try_from_secs_f64(short * self.interval_secs()).unwrap_or(Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn no_minute_ever_holds_more_calls_than_the_rate() {
        let now = Instant::now();
        let mut bucket = Bucket::new(100, 50, now).unwrap();
        let mut calls = 0;
        let mut at = now;
        while at <= now + Duration::from_secs(60) {
            while bucket.take(at) {
                calls += 1;
            }
            at += Duration::from_millis(10);
        }
        // The burst, and the rest of the rate earned (the last token, due at 60 s exactly,
        // may be a float's breadth late).
        assert!((99..=100).contains(&calls), "{calls}");
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_are_earned_at_the_rate_less_the_burst_and_saved_up_to_the_burst() {
        let now = Instant::now();
        // 605 a minute with bursts of 5: 600 a minute earned.
        let mut bucket = Bucket::new(605, 5, now).unwrap();
        for _ in 0..5 {
            assert!(bucket.take(now));
        }
        assert!(!bucket.take(now), "the burst is spent");
        assert_eq!(bucket.wait_for(now, 2.0), Duration::from_millis(200));
        let later = now + Duration::from_millis(100);
        assert!(bucket.take(later), "one token a tenth of a second");
        let much_later = later + Duration::from_secs(60);
        assert!((bucket.available(much_later) - 5.0).abs() < 1e-9, "capped");
        assert!(Bucket::new(0, 5, now).is_none(), "zero is no limit");
    }
}
