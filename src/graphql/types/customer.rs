//! `Customer`: its table, one line per field.

use std::sync::Arc;

use async_graphql::ID;

use super::{
    address::Address,
    enums::{CustomerStatus, Environment},
    scalars::{Date, DateTime},
    sync_data::SyncData,
};
use crate::{bloc::models, graphql::table::object_table};

/// A Bloc customer (the GraphQL description is on the table below).
#[derive(Clone)]
pub(crate) struct Customer(pub Arc<models::Customer>);

object_table! {
    /// A Bloc customer: the person every account and card hangs off. Field names are Bloc's own.
    ///
    /// Bloc's "unset" markers (empty strings, the zero time `0001-01-01T00:00:00Z`, an empty
    /// address, omitted fields) are `null`. A value Bloc sends that does not parse is `null` with
    /// an `UPSTREAM_BAD_RESPONSE` error at its path; the rest of the customer is unaffected.
    // `serial`: every field reads the record already fetched, so there is nothing to overlap,
    // and resolving them one after another spares async-graphql's per-field
    // `FuturesUnordered` bookkeeping (and keeps them in query order).
    impl Customer => CUSTOMER: models::Customer as "Customer";
    Object(rename_fields = "snake_case", serial);
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
}
