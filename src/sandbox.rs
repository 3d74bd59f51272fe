//! The built-in Bloc sandbox: a real HTTP server that speaks Bloc's API for customers and
//! their related records (envelope, status codes and quirks) over a fixed, seeded set of fake
//! Nigerian customers:
//!
//! - `GET /v1/customers` and `GET /v1/customers/{id}`;
//! - each customer's virtual accounts (`GET /v1/accounts/customers/accounts/{id}`, and one
//!   account by id or by number), cards (`GET /v1/cards/customer/{id}`) and wallets
//!   (`GET /v1/wallets/customers/{id}`);
//! - their transactions (`GET /v1/transactions`, filtered by `customer_id`, `account_id`,
//!   `drcr` and `status`, paged by `per_page` and `page`, newest first; and one by reference).
//!
//! A customer's related records derive from its index and the customers' seed when asked
//! for, so a sandbox of millions of customers costs no more memory for them than one of
//! sixty. Balances add up: each transaction's `current_account_balance` is its
//! `previous_account_balance` moved by its amount and fee, and an account's balance is its
//! newest transaction's. [`relations_of`] gives the default sandbox's records for tests.
//!
//! `bloc-graphql --sandbox` starts one on a free loopback port and points the facade at it,
//! so the whole real path (reqwest, HTTP, JSON decoding) runs; `bloc-graphql sandbox` runs it
//! alone, optionally with many more customers and records that change all the time (for
//! benchmarks). It accepts any `Authorization: Bearer <key>` and answers 401 without one.

mod data;
mod ids;
mod query;
mod quoted;
mod related;
mod relations;
mod rendered;
mod server;
mod view;
mod wire;

pub use data::{CUSTOMER_COUNT, MAX_CUSTOMERS, customers, generate};
pub use quoted::{Relations, relations_of};
pub use server::{
    RunningSandbox, SandboxOptions, router_with, router_with_latency, start, start_with,
    start_with_latency,
};

/// The key the facade sends to its own sandbox. Fake, like everything here.
pub const SANDBOX_KEY: &str = "sk_test_000000000000000000000000sandbox0000000000000000";

#[cfg(test)]
mod related_tests;
#[cfg(test)]
mod relations_tests;
#[cfg(test)]
mod tests;
