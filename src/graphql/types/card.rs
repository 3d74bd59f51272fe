//! `Card`: its table, one line per field, and its relation.

use std::sync::Arc;

use async_graphql::{Context, ID, Result};

use super::{CUSTOMER, Customer, address::Address, enums::CardStatus, relation, scalars::DateTime};
use crate::{
    auth::Scope,
    bloc::models,
    graphql::table::{Relation, RelationCalls, object_table},
};

/// A Bloc card (the GraphQL description is on the table below).
#[derive(Clone)]
pub(crate) struct Card(pub Arc<models::Card>);

/// The fields of `Card` that reach Bloc again.
pub(crate) static CARD_RELATIONS: [Relation; 1] = [Relation {
    name: "customer",
    scope: Scope::Read,
    calls: RelationCalls::One,
    returns: &CUSTOMER,
}];

object_table! {
    /// A card issued to a customer. The card number, CVV, PIN and the card's KYC detail are
    /// never exposed (the facade does not read them). Field names are Bloc's own.
    impl Card => CARD: models::Card as "Card" with &CARD_RELATIONS;
    Object(rename_fields = "snake_case");
    /// Bloc's card id.
    id: ID = |c| Ok(ID(c.id.clone()));
    /// Id of the customer the card was issued to.
    customer_id: Option<ID> = |c| c.customer_id.get().map(|i| i.map(|i| ID(i.0.clone())));
    /// The name on the card.
    name: Option<&String> = |c| c.name.get();
    /// The kind of card, e.g. `virtual`.
    kind as "type": Option<&String> = |c| c.kind.get();
    /// The card scheme, e.g. `Verve` or `MasterCard`.
    brand: Option<&String> = |c| c.brand.get();
    /// ISO 4217 currency code, e.g. `NGN`.
    currency: Option<&String> = |c| c.currency.get();
    /// Whether the card is active, frozen or blocked.
    status: Option<CardStatus> = |c| c.status.get().map(|s| s.map(|s| (*s).into()));
    /// The card's billing address; `null` while Bloc holds an empty one.
    billing_address: Option<Address<'_>> = |c| c.billing_address.get().map(|a| a.map(Address));
    /// Expiry month, 1 to 12.
    expiry_month: Option<i32> = |c| c.expiry_month.get().map(|m| m.map(|m| m.0));
    /// Expiry year, e.g. 2027.
    expiry_year: Option<i32> = |c| c.expiry_year.get().map(|y| y.map(|y| y.0));
    /// When the card was issued.
    created_at: Option<DateTime> = |c| c.created_at.get().map(|t| t.copied().map(DateTime));
    /// When the card was last updated; `null` until the first update.
    updated_at: Option<DateTime> = |c| c.updated_at.get().map(|t| t.copied().map(DateTime));
    @resolvers {
        /// The customer the card was issued to (shared with every other field naming the
        /// same customer). Needs `customers:read`.
        async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
            relation::customer(ctx, &CARD_RELATIONS, &self.0.customer_id).await
        }
    }
}
