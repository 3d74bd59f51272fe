//! What Bloc layers on a customer (accounts, cards, wallets, transactions): the transactions
//! query and its URL. (Records are decoded one by one in [`crate::bloc::wire`], so one
//! unreadable record is left out and counted, never the whole answer.)

use url::Url;

use super::BlocClient;
use crate::bloc::{
    Error,
    models::{Drcr, TransactionStatus},
};

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
    /// `GET /transactions?...` for `query`. The filters are sent, and the caller must apply
    /// them again (Bloc may ignore them).
    pub(super) fn transactions_url(&self, query: &TransactionsQuery) -> Result<Url, Error> {
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
        Ok(url)
    }
}
