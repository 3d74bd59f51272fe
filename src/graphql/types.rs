//! GraphQL object, input, enum and scalar types: one per file.

mod address;
mod customer;
mod enums;
mod filter;
mod scalars;
mod sync_data;

pub(crate) use customer::Customer;
pub(crate) use filter::CustomerFilter;

use crate::{bloc::models::Lenient, error};

/// A Bloc field as a GraphQL result: unset is `null`, unreadable is `null` plus an
/// `UPSTREAM_BAD_RESPONSE` error at this field's path.
fn lenient<'a, T>(
    value: &'a Lenient<T>,
    field: &'static str,
) -> async_graphql::Result<Option<&'a T>> {
    value.get().map_err(|_| error::upstream_field(field))
}
