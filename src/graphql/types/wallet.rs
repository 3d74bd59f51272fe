//! `Wallet`: its table, one line per field, and its relation.

use std::sync::Arc;

use async_graphql::{Context, ID, Result};

use super::{CUSTOMER, Customer, money::Money, relation, scalars::DateTime};
use crate::{
    auth::Scope,
    bloc::models,
    graphql::table::{Relation, RelationCalls, object_table},
};

/// A Bloc wallet (the GraphQL description is on the table below).
#[derive(Clone)]
pub(crate) struct Wallet(pub Arc<models::Wallet>);

/// The fields of `Wallet` that reach Bloc again.
pub(crate) static WALLET_RELATIONS: [Relation; 1] = [Relation {
    name: "customer",
    scope: Scope::Read,
    calls: RelationCalls::One,
    returns: &CUSTOMER,
}];

object_table! {
    /// A wallet Bloc holds for a customer. Field names are Bloc's own.
    impl Wallet => WALLET: models::Wallet as "Wallet" with &WALLET_RELATIONS;
    Object(rename_fields = "snake_case");
    /// Bloc's wallet id.
    id: ID = |w| Ok(ID(w.id.clone()));
    /// Id of the customer the wallet belongs to.
    customer_id: Option<ID> = |w| w.customer_id.get().map(|i| i.map(|i| ID(i.0.clone())));
    /// The alias the wallet was created with.
    alias: Option<&String> = |w| w.alias.get();
    /// The account number paying into the wallet.
    account_number: Option<&String> = |w| w.account_number.get();
    /// The bank of that account number.
    bank_name: Option<&String> = |w| w.bank_name.get();
    /// The balance, exact (in `NGN` when Bloc does not say).
    balance: Option<Money<'_>> = |w| w.balance.get().map(|m| m.map(Money));
    /// The wallet's status as Bloc sends it, e.g. `active`.
    status: Option<&String> = |w| w.status.get();
    /// When the wallet was created.
    created_at: Option<DateTime> = |w| w.created_at.get().map(|t| t.copied().map(DateTime));
    @resolvers {
        /// The customer the wallet belongs to (shared with every other field naming the
        /// same customer). Needs `customers:read`.
        async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
            relation::customer(ctx, &WALLET_RELATIONS, &self.0.customer_id).await
        }
    }
}
