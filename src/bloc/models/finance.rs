//! Bloc's money records: accounts, cards, wallets and transactions, read as leniently as
//! customers (every field a [`Lenient`] value; one bad field spoils only itself).
//!
//! Amounts are integers in kobo. They pass GraphQL's 32-bit `Int` (₦21.5M), so they are kept
//! as `i64` and shown as exact decimal strings ([`Money`]), never as floats.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::Value;

use super::{Address, FromBloc, Invalid, KycTier, Lenient, from_string, keyword, trimmed};

/// An amount in kobo, Bloc's integer minor unit (₦1 = 100 kobo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kobo(pub i64);

/// Integers only: a JSON integer, a float with no fraction that a double holds exactly (a
/// JSON encoder may write `450000.0`), or a string of digits. Anything else (a fraction of a
/// kobo, a number past 2^53 as a float, text) is invalid: an amount is never rounded.
impl FromBloc for Kobo {
    fn from_bloc(value: &Value) -> Result<Option<Self>, Invalid> {
        match value {
            Value::Number(n) => {
                if let Some(kobo) = n.as_i64() {
                    return Ok(Some(Kobo(kobo)));
                }
                let float = n.as_f64().ok_or(Invalid)?;
                // 2^53: past it, a double no longer holds every integer.
                const EXACT: f64 = 9_007_199_254_740_992.0;
                if float.is_finite() && float.fract() == 0.0 && float.abs() <= EXACT {
                    #[allow(
                        clippy::cast_possible_truncation,
                        reason = "an integral value within ±2^53 converts exactly"
                    )]
                    return Ok(Some(Kobo(float as i64)));
                }
                Err(Invalid)
            }
            Value::String(text) => Self::from_bloc_str(text),
            _ => Err(Invalid),
        }
    }

    fn from_bloc_str(text: &str) -> Result<Option<Self>, Invalid> {
        match trimmed(text) {
            None => Ok(None),
            Some(text) => text
                .parse::<i64>()
                .map(|k| Some(Kobo(k)))
                .map_err(|_| Invalid),
        }
    }
}

/// An amount with its currency, as the GraphQL `Money` type shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub kobo: i64,
    pub currency: String,
}

impl Money {
    /// The currency of a record that does not say: Bloc's only one.
    pub const DEFAULT_CURRENCY: &str = "NGN";

    /// The amount `kobo` in the record's `currency` (Bloc's only one when unset); invalid
    /// when either is.
    fn of(kobo: &Lenient<Kobo>, currency: &Lenient<String>) -> Lenient<Money> {
        let money = match (kobo.get(), currency.get()) {
            (Err(Invalid), _) => Err(Invalid),
            (Ok(None), _) => Ok(None),
            (Ok(Some(_)), Err(Invalid)) => Err(Invalid),
            (Ok(Some(kobo)), Ok(currency)) => Ok(Some(Money {
                kobo: kobo.0,
                currency: currency
                    .map_or(Self::DEFAULT_CURRENCY, String::as_str)
                    .to_owned(),
            })),
        };
        Lenient(money)
    }

    /// Naira with exactly two decimals (`50000000.00`, `-12.05`), from the exact integer.
    pub fn amount(&self) -> String {
        let sign = if self.kobo < 0 { "-" } else { "" };
        let magnitude = self.kobo.unsigned_abs();
        format!(
            "{sign}{}.{:02}",
            magnitude.checked_div(100).unwrap_or(0),
            magnitude.checked_rem(100).unwrap_or(0)
        )
    }
}

/// A reference to another record by id. Bloc's all-zero ObjectId means "none" (the
/// `customer_id` of an organisation-level transaction), as does an empty string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectId(pub String);

impl FromBloc for ObjectId {
    fn from_bloc(value: &Value) -> Result<Option<Self>, Invalid> {
        from_string(value)
    }

    fn from_bloc_str(text: &str) -> Result<Option<Self>, Invalid> {
        Ok(trimmed(text)
            .filter(|id| !id.bytes().all(|b| b == b'0'))
            .map(|id| ObjectId(id.to_owned())))
    }
}

/// A whole number sent as a JSON integer or a string of digits (card expiry dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whole(pub i32);

impl FromBloc for Whole {
    fn from_bloc(value: &Value) -> Result<Option<Self>, Invalid> {
        match value {
            Value::Number(n) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(|n| Some(Whole(n)))
                .ok_or(Invalid),
            Value::String(text) => Self::from_bloc_str(text),
            _ => Err(Invalid),
        }
    }

    fn from_bloc_str(text: &str) -> Result<Option<Self>, Invalid> {
        match trimmed(text) {
            None => Ok(None),
            Some(text) => text.parse().map(|n| Some(Whole(n))).map_err(|_| Invalid),
        }
    }
}

