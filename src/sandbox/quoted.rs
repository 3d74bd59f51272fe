//! The default sandbox's related records as values, for tests and docs to quote.

use serde::Serialize;
use serde_json::Value;

use super::{data::customers, related::ledger, view::View};

/// One default-sandbox customer's related records, exactly as the sandbox serves them
/// (without live updates). An empty list is an answer whose `data` is `null`.
#[derive(Debug, Clone, PartialEq)]
pub struct Relations {
    /// `GET /v1/accounts/customers/accounts/{id}`'s items, oldest first.
    pub accounts: Vec<Value>,
    /// `GET /v1/cards/customer/{id}`'s items.
    pub cards: Vec<Value>,
    /// `GET /v1/wallets/customers/{id}`'s items.
    pub wallets: Vec<Value>,
    /// All the customer's transactions, newest first: what paging through
    /// `GET /v1/transactions?customer_id={id}` yields.
    pub transactions: Vec<Value>,
}

/// What the default sandbox serves for the customer at `index` in [`customers`]
/// (`None` past [`CUSTOMER_COUNT`](super::CUSTOMER_COUNT)), e.g. `relations_of(0)` for the
/// first customer's account, cards, wallet and transactions.
pub fn relations_of(index: usize) -> Option<Relations> {
    let record = serde_json::to_vec(customers().get(index)?).ok()?;
    let view = View::new(index, &record, "")?;
    let transactions = ledger(std::slice::from_ref(&view), None, |_| true)
        .into_iter()
        .map(|(view, account, transaction)| view.transaction(account, transaction))
        .collect();
    Some(Relations {
        accounts: values(view.accounts()),
        cards: values(view.cards()),
        wallets: values(view.wallets()),
        transactions: values(transactions),
    })
}

fn values<T: Serialize>(items: Vec<T>) -> Vec<Value> {
    items
        .iter()
        .filter_map(|item| serde_json::to_value(item).ok())
        .collect()
}
