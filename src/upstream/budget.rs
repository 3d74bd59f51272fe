//! The retry budget: retries may add at most a fixed share of calls, so that during an
//! outage retries cannot multiply the load on Bloc.

use std::sync::atomic::{AtomicI64, Ordering};

/// Each first attempt deposits `ratio` of a retry; each retry withdraws a whole one. A small
/// reserve lets a quiet service retry at all.
pub struct RetryBudget {
    /// Balance in hundredths of a retry.
    balance: AtomicI64,
    deposit: i64,
    cap: i64,
}

impl RetryBudget {
    /// Retries may be at most `percent` % of calls, plus a reserve of `reserve` retries.
    pub fn new(percent: u8, reserve: u32) -> Self {
        let reserve = i64::from(reserve).saturating_mul(100);
        Self {
            balance: AtomicI64::new(reserve),
            deposit: i64::from(percent.min(100)),
            cap: reserve.max(100),
        }
    }

    /// Called for every first attempt.
    pub fn deposit(&self) {
        let _ = self
            .balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(b.saturating_add(self.deposit).min(self.cap))
            });
    }

    /// Takes one retry from the budget, if there is one.
    pub fn withdraw(&self) -> bool {
        self.balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                (b >= 100).then(|| b.saturating_sub(100))
            })
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::RetryBudget;

    #[test]
    fn retries_are_capped_at_their_share_of_calls() {
        let budget = RetryBudget::new(20, 2);
        assert!(budget.withdraw() && budget.withdraw(), "the reserve");
        assert!(!budget.withdraw());
        for _ in 0..10 {
            budget.deposit();
        }
        assert!(budget.withdraw() && budget.withdraw(), "20% of 10 calls");
        assert!(!budget.withdraw());
    }
}