/// Declares a keyword enum Bloc sends as a string, matched ignoring ASCII case.
macro_rules! keywords {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $($word:literal)|+),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl FromBloc for $name {
            fn from_bloc(value: &Value) -> Result<Option<Self>, Invalid> {
                from_string(value)
            }

            fn from_bloc_str(text: &str) -> Result<Option<Self>, Invalid> {
                keyword(text, &[$($(($word, Self::$variant)),+),+])
            }
        }
    };
}

keywords! {
    /// An account's state; Bloc sends `Open` (and freezes, closes, reopens accounts).
    AccountStatus {
        /// Open for payments.
        Open = "open",
        /// Frozen: no debits.
        Frozen = "frozen",
        /// Closed.
        Closed = "closed",
    }
}

keywords! {
    /// A card's state: Bloc sends `active`, and freezes, unfreezes and blocks cards.
    CardStatus {
        /// Usable.
        Active = "active",
        /// Frozen (temporarily unusable).
        Frozen = "frozen",
        /// Blocked for good.
        Blocked = "blocked",
    }
}

keywords! {
    /// A transaction's outcome; Bloc sends `successful`.
    TransactionStatus {
        /// Settled.
        Successful = "successful",
        /// Failed; balances unchanged.
        Failed = "failed",
        /// Not settled yet.
        Pending = "pending",
    }
}

keywords! {
    /// Whether a transaction credits or debits its account: Bloc's `drcr`, `CR` or `DR` (the
    /// words themselves are accepted too).
    Drcr {
        /// Money in.
        Credit = "cr" | "credit",
        /// Money out.
        Debit = "dr" | "debit",
    }
}

impl Drcr {
    /// The value of Bloc's `drcr` query parameter.
    pub fn param(self) -> &'static str {
        match self {
            Drcr::Credit => "CR",
            Drcr::Debit => "DR",
        }
    }
}

impl TransactionStatus {
    /// The value of Bloc's `status` query parameter.
    pub fn param(self) -> &'static str {
        match self {
            TransactionStatus::Successful => "successful",
            TransactionStatus::Failed => "failed",
            TransactionStatus::Pending => "pending",
        }
    }
}

/// A record of one of Bloc's money endpoints, decoded on its own from its JSON text.
pub trait Model: DeserializeOwned + Send + Sync + 'static {
    /// The endpoint's noun in error details ("account", "card").
    const NOUN: &'static str;
    /// Its id (records without one are not decoded).
    fn id(&self) -> &str;
    /// Works out the fields derived from others once decoded ([`Money`] from an amount
    /// and the currency), and notes the bytes it came from.
    fn finish(self, wire_bytes: usize) -> Self;
    /// What it weighs in a cache, in bytes (its JSON and its struct).
    fn cache_weight(&self) -> u32;

    /// Reads one record from its JSON text; fails only when it is not an object with a
    /// non-empty string `id`.
    fn from_json(text: &str) -> Result<Self, Invalid> {
        let record: Self = serde_json::from_str(text).map_err(|_| Invalid)?;
        if record.id().is_empty() {
            return Err(Invalid);
        }
        Ok(record.finish(text.len()))
    }
}

/// What a record weighs: its JSON text and its struct.
fn weight<T>(wire_bytes: usize) -> u32 {
    u32::try_from(wire_bytes.saturating_add(std::mem::size_of::<T>())).unwrap_or(u32::MAX)
}

/// Implements [`Model`] for a record with an `id` and a `wire_bytes` field.
macro_rules! model {
    ($ty:ident, $noun:literal, |$r:ident| $finish:block) => {
        impl Model for $ty {
            const NOUN: &'static str = $noun;

            fn id(&self) -> &str {
                &self.id
            }

            fn finish(mut self, wire_bytes: usize) -> Self {
                self.wire_bytes = wire_bytes;
                let $r = &mut self;
                $finish
                self
            }

            fn cache_weight(&self) -> u32 {
                weight::<Self>(self.wire_bytes)
            }
        }
    };
}

/// A virtual account (`GET /accounts/...`). Its `bvn` and embedded `customer` are not read:
/// the customer is reached through its own endpoint, and the BVN is the customer's.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct Account {
    pub id: String,
    pub name: Lenient<String>,
    pub account_number: Lenient<String>,
    pub bank_name: Lenient<String>,
    #[serde(rename = "type")]
    pub kind: Lenient<String>,
    pub status: Lenient<AccountStatus>,
    #[serde(rename = "balance")]
    balance_kobo: Lenient<Kobo>,
    pub currency: Lenient<String>,
    pub alias: Lenient<String>,
    pub kyc_tier: Lenient<KycTier>,
    pub customer_id: Lenient<ObjectId>,
    pub created_at: Lenient<DateTime<FixedOffset>>,
    pub updated_at: Lenient<DateTime<FixedOffset>>,
    /// The balance with the account's currency.
    #[serde(skip)]
    pub balance: Lenient<Money>,
    #[serde(skip)]
    wire_bytes: usize,
}

