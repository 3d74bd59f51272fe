//! GraphQL object, input, enum and scalar types: one per file. Each object type backed by a
//! Bloc record is its table (`super::table`): one line per field.

mod account;
mod address;
mod card;
mod customer;
mod enums;
mod filter;
mod money;
mod relation;
mod scalars;
mod sync_data;
mod transaction;
mod wallet;

pub(crate) use account::{ACCOUNT, Account};
pub(crate) use card::{CARD, Card};
pub(crate) use customer::{CUSTOMER, Customer};
pub(crate) use filter::{CustomerFilter, Matcher};
pub(crate) use relation::loader;
pub(crate) use transaction::{TRANSACTION, Transaction};
pub(crate) use wallet::{WALLET, Wallet};

use super::table::Schema;

/// Every object type with a table, for what must find one by name (fragments' type
/// conditions in the cost model).
static OBJECTS: [&dyn Schema; 8] = [
    &customer::CUSTOMER,
    &address::ADDRESS,
    &sync_data::SYNC_DATA,
    &account::ACCOUNT,
    &card::CARD,
    &wallet::WALLET,
    &transaction::TRANSACTION,
    &money::MONEY,
];

/// The table of the object type named `name`.
pub(crate) fn object(name: &str) -> Option<&'static dyn Schema> {
    OBJECTS
        .iter()
        .copied()
        .find(|object| object.typename() == name)
}
