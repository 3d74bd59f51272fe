//! `Money`: an exact amount, its table one line per field.

use crate::{
    bloc::models,
    graphql::table::{Cell, IntoCell, object_table},
};

/// An amount borrowed from its Bloc record.
pub(crate) struct Money<'a>(pub &'a models::Money);

impl<'a> IntoCell<'a> for Money<'a> {
    fn into_cell(self) -> Cell<'a> {
        Cell::Object(self.0)
    }
}

object_table! {
    /// An exact amount of money. Bloc counts in kobo (₦1 = 100 kobo) and balances pass
    /// GraphQL's 32-bit `Int`, so both forms are decimal strings of the exact integer: never
    /// a float, never rounded.
    // `serial`: the fields read memory only (see `Address`).
    impl Money<'_> => MONEY: models::Money as "Money";
    Object(rename_fields = "snake_case", serial);
    /// The amount in kobo, as a decimal integer string (e.g. `"5000000000"`; negative with a
    /// leading `-`).
    kobo: String = |m| Ok(m.kobo.to_string());
    /// The amount in the currency's main unit with exactly two decimals (e.g.
    /// `"50000000.00"` for 5,000,000,000 kobo).
    amount: String = |m| Ok(m.amount());
    /// ISO 4217 currency code, e.g. `NGN` (Bloc's only currency; assumed when a record does
    /// not say).
    currency: &String = |m| Ok(&m.currency);
}
