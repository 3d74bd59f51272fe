//! `Address`: its table, one line per field.

use crate::{
    bloc::models,
    graphql::table::{Cell, IntoCell, object_table},
};

/// A customer's address, borrowed from the Bloc record.
pub(crate) struct Address<'a>(pub &'a models::Address);

impl<'a> IntoCell<'a> for Address<'a> {
    fn into_cell(self) -> Cell<'a> {
        Cell::Object(self.0)
    }
}

object_table! {
    /// A customer's postal address, set at KYC tier 1. Blank parts are `null`.
    // `serial`: the fields read memory only (see `Customer`).
    impl Address<'_> => ADDRESS: models::Address as "Address";
    Object(rename_fields = "snake_case", serial);
    /// Street and house number.
    street: Option<&String> = |a| a.street.get();
    /// City or town.
    city: Option<&String> = |a| a.city.get();
    /// State, e.g. `Lagos`.
    state: Option<&String> = |a| a.state.get();
    /// Country, e.g. `Nigeria`.
    country: Option<&String> = |a| a.country.get();
    /// Postal code.
    postal_code: Option<&String> = |a| a.postal_code.get();
    /// The address on one line for display: its set parts, street to country, joined by commas (e.g. `10c Pinnock Estate, Lekki, Lagos, 100101, Nigeria`).
    formatted: Option<String> = |a| [&a.street, &a.city, &a.state, &a.postal_code, &a.country].into_iter().map(|part| part.get()).collect::<Result<Vec<_>, _>>().map(|parts| Some(parts.into_iter().flatten().map(String::as_str).collect::<Vec<_>>().join(", ")).filter(|line| !line.is_empty()));
}
