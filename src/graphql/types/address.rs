//! `Address`: its table, one line per field.

use crate::{
    bloc::models,
    graphql::table::{Cell, ColumnType, IntoCell, Schema, object_table},
};

/// A customer's address, borrowed from the Bloc record.
pub(crate) struct Address<'a>(pub &'a models::Address);

impl ColumnType for Address<'_> {
    const OBJECT: Option<&'static dyn Schema> = Some(&ADDRESS);
}

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
}
