//! The endpoints of what Bloc layers on a customer: accounts, cards, wallets, transactions.
//! Each decodes its records one by one ([`Model::from_json`]), so one unreadable record is left
//! out (and counted), never the whole answer.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use url::Url;

use super::{BlocClient, CallOptions, DECODE_ON_WORKER_BELOW, Missing, unwrap_envelope};
use crate::bloc::{
    Error,
    models::{Account, Card, Drcr, Model, Records, Transaction, TransactionStatus, Wallet},
};

/// A list answer's envelope, with Bloc's paging metadata.
#[derive(Deserialize)]
struct ListEnvelope<'a> {
    success: bool,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default)]
    has_next: bool,
}

/// Which page of `GET /transactions` to read, and for whom.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TransactionsQuery {
    /// `customer_id` or `account_id`: whose transactions.
    pub owner: Owner,
    /// `drcr`, when filtered.
    pub drcr: Option<Drcr>,
    /// `status`, when filtered.
    pub status: Option<TransactionStatus>,
    /// `page`, from 1 (undocumented: see README).
    pub page: u32,
    /// `per_page`.
    pub per_page: u32,
}

/// Whose transactions a [`TransactionsQuery`] asks for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// `customer_id=`.
    Customer(String),
    /// `account_id=`.
    Account(String),
}

impl BlocClient {
    /// `GET /accounts/customers/accounts/{id}`: the customer's accounts (an unknown customer
    /// has none).
    pub async fn customer_accounts(
        &self,
        customer_id: &str,
        options: &CallOptions,
    ) -> Result<Records<Account>, Error> {
        let url = self.segments_url(&["accounts", "customers", "accounts", customer_id])?;
        self.records(url, Missing::IsNone, options).await
    }

    /// `GET /cards/customer/{id}`.
    pub async fn customer_cards(
        &self,
        customer_id: &str,
        options: &CallOptions,
    ) -> Result<Records<Card>, Error> {
        let url = self.segments_url(&["cards", "customer", customer_id])?;
        self.records(url, Missing::IsNone, options).await
    }

    /// `GET /wallets/customers/{id}`.
    pub async fn customer_wallets(
        &self,
        customer_id: &str,
        options: &CallOptions,
    ) -> Result<Records<Wallet>, Error> {
        let url = self.segments_url(&["wallets", "customers", customer_id])?;
        self.records(url, Missing::IsNone, options).await
    }

    /// `GET /transactions?...`: one page of a customer's or an account's transactions. The
    /// filters are sent, and the caller must apply them again (Bloc may ignore them).
    pub async fn transactions(
        &self,
        query: &TransactionsQuery,
        options: &CallOptions,
    ) -> Result<Records<Transaction>, Error> {
        let mut url = self.url(["transactions"])?;
        {
            let mut pairs = url.query_pairs_mut();
            match &query.owner {
                Owner::Customer(id) => pairs.append_pair("customer_id", id),
                Owner::Account(id) => pairs.append_pair("account_id", id),
            };
            if let Some(drcr) = query.drcr {
                pairs.append_pair("drcr", drcr.param());
            }
            if let Some(status) = query.status {
                pairs.append_pair("status", status.param());
            }
            pairs.append_pair("per_page", &query.per_page.to_string());
            pairs.append_pair("page", &query.page.to_string());
        }
        // Always there: a 404 is not "no transactions" but an unexpected answer.
        self.records(Some(url), Missing::IsError, options).await
    }

    /// `GET /accounts/{id}`; `None` when Bloc does not know it.
    pub async fn account(
        &self,
        id: &str,
        options: &CallOptions,
    ) -> Result<Option<Arc<Account>>, Error> {
        let url = self.segments_url(&["accounts", id])?;
        self.record(url, |a: &Account| a.id == id, options).await
    }

