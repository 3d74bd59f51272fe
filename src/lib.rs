//! bloc-graphql: a GraphQL facade over [Bloc](https://blochq.io)'s customer REST API.
//!
//! A request goes down the layers and never back up (ARCHITECTURE.md has the picture):
//!
//! - [`server`] serves connections and adds the HTTP layers; `http` routes, and runs each
//!   GraphQL request through its pipeline (identify, rate-limit, persisted queries, limits,
//!   execute, respond and log);
//! - [`graphql`] is the only module that knows async-graphql: the schema, one table per type,
//!   the limits, the per-request loader and the executors;
//! - `upstream` is the process-wide way to Bloc: cache, budget, scheduler, retries, breaker;
//!   `shared` keeps what replicas share (budget, cache) on Redis;
//! - `bloc` is the only module that knows Bloc's URLs and JSON.
//!
//! Beside them: [`config`] is the whole configuration as plain data, [`cli`] reads it from
//! flags and the environment, [`state`] turns it into the runtime objects requests share,
//! [`commands`] runs the binary's subcommands, and [`sandbox`] is a built-in stand-in for Bloc.

pub mod auth;
pub(crate) mod bloc;
pub mod cli;
pub mod commands;
pub mod config;
pub(crate) mod error;
pub mod graphiql;
pub mod graphql;
pub(crate) mod http;
pub(crate) mod metrics;
pub mod persisted;
pub(crate) mod ratelimit;
pub mod sandbox;
pub mod server;
pub(crate) mod shared;
pub mod state;
pub(crate) mod telemetry;
pub(crate) mod upstream;
