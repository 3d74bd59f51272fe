//! GraphQL object, input, enum and scalar types: one per file.

mod address;
mod customer;
mod enums;
mod filter;
mod scalars;
mod sync_data;

pub(crate) use address::address_field;
pub(crate) use customer::{Customer, customer_text_field};
pub(crate) use enums::{CustomerStatus, Environment};
pub(crate) use filter::CustomerFilter;
pub(crate) use scalars::{Date, DateTime};
pub(crate) use sync_data::sync_data_field;

/// Reads one text field of a Bloc record (for direct execution, `super::direct`).
pub(crate) type Text<T> = fn(&T) -> &Lenient<String>;

use crate::{bloc::models::Lenient, error};

/// A Bloc field as a GraphQL result: unset is `null`, unreadable is `null` plus an
/// `UPSTREAM_BAD_RESPONSE` error at this field's path.
fn lenient<'a, T>(
    value: &'a Lenient<T>,
    field: &'static str,
) -> async_graphql::Result<Option<&'a T>> {
    value.get().map_err(|_| error::upstream_field(field))
}
