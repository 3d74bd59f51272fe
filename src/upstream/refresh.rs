//! Stale-while-revalidate: refreshes queued for records served stale, and the driver that
//! hands the budget's tokens to waiting clients and starts refreshes, planned by the planner.

use std::{
    collections::HashMap,
    sync::{Arc, Weak, atomic::Ordering},
};

use tokio::{sync::Notify, time::Instant};

use super::{
    CUSTOMERS, Call, Gateway, Inner, Purpose, Resource,
    planner::{Choice, Demand},
    scheduler::{self, Outlook, Queued, Scheduler, Step},
};

impl Gateway {
    /// Queues a refresh of a record served stale (with a budget), or starts it (without).
    pub(super) fn revalidate(&self, resource: &Resource, due_by: Instant) {
        match &self.0.scheduler {
            Some(scheduler) => {
                scheduler.queue_refresh(resource, due_by);
                self.ensure_driver(scheduler);
            }
            None => self.refresh(resource.clone()),
        }
    }

    /// Starts a background refresh, unless a call for it is already in flight.
    fn refresh(&self, resource: Resource) {
        // The refresh's token is taken and it is not retried, so its deadline only stops a
        // call that could not even start (the breaker's probe pending) from lingering.
        let deadline = Instant::now()
            .checked_add(self.0.call_timeout)
            .unwrap_or_else(Instant::now);
        let call = Call {
            deadline,
            max_age: None,
            client: Arc::from("refresh"),
            request_id: None,
            stats: Arc::default(),
        };
        let plan = match resource {
            Resource::List => "list",
            _ => "single",
        };
        let joined = self.0.flights.join_or_start(&resource, deadline, |until| {
            self.clone()
                .fetch(resource.clone(), call, until, Purpose::Refresh)
        });
        if !joined.coalesced {
            self.0.metrics.refreshes.with_label_values(&[plan]).inc();
        }
    }

    /// Starts the task that hands tokens to waiting clients and starts refreshes, once.
    pub(super) fn ensure_driver(&self, scheduler: &Scheduler) {
        // A read first: this runs on every answer served stale.
        if self.0.driving.load(Ordering::Acquire) || self.0.driving.swap(true, Ordering::AcqRel) {
            return;
        }
        let gateway = Arc::downgrade(&self.0);
        tokio::spawn(drive(gateway, scheduler.waker()));
    }

    /// What a refresh turn buys: the whole list, when the planner finds it the better buy
    /// for the customers queued; else the most demanded refresh. Drops what a call in flight
    /// will bring anyway (the resource itself, or the list it is in).
    fn plan_refresh(
        &self,
        queue: &mut HashMap<Resource, Queued>,
        outlook: Outlook,
    ) -> Option<Resource> {
        let inner = &self.0;
        let listing = inner.flights.contains(&Resource::List);
        queue.retain(|resource, _| {
            !(inner.flights.contains(resource) || listing && Resource::List.covers(resource))
        });
        let now = Instant::now();
        let customers = queue
            .iter()
            .filter(|(r, _)| matches!(r, Resource::Customer(_)));
        let (count, due_by) = customers.fold((0usize, None::<Instant>), |(n, due), (_, q)| {
            (
                n.saturating_add(1),
                Some(due.map_or(q.due_by, |d| d.min(q.due_by))),
            )
        });
        if let Some(due_by) = due_by {
            let slack = due_by.saturating_duration_since(now);
            let demand = Demand {
                distinct: count,
                affordable: outlook.affordable(),
                slack,
            };
            if queue.contains_key(&Resource::List)
                || inner.planner.choose(CUSTOMERS, demand, now) == Choice::List
            {
                queue.retain(|resource, _| !Resource::List.covers(resource));
                return Some(Resource::List);
            }
        }
        let best = scheduler::most_wanted(queue)?;
        scheduler::take(queue, &best);
        Some(best)
    }
}

/// The scheduler's driver: grants tokens to waiting clients in turn, and starts refreshes
/// when the budget has room. Holds the gateway weakly, so it ends when the gateway does.
async fn drive(gateway: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        let notified = wake.notified();
        tokio::pin!(notified);
        // Registered before the step, so a wake-up during it is not lost.
        notified.as_mut().enable();
        let sleep = {
            let Some(inner) = gateway.upgrade() else {
                return;
            };
            let gateway = Gateway(inner);
            let Some(scheduler) = &gateway.0.scheduler else {
                return;
            };
            match scheduler.step(|queue, outlook| gateway.plan_refresh(queue, outlook)) {
                Step::Refresh(resource) => {
                    gateway.refresh(resource);
                    continue;
                }
                Step::Sleep(until) => until,
            }
        };
        match sleep {
            Some(until) => {
                tokio::select! {
                    () = &mut notified => {}
                    () = tokio::time::sleep_until(until) => {}
                }
            }
            None => notified.await,
        }
    }
}
