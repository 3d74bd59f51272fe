//! The shared call to Bloc: the budget's token, the attempt, retries, what the planner learns
//! from it, and the cache filled with its answer.

use std::{
    borrow::Cow,
    ops::ControlFlow,
    sync::{Arc, atomic::Ordering},
};

use moka::future::Cache;
use tokio::time::{Duration, Instant};
use tracing::Instrument;

use super::{
    CUSTOMERS, Call, Entry, Fetched, Gateway, Payload, Purpose, Resource, breaker, flight::Until,
};
use crate::bloc::{CallOptions, Error, wire::Wire};

/// A call's outcome: the decoded payload and the answer it was decoded from.
type Answered = Result<(Payload, Wire), Error>;

impl Gateway {
    /// The shared call: retries, then caches a success. It leaves the in-flight map after
    /// this returns (or however it ends: see `flight.rs`).
    pub(super) async fn fetch(
        self,
        resource: Resource,
        call: Call,
        until: Arc<Until>,
        purpose: Purpose,
    ) -> Fetched {
        let leased = match self
            .before_fetching(&resource, &call, &until, purpose)
            .await
        {
            ControlFlow::Break(found) => return found,
            ControlFlow::Continue(leased) => leased,
        };
        let (answered, sent) = self.with_retries(&resource, &call, &until, purpose).await;
        let inner = &self.0;
        let result = match answered {
            Ok((payload, answer)) => {
                if let Some(cache) = &inner.cache {
                    self.store(&resource, &payload, sent, cache).await;
                }
                // Before the lease is given back: replicas waiting on it find the answer.
                self.share(&resource, answer, sent).await;
                Ok(payload)
            }
            Err(error) => Err(error),
        };
        if leased {
            self.release_lease(&resource).await;
        }
        match &result {
            Ok(_) => {
                // After the store: a record served stale meanwhile queued a refresh that the
                // answer makes unnecessary.
                if let Some(scheduler) = &inner.scheduler {
                    scheduler.fulfilled(|queued| resource.covers(queued));
                }
            }
            Err(error) if resource == Resource::List && error.is_answer() => {
                let too_large = matches!(error, Error::BodyTooLarge { .. });
                inner
                    .planner
                    .observe_list_failed(CUSTOMERS, too_large, Instant::now());
            }
            Err(_) => {}
        }
        result
    }

    pub(super) async fn store(
        &self,
        resource: &Resource,
        payload: &Payload,
        at: Instant,
        cache: &Cache<Resource, Entry>,
    ) {
        // A collection brings its records: each is cached under its own key too.
        match payload {
            Payload::List(list) => {
                for customer in &list.customers {
                    let entry = Entry {
                        payload: Payload::Customer(Some(customer.clone())),
                        at,
                    };
                    cache
                        .insert(Resource::Customer(customer.id.clone()), entry)
                        .await;
                }
            }
            Payload::Accounts(accounts) => {
                for account in &accounts.items {
                    let entry = Entry {
                        payload: Payload::Account(Some(account.clone())),
                        at,
                    };
                    cache
                        .insert(Resource::Account(account.id.clone()), entry)
                        .await;
                }
            }
            _ => {}
        }
        let entry = Entry {
            payload: payload.clone(),
            at,
        };
        cache.insert(resource.clone(), entry).await;
    }

    /// Attempts until one answers, or until retrying would not help, is not allowed, or could
    /// not start before every waiting request's deadline. Also says when the last attempt
    /// was sent.
    async fn with_retries(
        &self,
        resource: &Resource,
        call: &Call,
        until: &Until,
        purpose: Purpose,
    ) -> (Answered, Instant) {
        self.0.budget.deposit();
        let mut retries: u32 = 0;
        let mut prepaid = purpose == Purpose::Refresh;
        loop {
            let (result, sent) = self.attempt(resource, call, until.get(), prepaid).await;
            prepaid = false;
            let Err(error) = &result else {
                return (result, sent);
            };
            if purpose == Purpose::Refresh
                || !error.is_retryable()
                || retries >= self.0.config.max_retries
            {
                return (result, sent);
            }
            let backoff = error.retry_after().unwrap_or_else(|| {
                full_jitter(retries, self.0.config.retry_base, self.0.config.retry_cap)
            });
            // Checked: a wait too long to add to now ends after any deadline.
            let retry_at = Instant::now().checked_add(backoff);
            if retry_at.is_none_or(|at| at >= until.get()) || !self.0.budget.withdraw() {
                return (result, sent);
            }
            self.0.metrics.retries.inc();
            tokio::time::sleep(backoff).await;
            retries = retries.saturating_add(1);
        }
    }

