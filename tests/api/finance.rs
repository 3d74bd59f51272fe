//! A customer's accounts, cards, wallets and transactions: exact money, batching per relation,
//! the cost model and its allowance, drift, scopes, and a filter Bloc may ignore.

mod access;
mod batching;
mod cost;
mod money;
mod transactions;

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{plain, spawn_app_with};

pub(super) const NONE: Duration = Duration::ZERO;

pub(super) fn accounts_path(customer: &str) -> String {
    format!("/accounts/customers/accounts/{customer}")
}

/// An app with nothing cached, retried or paced: every call reaches the mock.
pub(super) async fn app() -> crate::helpers::TestApp {
    spawn_app_with(|c| c.resilience = plain()).await
}

pub(super) fn answered(response: &Value) {
    assert!(response.get("errors").is_none(), "{response}");
}
