//! `Customer`.

use std::sync::Arc;

use async_graphql::{ID, Object, Result};

use super::{
    address::Address,
    enums::{CustomerStatus, Environment},
    lenient,
    scalars::{Date, DateTime},
    sync_data::SyncData,
};
use crate::{auth::Scope, bloc::models, graphql::guard::RequireScope};

/// A Bloc customer (the GraphQL description is on the `impl` below).
#[derive(Clone)]
pub(crate) struct Customer(pub Arc<models::Customer>);

/// The `Customer` object. Text fields come in two groups: `open` ones need only
/// `customers:read` (as every query field does); `pii` ones get the `customers:pii` guard and
/// a line saying so in their schema description, generated together so they cannot drift.
macro_rules! text_fields {
    (
        open { $($(#[$doc:meta])* $name:ident),* $(,)? }
        pii { $($(#[$pii_doc:meta])* $pii_name:ident),* $(,)? }
    ) => {
        /// A Bloc customer: the person every account and card hangs off. Field names are Bloc's own.
        ///
        /// Bloc's "unset" markers (empty strings, the zero time `0001-01-01T00:00:00Z`, an empty
        /// address, omitted fields) are `null`. A value Bloc sends that does not parse is `null` with
        /// an `UPSTREAM_BAD_RESPONSE` error at its path; the rest of the customer is unaffected.
        // `serial`: every field reads the record already fetched, so there is nothing to
        // overlap, and resolving them one after another spares async-graphql's per-field
        // `FuturesUnordered` bookkeeping (and keeps them in query order).
        #[Object(rename_fields = "snake_case", serial)]
        impl Customer {
            /// Bloc's customer id (a 24-hex ObjectId).
            async fn id(&self) -> ID {
                ID(self.0.id.clone())
            }

            /// Display name, `"<first> <last>"` with stray spaces removed (Bloc's `full_name`
            /// is surname first). Falls back to `full_name`, then to an empty string.
            async fn name(&self) -> &str {
                self.0.display_name()
            }

            /// KYC tier, 0 to 3 (Bloc sends it as a string). Tier 1 adds date and place of
            /// birth, gender, photo and address; tier 2 an ID document; tier 3 a further
            /// document.
            async fn kyc_tier(&self) -> Result<Option<i32>> {
                Ok(lenient(&self.0.kyc_tier, "kyc_tier")?.map(|t| i32::from(t.0)))
            }

            /// Whether the customer is active or archived.
            async fn status(&self) -> Result<Option<CustomerStatus>> {
                Ok(lenient(&self.0.status, "status")?.map(|s| (*s).into()))
            }

            /// The Bloc environment (test or live) the customer was created in.
            async fn environment(&self) -> Result<Option<Environment>> {
                Ok(lenient(&self.0.environment, "environment")?.map(|e| (*e).into()))
            }

            /// When the customer was created.
            async fn created_at(&self) -> Result<Option<DateTime>> {
                Ok(lenient(&self.0.created_at, "created_at")?.copied().map(DateTime))
            }

            /// When the customer was last updated; `null` until the first update.
            async fn updated_at(&self) -> Result<Option<DateTime>> {
                Ok(lenient(&self.0.updated_at, "updated_at")?.copied().map(DateTime))
            }

            /// Date of birth, set at KYC tier 1.
            ///
            /// PII: needs the `customers:pii` scope; without it, `null` with a `FORBIDDEN` error.
            #[graphql(guard = "RequireScope(Scope::Pii)")]
            async fn date_of_birth(&self) -> Result<Option<Date>> {
                Ok(lenient(&self.0.date_of_birth, "date_of_birth")?.copied().map(Date))
            }

            /// Postal address, set at KYC tier 1; `null` while Bloc holds an empty one.
            async fn address(&self) -> Result<Option<Address<'_>>> {
                Ok(lenient(&self.0.address, "address")?.map(Address))
            }

            /// Bloc's sync record (`SyncData` in Bloc's JSON); `null` when empty.
            #[graphql(name = "SyncData")]
            async fn sync_data(&self) -> Result<Option<SyncData<'_>>> {
                Ok(lenient(&self.0.sync_data, "SyncData")?.map(SyncData))
            }

            $(
                $(#[$doc])*
                async fn $name(&self) -> Result<Option<&String>> {
                    lenient(&self.0.$name, stringify!($name))
                }
            )*

            $(
                $(#[$pii_doc])*
                ///
                /// PII: needs the `customers:pii` scope; without it, `null` with a `FORBIDDEN` error.
                #[graphql(guard = "RequireScope(Scope::Pii)")]
                async fn $pii_name(&self) -> Result<Option<&String>> {
                    lenient(&self.0.$pii_name, stringify!($pii_name))
                }
            )*
        }

        /// The text field named `name` in the schema, and whether it needs `customers:pii`
        /// (for direct execution, generated from the same lists as the resolvers).
        pub(crate) fn customer_text_field(
            name: &str,
        ) -> Option<(super::Text<models::Customer>, bool)> {
            match name {
                $(stringify!($name) => Some((|c| &c.$name, false)),)*
                $(stringify!($pii_name) => Some((|c| &c.$pii_name, true)),)*
                _ => None,
            }
        }
    };
}

text_fields! {
    open {
        /// Bloc's full name, surname first (e.g. `Oladeji Ayo`), trimmed.
        full_name,
        /// First name, trimmed.
        first_name,
        /// Last name (surname), trimmed.
        last_name,
        /// Id of the Bloc organisation that owns the customer.
        organization_id,
        /// Country of residence; `null` until KYC tier 1.
        country,
        /// Customer group, e.g. `main`.
        group,
        /// KYC verification status, when Bloc reports one (newer API versions).
        kyc_status,
        /// Customer type as Bloc sends it, e.g. `Personal` or `retail`.
        customer_type,
        /// How the customer was created: `Banking` (API or dashboard) or `Payment` (payment
        /// link or checkout).
        source,
        /// Gender, set at KYC tier 1.
        gender,
        /// Kind of ID document, e.g. `National ID Card`, set at KYC tier 2.
        means_of_identity,
    }
    pii {
        /// Email address.
        email,
        /// Phone number in local Nigerian format, e.g. `08033225577`.
        phone_number,
        /// Bank Verification Number, 11 digits.
        bvn,
        /// Place of birth, set at KYC tier 1.
        place_of_birth,
        /// URL (or base64) of the customer's passport photo, set at KYC tier 1.
        image_url,
        /// URL of the ID document image, set at KYC tier 2.
        means_of_identity_url,
        /// URL of the tier-3 identity document.
        identity_url,
    }
}
