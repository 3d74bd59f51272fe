//! Per-client rate limits: token buckets keyed by who is calling, not by IP.
//!
//! Each API-key client with a `rate_per_minute` has its own bucket; JWT callers share one
//! quota, one bucket per subject; anonymous callers share a single bucket.
//!
//! A request costs what it may cost Bloc, so that one client cannot spend the others' share
//! of Bloc's budget: it takes the larger of its operation count and the Bloc calls it can
//! make (its distinct customer ids, plus one when it reads the customer list). The HTTP
//! layer takes one token per operation on arrival, before parsing, and the rest once the
//! limit checks have counted the calls.

use std::{collections::HashMap, num::NonZeroU32, time::Duration};

use governor::{
    DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

use crate::auth::{AuthConfig, PerMinute, Principal, PrincipalKind};

/// The buckets for every kind of caller.
pub struct RateLimits {
    /// Made once: making one calibrates quanta's clock with `cpuid`, which traps to the
    /// hypervisor on a VM (a quarter of the facade's CPU when it was made per request).
    clock: DefaultClock,
    clients: HashMap<String, DefaultDirectRateLimiter>,
    jwt: Option<DefaultKeyedRateLimiter<String>>,
    anonymous: Option<DefaultDirectRateLimiter>,
}

fn quota(per_minute: PerMinute) -> Quota {
    Quota::per_minute(per_minute)
}

impl RateLimits {
    /// Buckets for the configured clients, JWT subjects and anonymous callers.
    pub fn new(auth: &AuthConfig) -> Self {
        let clients = auth
            .clients
            .iter()
            .filter_map(|c| Some((c.id.clone(), RateLimiter::direct(quota(c.rate?)))))
            .collect();
        Self {
            clock: DefaultClock::default(),
            clients,
            jwt: auth
                .jwt
                .as_ref()
                .and_then(|j| j.rate())
                .map(|r| RateLimiter::keyed(quota(r))),
            anonymous: auth
                .anonymous
                .as_ref()
                .and_then(|a| a.rate)
                .map(|r| RateLimiter::direct(quota(r))),
        }
    }

    /// Takes `operations` tokens (at least one) from the caller's bucket, or says how long
    /// to wait.
    pub fn check(&self, principal: &Principal, operations: usize) -> Result<(), Duration> {
        self.take(principal, operations.max(1))
    }

    /// Takes the tokens a request's Bloc calls need beyond the `operations` already taken
    /// (see the module doc), or says how long to wait.
    pub fn charge_calls(
        &self,
        principal: &Principal,
        operations: usize,
        calls: usize,
    ) -> Result<(), Duration> {
        self.take(principal, calls.saturating_sub(operations))
    }

    /// Takes `tokens` from the caller's bucket (none: nothing to take).
    fn take(&self, principal: &Principal, tokens: usize) -> Result<(), Duration> {
        let Some(n) = NonZeroU32::new(u32::try_from(tokens).unwrap_or(u32::MAX)) else {
            return Ok(());
        };
        let outcome = match principal.kind {
            PrincipalKind::Client => match self.clients.get(&principal.id) {
                Some(limiter) => limiter.check_n(n),
                None => return Ok(()),
            },
            PrincipalKind::Jwt => match &self.jwt {
                Some(limiter) => limiter.check_key_n(&principal.id, n),
                None => return Ok(()),
            },
            PrincipalKind::Anonymous => match &self.anonymous {
                Some(limiter) => limiter.check_n(n),
                None => return Ok(()),
            },
        };
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(not_until.wait_time_from(self.clock.now())),
            // More tokens at once than the bucket ever holds.
            Err(_) => Err(Duration::from_secs(60)),
        }
    }

    /// Forgets JWT subjects whose buckets are full again, so the map stays small.
    pub fn forget_idle(&self) {
        if let Some(jwt) = &self.jwt {
            jwt.retain_recent();
        }
    }
}
