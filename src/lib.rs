//! bloc-graphql: a GraphQL facade over [Bloc](https://blochq.io)'s customer REST API.
//!
//! The crate is laid out so that each layer has one job:
//!
//! - [`bloc`] is the only module that knows Bloc's URLs and JSON;
//! - [`graphql`] is the only module that knows async-graphql: the schema, the per-request
//!   loader and the response-order fix-up;
//! - [`http`] speaks GraphQL over HTTP (content negotiation, status codes, batching);
//! - [`server`] wires it together: [`server::AppState`], [`server::app`] and the serve loop;
//! - [`sandbox`] is a built-in stand-in for Bloc, for newcomers, frontend teams and tests.

pub mod auth;
pub mod bloc;
pub mod cli;
pub mod config;
pub mod error;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod persisted;
pub mod ratelimit;
pub mod sandbox;
pub mod server;
pub mod telemetry;
pub mod upstream;
