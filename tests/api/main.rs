//! Integration tests: one binary, one file per behaviour area.

// Test code may panic: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod helpers;
mod mocks;

mod apollo_client;
mod architecture;
mod batching;
mod binary;
mod browser;
mod conformance;
mod customer;
mod differential;
mod direct;
mod drift;
mod finance;
mod freshness;
mod hostile_ids;
mod http_surface;
mod jwks;
mod limits;
mod list;
mod ordering;
mod persisted;
mod rate_limits;
mod replicas;
mod resilience;
mod sandbox;
mod schema_file;
mod security;
mod upstream_errors;
mod upstream_hardening;