    /// One call to Bloc, if it may start before `deadline` (and get a token by then, unless
    /// `prepaid`), and when it was sent: an answer's age counts from there. Its timeout is
    /// the configured per-call timeout, never cut to a deadline, so that a timeout always
    /// means Bloc was slow (an outage for the breaker) and never that a request was in a
    /// hurry.
    async fn attempt(
        &self,
        resource: &Resource,
        call: &Call,
        deadline: Instant,
        prepaid: bool,
    ) -> (Answered, Instant) {
        let inner = &self.0;
        if Instant::now() >= deadline {
            return (Err(Error::DeadlineExceeded), Instant::now());
        }
        if inner.breaker.permit() == breaker::Permit::Refuse {
            return (Err(Error::CircuitOpen), Instant::now());
        }
        let purpose = if prepaid {
            Purpose::Refresh
        } else {
            Purpose::Waited
        };
        // With the shared bucket up, a client's call waits in its queue alone: a turn in this
        // replica's queue too (whose bucket holds the whole rate, and does not see the other
        // replicas' calls) would make a call wait twice, and often only to be refused.
        let shared = self.shared_is_up();
        if !prepaid
            && !shared
            && let Err(error) = self.wait_for_budget(resource, call, deadline).await
        {
            return (Err(error), Instant::now());
        }
        if let Err(error) = self.shared_turn(purpose, deadline).await {
            return (Err(error), Instant::now());
        }
        let options = CallOptions {
            timeout: Some(inner.call_timeout),
            request_id: call.request_id.clone(),
        };
        call.stats.calls.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        // Endpoint template only: the id in the path is the client's input.
        let span = tracing::info_span!("bloc_call", endpoint = resource.endpoint());
        let result = async {
            let answer = inner.client.fetch(resource.call(), &options).await?;
            let payload = resource.decode_off_worker(answer.clone()).await?;
            Ok((payload, answer))
        }
        .instrument(span)
        .await;
        let elapsed = started.elapsed();
        self.learn(&result, elapsed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        call.stats.micros.fetch_add(micros, Ordering::Relaxed);
        let endpoint = resource.endpoint();
        inner
            .metrics
            .upstream_calls
            .with_label_values(&[endpoint, &status_label(&result)])
            .inc();
        inner
            .metrics
            .upstream_seconds
            .with_label_values(&[endpoint])
            .observe(elapsed.as_secs_f64());
        inner
            .breaker
            .record(matches!(&result, Err(e) if e.is_outage()));
        inner.metrics.circuit_state.set(inner.breaker.gauge());
        (result, started)
    }

    /// Tells the planner what an answered call cost.
    fn learn(&self, result: &Answered, elapsed: Duration) {
        match result {
            Ok((Payload::List(_), _)) => self.0.planner.observe_list(CUSTOMERS, elapsed),
            // What the scheduler expects a call other than the list to take.
            Ok(_) => self.0.planner.observe_single(elapsed),
            Err(_) => {}
        }
    }

    /// Takes a token from the scheduler for a call a client waits on, in the client's turn,
    /// or fails at once if that turn would come after `deadline`.
    async fn wait_for_budget(
        &self,
        resource: &Resource,
        call: &Call,
        deadline: Instant,
    ) -> Result<(), Error> {
        let Some(scheduler) = &self.0.scheduler else {
            return Ok(());
        };
        self.ensure_driver(scheduler);
        let expected = match resource {
            Resource::List => self.0.planner.list_latency(CUSTOMERS),
            _ => self.0.planner.single_latency(),
        };
        let queued = scheduler.waiting() > 0;
        match scheduler
            .admit(&call.client, deadline, expected.unwrap_or_default())
            .await
        {
            Ok(()) => {
                if queued {
                    self.0.metrics.limiter_waits.inc();
                }
                Ok(())
            }
            Err(retry_after) => {
                self.0.metrics.limiter_rejections.inc();
                Err(Error::BudgetExhausted { retry_after })
            }
        }
    }
}

/// "Full jitter" backoff: a random wait between zero and `base * 2^retry`, capped.
fn full_jitter(retry: u32, base: Duration, cap: Duration) -> Duration {
    let ceiling = base.saturating_mul(1 << retry.min(16)).min(cap);
    let mut bytes = [0u8; 8];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        // No randomness (the OS source failed): the longest wait is the safe one.
        return ceiling;
    }
    let fraction = u64::from_le_bytes(bytes) as f64 / u64::MAX as f64;
    ceiling.mul_f64(fraction)
}

fn status_label(result: &Answered) -> Cow<'static, str> {
    match result {
        Ok((payload, _)) if payload.is_missing() => "404".into(),
        Ok(_) => "200".into(),
        Err(Error::Unauthorized { status } | Error::UnexpectedStatus { status }) => {
            status.to_string().into()
        }
        Err(Error::ServerError { status, .. }) => status.to_string().into(),
        Err(Error::RateLimited { .. }) => "429".into(),
        Err(Error::Timeout) => "timeout".into(),
        Err(Error::Transport { .. }) => "transport".into(),
        Err(Error::Decode { .. } | Error::BodyTooLarge { .. } | Error::Unsuccessful) => {
            "bad_response".into()
        }
        Err(
            Error::CircuitOpen
            | Error::DeadlineExceeded
            | Error::BudgetExhausted { .. }
            | Error::NotPriced,
        ) => "not_sent".into(),
    }
}
