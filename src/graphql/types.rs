//! GraphQL object, input, enum and scalar types: one per file. Each object type backed by a
//! Bloc record is its table (`super::table`): one line per field.

mod address;
mod customer;
mod enums;
mod filter;
mod scalars;
mod sync_data;

pub(crate) use customer::{CUSTOMER, Customer};
pub(crate) use filter::{CustomerFilter, Matcher};

use super::table::Schema;

/// Every object type with a table, for what must find one by name (fragments' type
/// conditions in the cost model).
static OBJECTS: [&dyn Schema; 3] = [
    &customer::CUSTOMER,
    &address::ADDRESS,
    &sync_data::SYNC_DATA,
];

/// The table of the object type named `name`.
pub(crate) fn object(name: &str) -> Option<&'static dyn Schema> {
    OBJECTS
        .iter()
        .copied()
        .find(|object| object.typename() == name)
}
