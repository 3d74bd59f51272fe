//! `Account`: its table, one line per field, and its relations.

use std::sync::Arc;

use async_graphql::{Context, ID, Result};

use super::{
    CUSTOMER, Customer, TRANSACTION, Transaction,
    enums::AccountStatus,
    money::Money,
    relation::{
        self, TransactionFilter, default_transactions, max_transactions, max_transactions_offset,
    },
    scalars::DateTime,
};
use crate::{
    auth::Scope,
    bloc::{Owner, models},
    graphql::{
        loaders::transactions_per_page,
        table::{Relation, RelationCalls, object_table},
    },
};

/// A Bloc virtual account (the GraphQL description is on the table below).
#[derive(Clone)]
pub(crate) struct Account(pub Arc<models::Account>);

/// The fields of `Account` that reach Bloc again.
pub(crate) static ACCOUNT_RELATIONS: [Relation; 2] = [
    Relation {
        name: "customer",
        scope: Scope::Read,
        calls: RelationCalls::One,
        returns: &CUSTOMER,
    },
    Relation {
        name: "transactions",
        scope: Scope::Finance,
        calls: RelationCalls::Paged {
            default: relation::DEFAULT_TRANSACTIONS,
            max: relation::MAX_TRANSACTIONS,
        },
        returns: &TRANSACTION,
    },
];

object_table! {
    /// A virtual account Bloc assigned to a customer. Field names are Bloc's own; Bloc's
    /// "unset" markers are `null`, and a value that does not parse is `null` with an
    /// `UPSTREAM_BAD_RESPONSE` error at its path.
    impl Account => ACCOUNT: models::Account as "Account" with &ACCOUNT_RELATIONS;
    Object(rename_fields = "snake_case", rename_args = "snake_case");
    /// Bloc's account id (a 24-hex ObjectId).
    id: ID = |a| Ok(ID(a.id.clone()));
    /// The account's name, e.g. `Adaeze Okafor - savings` (Bloc: "first last - alias").
    name: Option<&String> = |a| a.name.get();
    /// The account number (a 10-digit NUBAN).
    account_number: Option<&String> = |a| a.account_number.get();
    /// The bank holding the account, e.g. `Banc Corp` in test mode.
    bank_name: Option<&String> = |a| a.bank_name.get();
    /// The kind of account, e.g. `Virtual`.
    kind as "type": Option<&String> = |a| a.kind.get();
    /// Whether the account is open, frozen or closed.
    status: Option<AccountStatus> = |a| a.status.get().map(|s| s.map(|s| (*s).into()));
    /// The balance, exact.
    balance: Option<Money<'_>> = |a| a.balance.get().map(|m| m.map(Money));
    /// ISO 4217 currency code, e.g. `NGN`.
    currency: Option<&String> = |a| a.currency.get();
    /// The alias the account was created with.
    alias: Option<&String> = |a| a.alias.get();
    /// The account's KYC tier, 0 to 3 (Bloc sends it as a string).
    kyc_tier: Option<i32> = |a| a.kyc_tier.get().map(|t| t.map(|t| i32::from(t.0)));
    /// Id of the customer the account belongs to.
    customer_id: Option<ID> = |a| a.customer_id.get().map(|i| i.map(|i| ID(i.0.clone())));
    /// When the account was created.
    created_at: Option<DateTime> = |a| a.created_at.get().map(|t| t.copied().map(DateTime));
    /// When the account was last updated; `null` until the first update.
    updated_at: Option<DateTime> = |a| a.updated_at.get().map(|t| t.copied().map(DateTime));
    @resolvers {
        /// The customer the account belongs to (one Bloc call per distinct customer in the
        /// request, shared with every other field naming the same customer). Needs
        /// `customers:read`.
        async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
            relation::customer(ctx, &ACCOUNT_RELATIONS, &self.0.customer_id).await
        }

        /// The account's transactions, newest first (`GET /transactions?account_id=`;
        /// only the account's own are returned, whatever Bloc sends). `null` with an error
        /// when Bloc fails, `[]` when there are none.
        ///
        #[doc = concat!(
            "`limit` is 0 to ", max_transactions!(), " (default ", default_transactions!(),
            "), `offset` 0 to ", max_transactions_offset!(), "; each page of ",
            transactions_per_page!(), " that ",
            "`offset + limit` spans is one Bloc call. Needs `finance:read`."
        )]
        async fn transactions(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Most transactions to return.", default_with = "Some(relation::DEFAULT_TRANSACTIONS)")]
            limit: Option<i32>,
            #[graphql(desc = "Transactions to skip first, newest first.", default = 0)]
            offset: Option<i32>,
            #[graphql(desc = "Conditions every returned transaction meets.")]
            filter: Option<TransactionFilter>,
        ) -> Result<Option<Vec<Transaction>>> {
            let owner = Owner::Account(self.0.id.clone());
            let arguments = (limit, offset, filter);
            relation::transactions(ctx, &ACCOUNT_RELATIONS, owner, arguments).await
        }
    }
}
