//! `Customer`: its table, one line per field.

use std::sync::Arc;

use async_graphql::{Context, ID, Result};

use super::{
    ACCOUNT, Account, CARD, Card, TRANSACTION, Transaction, WALLET, Wallet,
    address::Address,
    enums::{CustomerStatus, Environment},
    relation::{
        self, TransactionFilter, default_transactions, max_transactions, max_transactions_offset,
    },
    scalars::{Date, DateTime},
    sync_data::SyncData,
};
use crate::{
    auth::Scope,
    bloc::{Owner, models},
    graphql::{
        loaders::transactions_per_page,
        table::{Relation, RelationCalls, object_table},
    },
};

/// The fields of `Customer` that reach Bloc again: everything Bloc layers on a customer.
pub(crate) static CUSTOMER_RELATIONS: [Relation; 4] = [
    Relation {
        name: "accounts",
        scope: Scope::Finance,
        calls: RelationCalls::List,
        returns: &ACCOUNT,
    },
    Relation {
        name: "cards",
        scope: Scope::Finance,
        calls: RelationCalls::List,
        returns: &CARD,
    },
    Relation {
        name: "wallets",
        scope: Scope::Finance,
        calls: RelationCalls::List,
        returns: &WALLET,
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

/// A Bloc customer (the GraphQL description is on the table below).
#[derive(Clone)]
pub(crate) struct Customer(pub Arc<models::Customer>);

object_table! {
    /// A Bloc customer: the person every account and card hangs off. Field names are Bloc's own.
    ///
    /// Bloc's "unset" markers (empty strings, the zero time `0001-01-01T00:00:00Z`, an empty
    /// address, omitted fields) are `null`. A value Bloc sends that does not parse is `null` with
    /// an `UPSTREAM_BAD_RESPONSE` error at its path; the rest of the customer is unaffected.
    // Not `serial`: the relations (accounts, cards, wallets, transactions) each wait on Bloc,
    // and resolving them concurrently is what keeps a customer page at two round trips.
    impl Customer => CUSTOMER: models::Customer as "Customer" with &CUSTOMER_RELATIONS;
    Object(rename_fields = "snake_case", rename_args = "snake_case");
    /// Bloc's customer id (a 24-hex ObjectId).
    id: ID = |c| Ok(ID(c.id.clone()));
    /// Display name, `"<first> <last>"` with stray spaces removed (Bloc's `full_name`
    /// is surname first). Falls back to `full_name`, then to an empty string.
    name: &str = |c| Ok(c.display_name());
    /// KYC tier, 0 to 3 (Bloc sends it as a string). Tier 1 adds date and place of
    /// birth, gender, photo and address; tier 2 an ID document; tier 3 a further
    /// document.
    kyc_tier: Option<i32> = |c| c.kyc_tier.get().map(|t| t.map(|t| i32::from(t.0)));
    /// Whether the customer is active or archived.
    status: Option<CustomerStatus> = |c| c.status.get().map(|s| s.map(|s| (*s).into()));
    /// The Bloc environment (test or live) the customer was created in.
    environment: Option<Environment> =
        |c| c.environment.get().map(|e| e.map(|e| (*e).into()));
    /// When the customer was created.
    created_at: Option<DateTime> = |c| c.created_at.get().map(|t| t.copied().map(DateTime));
    /// When the customer was last updated; `null` until the first update.
    updated_at: Option<DateTime> = |c| c.updated_at.get().map(|t| t.copied().map(DateTime));
    /// Date of birth, set at KYC tier 1.
    date_of_birth [pii]: Option<Date> = |c| c.date_of_birth.get().map(|d| d.copied().map(Date));
    /// Postal address, set at KYC tier 1; `null` while Bloc holds an empty one.
    address: Option<Address<'_>> = |c| c.address.get().map(|a| a.map(Address));
    /// Bloc's sync record (`SyncData` in Bloc's JSON); `null` when empty.
    sync_data as "SyncData": Option<SyncData<'_>> =
        |c| c.sync_data.get().map(|s| s.map(SyncData));
    /// Bloc's full name, surname first (e.g. `Oladeji Ayo`), trimmed.
    full_name: Option<&String> = |c| c.full_name.get();
    /// First name, trimmed.
    first_name: Option<&String> = |c| c.first_name.get();
    /// Last name (surname), trimmed.
    last_name: Option<&String> = |c| c.last_name.get();
    /// Id of the Bloc organisation that owns the customer.
    organization_id: Option<&String> = |c| c.organization_id.get();
    /// Country of residence; `null` until KYC tier 1.
    country: Option<&String> = |c| c.country.get();
    /// Customer group, e.g. `main`.
    group: Option<&String> = |c| c.group.get();
    /// KYC verification status, when Bloc reports one (newer API versions).
    kyc_status: Option<&String> = |c| c.kyc_status.get();
    /// Customer type as Bloc sends it, e.g. `Personal` or `retail`.
    customer_type: Option<&String> = |c| c.customer_type.get();
    /// How the customer was created: `Banking` (API or dashboard) or `Payment` (payment
    /// link or checkout).
    source: Option<&String> = |c| c.source.get();
    /// Gender, set at KYC tier 1.
    gender: Option<&String> = |c| c.gender.get();
    /// Kind of ID document, e.g. `National ID Card`, set at KYC tier 2.
    means_of_identity: Option<&String> = |c| c.means_of_identity.get();
    /// Email address.
    email [pii]: Option<&String> = |c| c.email.get();
    /// Phone number in local Nigerian format, e.g. `08033225577`.
    phone_number [pii]: Option<&String> = |c| c.phone_number.get();
    /// Bank Verification Number, 11 digits.
    bvn [pii]: Option<&String> = |c| c.bvn.get();
    /// Place of birth, set at KYC tier 1.
    place_of_birth [pii]: Option<&String> = |c| c.place_of_birth.get();
    /// URL (or base64) of the customer's passport photo, set at KYC tier 1.
    image_url [pii]: Option<&String> = |c| c.image_url.get();
    /// URL of the ID document image, set at KYC tier 2.
    means_of_identity_url [pii]: Option<&String> = |c| c.means_of_identity_url.get();
    /// URL of the tier-3 identity document.
    identity_url [pii]: Option<&String> = |c| c.identity_url.get();
    @resolvers {
        /// The customer's virtual accounts (`GET /accounts/customers/accounts/{id}`): `[]` when
        /// there are none, `null` with an error when Bloc fails. One Bloc call per distinct
        /// customer in the request, made concurrently with the customer's other relations.
        /// Needs `finance:read`.
        async fn accounts(&self, ctx: &Context<'_>) -> Result<Option<Vec<Account>>> {
            relation::require(ctx, &CUSTOMER_RELATIONS)?;
            let found = relation::loader(ctx)?.accounts(&self.0.id).await;
            relation::listed(ctx, found, Account)
        }

        /// The customer's cards (`GET /cards/customer/{id}`): `[]` when there are none,
        /// `null` with an error when Bloc fails. Needs `finance:read`.
        async fn cards(&self, ctx: &Context<'_>) -> Result<Option<Vec<Card>>> {
            relation::require(ctx, &CUSTOMER_RELATIONS)?;
            let found = relation::loader(ctx)?.cards(&self.0.id).await;
            relation::listed(ctx, found, Card)
        }

        /// The customer's wallets (`GET /wallets/customers/{id}`): `[]` when there are none,
        /// `null` with an error when Bloc fails. Needs `finance:read`.
        async fn wallets(&self, ctx: &Context<'_>) -> Result<Option<Vec<Wallet>>> {
            relation::require(ctx, &CUSTOMER_RELATIONS)?;
            let found = relation::loader(ctx)?.wallets(&self.0.id).await;
            relation::listed(ctx, found, Wallet)
        }

        /// The customer's transactions, newest first (`GET /transactions?customer_id=`; only
        /// the customer's own are returned, whatever Bloc sends). `[]` when there are none,
        /// `null` with an error when Bloc fails.
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
            let owner = Owner::Customer(self.0.id.clone());
            let arguments = (limit, offset, filter);
            relation::transactions(ctx, &CUSTOMER_RELATIONS, owner, arguments).await
        }
    }
}
