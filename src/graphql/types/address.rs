//! `Address`.

use async_graphql::{Object, Result};

use super::lenient;
use crate::bloc::models;

/// A customer's address, borrowed from the Bloc record.
pub(crate) struct Address<'a>(pub &'a models::Address);

/// A customer's postal address, set at KYC tier 1. Blank parts are `null`.
// `serial`: the fields read memory only (see `Customer`).
#[Object(rename_fields = "snake_case", serial)]
impl Address<'_> {
    /// Street and house number.
    async fn street(&self) -> Result<Option<&String>> {
        lenient(&self.0.street, "street")
    }
    /// City or town.
    async fn city(&self) -> Result<Option<&String>> {
        lenient(&self.0.city, "city")
    }
    /// State, e.g. `Lagos`.
    async fn state(&self) -> Result<Option<&String>> {
        lenient(&self.0.state, "state")
    }
    /// Country, e.g. `Nigeria`.
    async fn country(&self) -> Result<Option<&String>> {
        lenient(&self.0.country, "country")
    }
    /// Postal code.
    async fn postal_code(&self) -> Result<Option<&String>> {
        lenient(&self.0.postal_code, "postal_code")
    }
}

/// The text field of `Address` named `name` in the schema (for direct execution).
pub(crate) fn address_field(name: &str) -> Option<super::Text<models::Address>> {
    Some(match name {
        "street" => |a| &a.street,
        "city" => |a| &a.city,
        "state" => |a| &a.state,
        "country" => |a| &a.country,
        "postal_code" => |a| &a.postal_code,
        _ => return None,
    })
}