model!(Account, "account", |a| {
    a.balance = Money::of(&a.balance_kobo, &a.currency);
});

/// A card (`GET /cards/customer/{id}`). Bloc's card lists carry no PAN; `kyc_detail`,
/// `number` and secure data are never read, so they cannot be shown.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct Card {
    pub id: String,
    pub customer_id: Lenient<ObjectId>,
    pub name: Lenient<String>,
    #[serde(rename = "type")]
    pub kind: Lenient<String>,
    pub brand: Lenient<String>,
    pub currency: Lenient<String>,
    pub status: Lenient<CardStatus>,
    pub billing_address: Lenient<Address>,
    pub expiry_month: Lenient<Whole>,
    pub expiry_year: Lenient<Whole>,
    pub created_at: Lenient<DateTime<FixedOffset>>,
    pub updated_at: Lenient<DateTime<FixedOffset>>,
    #[serde(skip)]
    wire_bytes: usize,
}

model!(Card, "card", |_c| {});

/// A wallet (`GET /wallets/customers/{id}`).
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct Wallet {
    pub id: String,
    pub customer_id: Lenient<ObjectId>,
    pub alias: Lenient<String>,
    pub account_number: Lenient<String>,
    pub bank_name: Lenient<String>,
    #[serde(rename = "balance")]
    balance_kobo: Lenient<Kobo>,
    pub currency: Lenient<String>,
    pub status: Lenient<String>,
    pub created_at: Lenient<DateTime<FixedOffset>>,
    /// The balance with the wallet's currency.
    #[serde(skip)]
    pub balance: Lenient<Money>,
    #[serde(skip)]
    wire_bytes: usize,
}

model!(Wallet, "wallet", |w| {
    w.balance = Money::of(&w.balance_kobo, &w.currency);
});

/// A transaction (`GET /transactions`). Its `customer_detail` (name, phone, email) is not
/// read: the customer is reached through its own endpoint and scopes.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct Transaction {
    pub id: String,
    pub reference: Lenient<String>,
    #[serde(rename = "amount")]
    amount_kobo: Lenient<Kobo>,
    #[serde(rename = "fee")]
    fee_kobo: Lenient<Kobo>,
    #[serde(rename = "previous_account_balance")]
    previous_kobo: Lenient<Kobo>,
    #[serde(rename = "current_account_balance")]
    current_kobo: Lenient<Kobo>,
    pub currency: Lenient<String>,
    pub drcr: Lenient<Drcr>,
    pub status: Lenient<TransactionStatus>,
    pub narration: Lenient<String>,
    pub payment_method: Lenient<String>,
    pub payment_type: Lenient<String>,
    pub source: Lenient<String>,
    pub account_id: Lenient<ObjectId>,
    pub customer_id: Lenient<ObjectId>,
    pub created_at: Lenient<DateTime<FixedOffset>>,
    #[serde(skip)]
    pub amount: Lenient<Money>,
    #[serde(skip)]
    pub fee: Lenient<Money>,
    #[serde(skip)]
    pub previous_account_balance: Lenient<Money>,
    #[serde(skip)]
    pub current_account_balance: Lenient<Money>,
    #[serde(skip)]
    wire_bytes: usize,
}

model!(Transaction, "transaction", |t| {
    t.amount = Money::of(&t.amount_kobo, &t.currency);
    t.fee = Money::of(&t.fee_kobo, &t.currency);
    t.previous_account_balance = Money::of(&t.previous_kobo, &t.currency);
    t.current_account_balance = Money::of(&t.current_kobo, &t.currency);
});

impl Transaction {
    /// Whether the transaction is `customer_id`'s (the filter Bloc may not honour).
    pub fn is_customers(&self, customer_id: &str) -> bool {
        self.customer_id
            .value()
            .is_some_and(|id| id.0 == customer_id)
    }

    /// Whether the transaction is on `account_id`.
    pub fn is_accounts(&self, account_id: &str) -> bool {
        self.account_id.value().is_some_and(|id| id.0 == account_id)
    }
}

/// The records of one list answer.
pub struct Records<T> {
    /// Readable records, in Bloc's order.
    pub items: Vec<Arc<T>>,
    /// Records left out because they are not objects with a string `id`.
    pub undecodable: usize,
    /// Bloc's `metadata.has_next` (false when it sent none).
    pub has_next: bool,
    /// Bytes of the answer: what the list weighs in a cache.
    pub wire_bytes: usize,
}

