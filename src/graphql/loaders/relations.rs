//! The loader's relations: a customer's accounts, cards, wallets and transactions, and the
//! lookups of accounts and transactions, each resource fetched at most once per request.

use std::{
    collections::HashSet,
    sync::{Arc, PoisonError},
};

use futures::FutureExt;
use tracing::Instrument;

use super::Upstream;
use crate::{
    bloc::{
        self, Account, Card, Owner, Records, Transaction, TransactionsQuery, Wallet,
        models::{Drcr, TransactionStatus},
    },
    upstream::{Fetched, Payload, Resource},
};

// Written once: the constant and the schema's descriptions read it.
macro_rules! transactions_per_page {
    () => {
        50
    };
}
pub(crate) use transactions_per_page;

/// Transactions asked of Bloc per page (`per_page`): the cost model prices
/// `transactions(offset, limit)` at one call per page of these that `offset + limit` spans.
pub(crate) const TRANSACTIONS_PER_PAGE: u32 = transactions_per_page!();

/// The transactions of a customer or an account that a field asks for.
pub(crate) struct TransactionPage {
    pub owner: Owner,
    pub drcr: Option<Drcr>,
    pub status: Option<TransactionStatus>,
    pub offset: usize,
    pub limit: usize,
}

impl Upstream {
    /// `resource`, fetched at most once per request: every field, alias and operation asking
    /// for it shares one fetch, which joins the open batch (at most `concurrency` at a time).
    async fn fetch(&self, resource: Resource) -> Fetched {
        let shared = {
            let mut relations = self
                .relations
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match relations.get(&resource) {
                Some(existing) => existing.clone(),
                None => {
                    let fetch = if self.spend() {
                        let (gateway, call, permits) = (
                            self.gateway.clone(),
                            self.call.clone(),
                            self.permits.clone(),
                        );
                        let key = resource.clone();
                        async move {
                            let _permit = permits.acquire_owned().await.ok();
                            gateway.resource(key, &call).await
                        }
                        .instrument(self.join_batch())
                        .boxed()
                        .shared()
                    } else {
                        futures::future::ready(Err(bloc::Error::NotPriced))
                            .boxed()
                            .shared()
                    };
                    relations.insert(resource, fetch.clone());
                    fetch
                }
            }
        };
        shared.await
    }

    /// A customer's accounts.
    pub(crate) async fn accounts(
        &self,
        customer_id: &str,
    ) -> Result<Arc<Records<Account>>, bloc::Error> {
        match self
            .fetch(Resource::Accounts(customer_id.to_owned()))
            .await?
        {
            Payload::Accounts(records) => Ok(records),
            _ => Err(mismatch()),
        }
    }

    /// A customer's cards.
    pub(crate) async fn cards(&self, customer_id: &str) -> Result<Arc<Records<Card>>, bloc::Error> {
        match self.fetch(Resource::Cards(customer_id.to_owned())).await? {
            Payload::Cards(records) => Ok(records),
            _ => Err(mismatch()),
        }
    }

    /// A customer's wallets.
    pub(crate) async fn wallets(
        &self,
        customer_id: &str,
    ) -> Result<Arc<Records<Wallet>>, bloc::Error> {
        match self
            .fetch(Resource::Wallets(customer_id.to_owned()))
            .await?
        {
            Payload::Wallets(records) => Ok(records),
            _ => Err(mismatch()),
        }
    }

    /// An account by id (or, with `by_number`, by account number); `None` when unknown.
    pub(crate) async fn account(
        &self,
        key: &str,
        by_number: bool,
    ) -> Result<Option<Arc<Account>>, bloc::Error> {
        let resource = if by_number {
            Resource::AccountNumber(key.to_owned())
        } else {
            Resource::Account(key.to_owned())
        };
        match self.fetch(resource).await? {
            Payload::Account(account) => Ok(account),
            _ => Err(mismatch()),
        }
    }

    /// A transaction by reference; `None` when unknown.
    pub(crate) async fn transaction(
        &self,
        reference: &str,
    ) -> Result<Option<Arc<Transaction>>, bloc::Error> {
        match self
            .fetch(Resource::Transaction(reference.to_owned()))
            .await?
        {
            Payload::Transaction(transaction) => Ok(transaction),
            _ => Err(mismatch()),
        }
    }

    /// The transactions `page` asks for, newest first as Bloc lists them, and how many
    /// records Bloc sent unreadably on the pages read.
    ///
    /// Reads Bloc's pages in turn until `offset + limit` transactions matched, Bloc says
    /// there is no next page, a page brings nothing new (Bloc ignoring `page`) or the pages
    /// the cost model priced are read. Whatever Bloc sends is filtered again here, by owner
    /// and by the filter, so a filter Bloc ignores can never show one customer's
    /// transactions under another.
    pub(crate) async fn transactions(
        &self,
        page: &TransactionPage,
    ) -> Result<(Vec<Arc<Transaction>>, usize), bloc::Error> {
        let wanted = page.offset.saturating_add(page.limit);
        if page.limit == 0 {
            return Ok((Vec::new(), 0));
        }
        let pages = priced_pages(wanted);
        let mut matched: Vec<Arc<Transaction>> = Vec::new();
        let mut seen = HashSet::new();
        let mut undecodable = 0usize;
        for number in 1..=pages {
            let query = TransactionsQuery {
                owner: page.owner.clone(),
                drcr: page.drcr,
                status: page.status,
                page: number,
                per_page: TRANSACTIONS_PER_PAGE,
            };
            let records = match self.fetch(Resource::Transactions(query)).await? {
                Payload::Transactions(records) => records,
                _ => return Err(mismatch()),
            };
            undecodable = undecodable.saturating_add(records.undecodable);
            let mut fresh = false;
            for transaction in &records.items {
                if !seen.insert(transaction.id.clone()) {
                    continue;
                }
                fresh = true;
                let owned = match &page.owner {
                    Owner::Customer(id) => transaction.is_customers(id),
                    Owner::Account(id) => transaction.is_accounts(id),
                };
                let drcr = page
                    .drcr
                    .is_none_or(|d| transaction.drcr.value() == Some(&d));
                let status = page
                    .status
                    .is_none_or(|s| transaction.status.value() == Some(&s));
                if owned && drcr && status {
                    matched.push(transaction.clone());
                }
            }
            if matched.len() >= wanted || !records.has_next || !fresh {
                break;
            }
        }
        let window = matched
            .into_iter()
            .skip(page.offset)
            .take(page.limit)
            .collect();
        Ok((window, undecodable))
    }
}

/// Pages of [`TRANSACTIONS_PER_PAGE`] that `wanted` transactions span (at least one).
pub(crate) fn priced_pages(wanted: usize) -> u32 {
    let per_page = TRANSACTIONS_PER_PAGE as usize;
    u32::try_from(wanted.div_ceil(per_page).max(1)).unwrap_or(u32::MAX)
}

/// A resource answered with another resource's payload: a bug, reported as Bloc's.
fn mismatch() -> bloc::Error {
    bloc::Error::Transport { kind: "internal" }
}
