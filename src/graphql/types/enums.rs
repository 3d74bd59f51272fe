//! Enums for Bloc's keyword fields.

use async_graphql::Enum;

use crate::{bloc::models, graphql::table::leaf_columns};

/// Whether a customer is in use.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CustomerStatus {
    /// The customer can hold accounts and cards (Bloc: `active`).
    Active,
    /// The customer was archived (Bloc: `archived`).
    Archived,
}

/// The Bloc environment a record belongs to.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Environment {
    /// Test mode, reached with `sk_test_` keys (Bloc: `test`).
    Test,
    /// Live mode, reached with `sk_live_` keys (Bloc: `live`).
    Live,
}

impl From<models::Status> for CustomerStatus {
    fn from(status: models::Status) -> Self {
        match status {
            models::Status::Active => Self::Active,
            models::Status::Archived => Self::Archived,
        }
    }
}

impl From<models::Environment> for Environment {
    fn from(environment: models::Environment) -> Self {
        match environment {
            models::Environment::Test => Self::Test,
            models::Environment::Live => Self::Live,
        }
    }
}

leaf_columns!(CustomerStatus, Environment);
