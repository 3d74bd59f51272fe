//! The built-in Bloc sandbox: a real HTTP server that speaks Bloc's customer API (envelope,
//! status codes and quirks) over a fixed, seeded set of fake Nigerian customers.
//!
//! `bloc-graphql --sandbox` starts one on a free loopback port and points the facade at it,
//! so the whole real path (reqwest, HTTP, JSON decoding) runs; `bloc-graphql sandbox` runs it
//! alone, optionally with many more customers and records that change all the time (for
//! benchmarks). It accepts any `Authorization: Bearer <key>` and answers 401 without one.

mod data;
mod rendered;
mod server;

pub use data::{CUSTOMER_COUNT, MAX_CUSTOMERS, customers, generate};
pub use server::{
    RunningSandbox, SandboxOptions, router_with, router_with_latency, start, start_with,
    start_with_latency,
};

/// The key the facade sends to its own sandbox. Fake, like everything here.
pub const SANDBOX_KEY: &str = "sk_test_000000000000000000000000sandbox0000000000000000";

#[cfg(test)]
mod tests;