    /// `GET /accounts/number/{number}`; `None` when Bloc does not know it.
    pub async fn account_by_number(
        &self,
        number: &str,
        options: &CallOptions,
    ) -> Result<Option<Arc<Account>>, Error> {
        let url = self.segments_url(&["accounts", "number", number])?;
        let matches = |a: &Account| a.account_number.value().is_some_and(|n| n == number);
        self.record(url, matches, options).await
    }

    /// `GET /transactions/reference/{reference}`; `None` when Bloc does not know it.
    pub async fn transaction(
        &self,
        reference: &str,
        options: &CallOptions,
    ) -> Result<Option<Arc<Transaction>>, Error> {
        let url = self.segments_url(&["transactions", "reference", reference])?;
        let matches = |t: &Transaction| t.reference.value().is_some_and(|r| r == reference);
        self.record(url, matches, options).await
    }

    /// The URL of `segments`, each one percent-encoded path segment; `None` when one is `.`
    /// or `..` (which URL libraries and proxies resolve as dot segments: no record has such
    /// an id, so the answer is "none" without a call).
    fn segments_url(&self, segments: &[&str]) -> Result<Option<Url>, Error> {
        if segments.iter().any(|s| *s == "." || *s == "..") {
            return Ok(None);
        }
        self.url(segments.iter().copied()).map(Some)
    }

    /// One record; `None` when the resource is missing. A record that is not the one asked
    /// for (`matches` says) is an error, never an answer.
    async fn record<T: Model>(
        &self,
        url: Option<Url>,
        matches: impl Fn(&T) -> bool,
        options: &CallOptions,
    ) -> Result<Option<Arc<T>>, Error> {
        let Some(url) = url else {
            return Ok(None);
        };
        let Some(body) = self
            .body(url, Missing::IsNone, self.record_limit, options)
            .await?
        else {
            return Ok(None);
        };
        let record = unwrap_envelope(&body, |data| {
            let data = data.ok_or_else(|| Error::Decode {
                detail: format!("{} answer without data", T::NOUN),
            })?;
            T::from_json(data.get()).map_err(|_| Error::Decode {
                detail: format!("{} record without a string id", T::NOUN),
            })
        })?;
        if !matches(&record) {
            return Err(Error::Decode {
                detail: format!("the {} is not the one asked for", T::NOUN),
            });
        }
        Ok(Some(Arc::new(record)))
    }

    /// A list of records: `null` is an empty list, and so is a missing resource where
    /// `missing` says so (the customer-scoped endpoints answer 404 for a customer with
    /// nothing).
    async fn records<T: Model>(
        &self,
        url: Option<Url>,
        missing: Missing,
        options: &CallOptions,
    ) -> Result<Records<T>, Error> {
        let Some(url) = url else {
            return Ok(Records::default());
        };
        let Some(body) = self.body(url, missing, self.body_limit, options).await? else {
            return Ok(Records::default());
        };
        let read = move |body: &[u8]| -> Result<Records<T>, Error> {
            let envelope: ListEnvelope =
                serde_json::from_slice(body).map_err(|e| Error::from_json(&e))?;
            if !envelope.success {
                return Err(Error::Unsuccessful);
            }
            let raw: Vec<&RawValue> = match envelope.data {
                None => Vec::new(),
                Some(data) => serde_json::from_str(data.get()).map_err(|_| Error::Decode {
                    detail: format!("{} list is not an array", T::NOUN),
                })?,
            };
            let total = raw.len();
            let items: Vec<Arc<T>> = raw
                .into_iter()
                .filter_map(|record| T::from_json(record.get()).ok().map(Arc::new))
                .collect();
            Ok(Records {
                undecodable: total.saturating_sub(items.len()),
                items,
                has_next: envelope.metadata.unwrap_or_default().has_next,
                wire_bytes: body.len(),
            })
        };
        if body.len() < DECODE_ON_WORKER_BELOW {
            return read(&body);
        }
        tokio::task::spawn_blocking(move || read(&body))
            .await
            .unwrap_or(Err(Error::Transport { kind: "internal" }))
    }
}
