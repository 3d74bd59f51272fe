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

/// The state of an account.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccountStatus {
    /// Open for payments (Bloc: `Open`).
    Open,
    /// Frozen: no debits until it is unfrozen (Bloc: `Frozen`).
    Frozen,
    /// Closed (Bloc: `Closed`).
    Closed,
}

/// The state of a card.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CardStatus {
    /// Usable (Bloc: `active`).
    Active,
    /// Frozen until unfrozen (Bloc: `frozen`).
    Frozen,
    /// Blocked for good (Bloc: `blocked`).
    Blocked,
}

/// Whether a transaction credits or debits its account.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drcr {
    /// Money in (Bloc: `CR`).
    Credit,
    /// Money out (Bloc: `DR`).
    Debit,
}

/// A transaction's outcome.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransactionStatus {
    /// Settled (Bloc: `successful`).
    Successful,
    /// Failed; balances unchanged (Bloc: `failed`).
    Failed,
    /// Not settled yet (Bloc: `pending`).
    Pending,
}

/// Converts both ways between a model enum and its GraphQL enum, variant by variant.
macro_rules! mirror {
    ($model:ident <=> $graphql:ident { $($variant:ident),+ }) => {
        impl From<models::$model> for $graphql {
            fn from(value: models::$model) -> Self {
                match value {
                    $(models::$model::$variant => Self::$variant),+
                }
            }
        }

        impl From<$graphql> for models::$model {
            fn from(value: $graphql) -> Self {
                match value {
                    $($graphql::$variant => Self::$variant),+
                }
            }
        }
    };
}

mirror!(AccountStatus <=> AccountStatus { Open, Frozen, Closed });
mirror!(CardStatus <=> CardStatus { Active, Frozen, Blocked });
mirror!(Drcr <=> Drcr { Credit, Debit });
mirror!(TransactionStatus <=> TransactionStatus { Successful, Failed, Pending });

leaf_columns!(AccountStatus, CardStatus, Drcr, TransactionStatus);
