//! A customer's related records as Bloc writes them: its field names and order, and its
//! quirks (string `kyc_tier`, `organisation_id` on cards, `SkipNumber`, `{}` for empty
//! objects, fields left out rather than `null`). `view` fills them in.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Go's zero time: Bloc's "unset".
pub(super) const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A customer's address, or a card's billing address: Bloc omits what is unset.
#[derive(Default, Deserialize, Serialize)]
pub(super) struct Address<'a> {
    #[serde(borrow, default, skip_serializing_if = "blank")]
    pub(super) street: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) city: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) state: Option<Cow<'a, str>>,
    #[serde(default = "nigeria")]
    pub(super) country: Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "blank")]
    pub(super) postal_code: Option<Cow<'a, str>>,
}

fn blank(text: &Option<Cow<'_, str>>) -> bool {
    text.as_deref().is_none_or(str::is_empty)
}

pub(super) fn nigeria() -> Cow<'static, str> {
    Cow::Borrowed("Nigeria")
}

/// Bloc's `{}`.
#[derive(Serialize)]
pub(super) struct Empty {}

#[derive(Serialize)]
pub(super) struct AccountJson<'a> {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) bvn: &'a str,
    pub(super) kyc_tier: &'a str,
    pub(super) created_at: String,
    pub(super) updated_at: String,
    pub(super) deleted_at: &'static str,
    pub(super) status: &'static str,
    pub(super) environment: &'static str,
    pub(super) organization_id: &'static str,
    pub(super) balance: u64,
    pub(super) currency: &'static str,
    pub(super) frequency: u8,
    pub(super) frequency_count: u8,
    pub(super) meta_data: Empty,
    pub(super) customer_id: &'a str,
    pub(super) customer: &'a RawValue,
    pub(super) account_number: String,
    pub(super) bank_name: &'static str,
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) collection_account: bool,
    pub(super) hide_account: bool,
    #[serde(rename = "SkipNumber")]
    pub(super) skip_number: bool,
    pub(super) external_account: Empty,
    pub(super) alias: &'static str,
}

#[derive(Serialize)]
pub(super) struct CardJson<'a> {
    pub(super) id: String,
    pub(super) customer_id: &'a str,
    pub(super) organisation_id: &'static str,
    pub(super) environment: &'static str,
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) name: String,
    pub(super) currency: &'static str,
    pub(super) brand: &'static str,
    pub(super) status: &'static str,
    pub(super) billing_address: Address<'a>,
    pub(super) expiry_month: u32,
    pub(super) expiry_year: i32,
    pub(super) created_at: String,
    pub(super) updated_at: String,
}

#[derive(Serialize)]
pub(super) struct WalletJson<'a> {
    pub(super) id: String,
    pub(super) customer_id: &'a str,
    pub(super) alias: &'static str,
    pub(super) account_number: String,
    pub(super) bank_name: &'static str,
    pub(super) balance: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) currency: Option<&'static str>,
    pub(super) status: &'static str,
    pub(super) created_at: String,
    pub(super) updated_at: String,
}

#[derive(Serialize)]
pub(super) struct TransactionJson<'a> {
    pub(super) id: String,
    pub(super) created_at: String,
    pub(super) updated_at: String,
    pub(super) amount: u64,
    pub(super) reference: String,
    pub(super) status: &'static str,
    pub(super) shared: bool,
    pub(super) currency: &'static str,
    pub(super) environment: &'static str,
    pub(super) payment_method: &'static str,
    pub(super) provider: &'static str,
    pub(super) payment_type: &'static str,
    pub(super) source: &'static str,
    pub(super) meta_data: Empty,
    pub(super) organization_id: &'static str,
    pub(super) customer_id: &'a str,
    pub(super) fee: u64,
    pub(super) billing_id: &'static str,
    pub(super) customer_detail: CustomerDetail<'a>,
    pub(super) reversal: bool,
    pub(super) previous_account_balance: u64,
    pub(super) current_account_balance: u64,
    pub(super) account_id: String,
    pub(super) drcr: &'static str,
    pub(super) narration: String,
}

#[derive(Serialize)]
pub(super) struct CustomerDetail<'a> {
    pub(super) full_name: &'a str,
    pub(super) phone_number: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) email: Option<&'a str>,
    pub(super) country: &'a str,
}