impl<T> Default for Records<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            undecodable: 0,
            has_next: false,
            wire_bytes: 0,
        }
    }
}

impl<T> Records<T> {
    /// What the list weighs in a cache, in bytes.
    pub fn cache_weight(&self) -> u32 {
        weight::<Self>(self.wire_bytes)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn kobo(value: Value) -> Result<Option<Kobo>, Invalid> {
        serde_json::from_value::<Lenient<Kobo>>(value).unwrap().0
    }

    #[test]
    fn kobo_are_exact_integers_or_invalid() {
        assert_eq!(kobo(json!(450000)), Ok(Some(Kobo(450_000))));
        assert_eq!(
            kobo(json!(5_000_000_000_i64)),
            Ok(Some(Kobo(5_000_000_000)))
        );
        assert_eq!(kobo(json!(450000.0)), Ok(Some(Kobo(450_000))));
        assert_eq!(kobo(json!("-1250")), Ok(Some(Kobo(-1250))));
        assert_eq!(kobo(json!(null)), Ok(None));
        assert_eq!(kobo(json!("")), Ok(None));
        for bad in [
            json!(10.5),
            json!(1e300),
            json!("12.50"),
            json!(true),
            json!({}),
        ] {
            assert_eq!(kobo(bad.clone()), Err(Invalid), "{bad}");
        }
        assert_eq!(kobo(json!(u64::MAX)), Err(Invalid), "past i64 and 2^53");
    }

    #[test]
    fn amounts_have_two_decimals_from_the_exact_integer() {
        let money = |kobo| Money {
            kobo,
            currency: "NGN".into(),
        };
        assert_eq!(money(5_000_000_000).amount(), "50000000.00");
        assert_eq!(money(0).amount(), "0.00");
        assert_eq!(money(5).amount(), "0.05");
        assert_eq!(money(-1205).amount(), "-12.05");
        assert_eq!(money(i64::MIN).amount(), "-92233720368547758.08");
        assert_eq!(money(9_007_199_254_740_993).amount(), "90071992547409.93");
    }

    #[test]
    fn money_takes_the_records_currency_and_is_invalid_with_it() {
        let record = |fields: Value| Account::from_json(&fields.to_string()).unwrap();
        let ngn = record(json!({ "id": "a", "balance": 100 }));
        assert_eq!(ngn.balance.value().unwrap().currency, "NGN");
        let usd = record(json!({ "id": "a", "balance": 100, "currency": "USD" }));
        assert_eq!(usd.balance.value().unwrap().currency, "USD");
        assert!(
            record(json!({ "id": "a", "balance": 1, "currency": 7 }))
                .balance
                .is_invalid()
        );
        assert!(
            record(json!({ "id": "a", "balance": 0.5 }))
                .balance
                .is_invalid()
        );
        assert_eq!(record(json!({ "id": "a" })).balance.get(), Ok(None));
    }

    #[test]
    fn keywords_ignore_case_and_refuse_unknown_words() {
        let drcr = |v: &str| Drcr::from_bloc_str(v);
        assert_eq!(drcr("CR"), Ok(Some(Drcr::Credit)));
        assert_eq!(drcr("dr"), Ok(Some(Drcr::Debit)));
        assert_eq!(drcr("Debit"), Ok(Some(Drcr::Debit)));
        assert_eq!(drcr(""), Ok(None));
        assert_eq!(drcr("XX"), Err(Invalid));
        assert_eq!(
            AccountStatus::from_bloc_str("Open"),
            Ok(Some(AccountStatus::Open))
        );
        assert_eq!(CardStatus::from_bloc_str("archived"), Err(Invalid));
        assert_eq!(
            TransactionStatus::from_bloc(&json!(1)),
            Err(Invalid),
            "not a string"
        );
    }

    #[test]
    fn the_all_zero_object_id_is_none() {
        let t = Transaction::from_json(
            &json!({ "id": "t", "customer_id": "000000000000000000000000", "account_id": "ab" })
                .to_string(),
        )
        .unwrap();
        assert_eq!(t.customer_id.get(), Ok(None));
        assert!(t.is_accounts("ab") && !t.is_customers("000000000000000000000000"));
    }

    #[test]
    fn records_need_a_string_id() {
        assert!(Card::from_json(r#"{"id": ""}"#).is_err());
        assert!(Card::from_json(r#"{"id": 3}"#).is_err());
        assert!(Card::from_json(r#"{"id": "c", "expiry_month": "x"}"#).is_ok());
    }
}
