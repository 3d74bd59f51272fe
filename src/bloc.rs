//! Bloc's REST API: the only module that knows Bloc's URLs, envelope and JSON quirks.
//!
//! [`BlocClient`] turns HTTP into answers ([`wire::Wire`]), which [`wire`] decodes; [`models`] turns Bloc's loosely typed JSON
//! into values that either parse or say they did not, field by field; [`Error`] speaks in
//! upstream terms and leaves the GraphQL wording to [`crate::error`].

mod client;
mod error;
pub mod models;
mod settings;
pub mod wire;

pub use client::{BlocClient, CallOptions, Endpoint, Owner, TransactionsQuery};
pub use error::Error;
pub use models::{Account, Card, Customer, Records, Transaction, Wallet};
pub use settings::{BlocConfig, RECORD_BODY_LIMIT};
