//! `Transaction`: its table, one line per field, and its relations.

use std::sync::Arc;

use async_graphql::{Context, ID, Result};

use super::{
    ACCOUNT, Account, CUSTOMER, Customer,
    enums::{Drcr, TransactionStatus},
    money::Money,
    relation,
    scalars::DateTime,
};
use crate::{
    auth::Scope,
    bloc::models,
    error,
    graphql::table::{Relation, RelationCalls, object_table},
};

/// A Bloc transaction (the GraphQL description is on the table below).
#[derive(Clone)]
pub(crate) struct Transaction(pub Arc<models::Transaction>);

/// The fields of `Transaction` that reach Bloc again.
pub(crate) static TRANSACTION_RELATIONS: [Relation; 2] = [
    Relation {
        name: "account",
        scope: Scope::Finance,
        calls: RelationCalls::One,
        returns: &ACCOUNT,
    },
    Relation {
        name: "customer",
        scope: Scope::Read,
        calls: RelationCalls::One,
        returns: &CUSTOMER,
    },
];

object_table! {
    /// A payment into or out of an account. Amounts are exact ([`Money`]); field names are
    /// Bloc's own.
    impl Transaction => TRANSACTION: models::Transaction as "Transaction" with &TRANSACTION_RELATIONS;
    Object(rename_fields = "snake_case");
    /// Bloc's transaction id.
    id: ID = |t| Ok(ID(t.id.clone()));
    /// The transaction's unique reference (what `transaction(reference:)` looks up).
    reference: &String = |t| t.reference.get().and_then(|r| r.ok_or(models::Invalid));
    /// The amount moved, exact.
    amount: Money<'_> = |t| t.amount.get().and_then(|m| m.map(Money).ok_or(models::Invalid));
    /// The fee charged, exact.
    fee: Option<Money<'_>> = |t| t.fee.get().map(|m| m.map(Money));
    /// Whether it credits or debits the account.
    drcr: Option<Drcr> = |t| t.drcr.get().map(|d| d.map(|d| (*d).into()));
    /// Whether it settled, failed or is pending.
    status: Option<TransactionStatus> = |t| t.status.get().map(|s| s.map(|s| (*s).into()));
    /// The narration, as the payer or Bloc wrote it.
    narration: Option<&String> = |t| t.narration.get();
    /// How it was paid, e.g. `bank_transfer`.
    payment_method: Option<&String> = |t| t.payment_method.get();
    /// Bloc's payment type, e.g. `payin`.
    payment_type: Option<&String> = |t| t.payment_type.get();
    /// Where it came from, e.g. `Banking`.
    source: Option<&String> = |t| t.source.get();
    /// Id of the account it moved money on.
    account_id: Option<ID> = |t| t.account_id.get().map(|i| i.map(|i| ID(i.0.clone())));
    /// Id of the customer it belongs to; `null` for an organisation-level transaction.
    customer_id: Option<ID> = |t| t.customer_id.get().map(|i| i.map(|i| ID(i.0.clone())));
    /// The account's balance before it.
    previous_account_balance: Option<Money<'_>> =
        |t| t.previous_account_balance.get().map(|m| m.map(Money));
    /// The account's balance after it.
    current_account_balance: Option<Money<'_>> =
        |t| t.current_account_balance.get().map(|m| m.map(Money));
    /// When it happened.
    created_at: Option<DateTime> = |t| t.created_at.get().map(|t| t.copied().map(DateTime));
    @resolvers {
        /// The account it moved money on (one Bloc call per distinct account in the
        /// request). Needs `finance:read`.
        async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
            relation::require(ctx, &TRANSACTION_RELATIONS)?;
            let Some(id) = self.0.account_id.value() else {
                return Ok(None);
            };
            let found = relation::loader(ctx)?.account(&id.0, false).await;
            found.map(|a| a.map(Account)).map_err(|e| error::upstream(&e))
        }

        /// The customer it belongs to (shared with every other field naming the same
        /// customer); `null` for an organisation-level transaction. Needs `customers:read`.
        async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
            relation::customer(ctx, &TRANSACTION_RELATIONS, &self.0.customer_id).await
        }
    }
}
