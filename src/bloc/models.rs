//! Bloc's customer JSON, read leniently.
//!
//! Bloc's payloads drift: tiers are strings, "unset" is the Go zero time or an empty string,
//! optional fields are omitted. Every field except `id` is a [`Lenient`] value: it is either
//! a parsed value, absent (`None`, for every "unset" marker), or [`Invalid`] when Bloc sent
//! something that does not parse. One bad field never spoils the rest of the record.

use std::{fmt, marker::PhantomData, sync::OnceLock};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate};
use serde::{
    Deserialize, Deserializer,
    de::{
        DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
        value::{MapAccessDeserializer, SeqAccessDeserializer},
    },
};
use serde_json::Value;

mod finance;

pub use finance::{
    Account, AccountStatus, Card, CardStatus, Drcr, Model, Money, ObjectId, Records, Transaction,
    TransactionStatus, Wallet,
};

/// A field value Bloc sent that does not parse as its documented type.
///
/// It deliberately keeps no copy of the value: it may be PII.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

/// A field that parsed, was unset, or was [`Invalid`].
#[derive(Clone, PartialEq)]
pub struct Lenient<T>(Result<Option<T>, Invalid>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Self(Ok(None))
    }
}

impl<T> Lenient<T> {
    /// The parsed value (`Ok(None)` when unset).
    pub fn get(&self) -> Result<Option<&T>, Invalid> {
        self.0.as_ref().map(Option::as_ref).map_err(|e| *e)
    }

    /// The value when it parsed and was set; `None` otherwise.
    pub fn value(&self) -> Option<&T> {
        self.get().ok().flatten()
    }

    #[cfg(test)]
    pub(crate) fn is_invalid(&self) -> bool {
        self.0.is_err()
    }
}

/// How one Bloc JSON value becomes a typed value.
pub trait FromBloc: Sized {
    /// `Ok(None)` for Bloc's "unset" markers, `Err(Invalid)` for anything unreadable.
    fn from_bloc(value: &Value) -> Result<Option<Self>, Invalid>;

    /// [`FromBloc::from_bloc`] of a JSON string, read in place: a record's fields are nearly
    /// all strings, and going through a [`Value`] cost an allocation and a copy per field
    /// (about a tenth of a rotating W1 request's instructions, BENCHMARKS.md try 14).
    fn from_bloc_str(text: &str) -> Result<Option<Self>, Invalid> {
        Self::from_bloc(&Value::String(text.to_owned()))
    }

    /// [`FromBloc::from_bloc`] of a JSON object, read from `map`; by default through a
    /// [`Value`] (objects read in place override it).
    fn from_bloc_map<'de, A: MapAccess<'de>>(
        map: A,
    ) -> Result<Result<Option<Self>, Invalid>, A::Error> {
        let value = Value::deserialize(MapAccessDeserializer::new(map))?;
        Ok(Self::from_bloc(&value))
    }
}

impl<'de, T: FromBloc> Deserialize<'de> for Lenient<T> {
    /// Any JSON value: strings are read in place, anything else as a [`Value`] (`null`, and
    /// only `null`, is unset).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(LenientVisitor(PhantomData))
            .map(Self)
    }
}

/// Reads one field's JSON value, whatever it is, as a [`Lenient`] value.
struct LenientVisitor<T>(PhantomData<T>);

impl<T: FromBloc> LenientVisitor<T> {
    /// A value that is not a string, as `serde_json` would have built it.
    fn other(value: &Value) -> Result<Option<T>, Invalid> {
        match value {
            Value::Null => Ok(None),
            value => T::from_bloc(value),
        }
    }
}

impl<'de, T: FromBloc> Visitor<'de> for LenientVisitor<T> {
    type Value = Result<Option<T>, Invalid>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(T::from_bloc_str(text))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Ok(None))
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Ok(None))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_bool<E>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Self::other(&Value::Bool(value)))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Self::other(&Value::from(value)))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Self::other(&Value::from(value)))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Self::Value, E> {
        // A non-finite float becomes `null`, as `serde_json`'s own `Value` makes it.
        Ok(Self::other(&Value::from(value)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let value = Value::deserialize(SeqAccessDeserializer::new(seq))?;
        Ok(Self::other(&value))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::from_bloc_map(map)
    }
}

/// The text fields `names` of a JSON object read from `map`, as deserializing it into a
/// [`Value`] and then into a struct of [`Lenient`] strings read them: other keys are skipped,
/// and of a key given twice the last value counts.
fn text_fields<'de, A: MapAccess<'de>, const N: usize>(
    mut map: A,
    names: &[&str; N],
) -> Result<[Lenient<String>; N], A::Error> {
    let mut fields: [Lenient<String>; N] = std::array::from_fn(|_| Lenient::default());
    while let Some(index) = map.next_key_seed(FieldIndex(names))? {
        match index.and_then(|index| fields.get_mut(index)) {
            Some(field) => *field = map.next_value()?,
            None => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    Ok(fields)
}

/// Reads an object key as its position in a list of names (`None`: not one of them).
struct FieldIndex<'a>(&'a [&'a str]);

impl<'de> DeserializeSeed<'de> for FieldIndex<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldIndex<'_> {
    type Value = Option<usize>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a field name")
    }

    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|name| *name == key))
    }
}

/// `text` without surrounding whitespace; `None` when nothing is left ("unset").
fn trimmed(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|text| !text.is_empty())
}

/// Trimmed text; empty or blank strings are "unset".
impl FromBloc for String {
    fn from_bloc(value: &Value) -> Result<Option<Self>, Invalid> {
        match value {
            Value::String(s) => Self::from_bloc_str(s),
            _ => Err(Invalid),
        }
    }

    fn from_bloc_str(text: &str) -> Result<Option<Self>, Invalid> {
        Ok(trimmed(text).map(str::to_owned))
    }
}

/// Bloc's KYC tier: documented as the strings `"0"` to `"3"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KycTier(pub u8);

impl KycTier {
    /// Tiers 0 to 3; anything else is invalid.
    fn checked(tier: u8) -> Result<Option<Self>, Invalid> {
        if tier <= 3 {
            Ok(Some(KycTier(tier)))
        } else {
            Err(Invalid)
        }
    }
}

impl FromBloc for KycTier {
    fn from_bloc(value: &Value) -> Result<Option<Self>, Invalid> {
        match value {
            Value::String(s) => Self::from_bloc_str(s),
            Value::Number(n) => Self::checked(
                n.as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or(Invalid)?,
            ),
            _ => Err(Invalid),
        }
    }

    fn from_bloc_str(text: &str) -> Result<Option<Self>, Invalid> {
        match trimmed(text) {
            None => Ok(None),
            Some(text) => Self::checked(text.parse::<u8>().map_err(|_| Invalid)?),
        }
    }
}

/// A customer's status. Bloc documents `active` and `archived`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The customer can hold accounts and cards.
    Active,
    /// The customer was archived.
    Archived,
}

/// The Bloc environment a record lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Test mode (`sk_test_` keys).
    Test,
    /// Live mode (`sk_live_` keys).
    Live,
}

/// A value that Bloc sends only as a string: anything else is invalid.
fn from_string<T: FromBloc>(value: &Value) -> Result<Option<T>, Invalid> {
    match value {
        Value::String(s) => T::from_bloc_str(s),
        _ => Err(Invalid),
    }
}

/// Which of `keywords` the trimmed `text` is, ignoring ASCII case; `None` when blank.
fn keyword<T: Copy>(text: &str, keywords: &[(&str, T)]) -> Result<Option<T>, Invalid> {
    let Some(text) = trimmed(text) else {
        return Ok(None);
    };
    keywords
        .iter()
        .find(|(name, _)| text.eq_ignore_ascii_case(name))
        .map(|(_, value)| Some(*value))
        .ok_or(Invalid)
}

impl FromBloc for Status {
    fn from_bloc(value: &Value) -> Result<Option<Self>, Invalid> {
        from_string(value)
    }

    fn from_bloc_str(text: &str) -> Result<Option<Self>, Invalid> {
        keyword(
            text,
            &[("active", Self::Active), ("archived", Self::Archived)],
        )
    }
}

impl FromBloc for Environment {
    fn from_bloc(value: &Value) -> Result<Option<Self>, Invalid> {
        from_string(value)
    }

    fn from_bloc_str(text: &str) -> Result<Option<Self>, Invalid> {
        keyword(text, &[("test", Self::Test), ("live", Self::Live)])
    }
}

/// An RFC 3339 timestamp; Go's zero time (`0001-01-01T00:00:00Z`) means unset.
impl FromBloc for DateTime<FixedOffset> {
    fn from_bloc(value: &Value) -> Result<Option<Self>, Invalid> {
        from_string(value)
    }

    fn from_bloc_str(text: &str) -> Result<Option<Self>, Invalid> {
        let Some(text) = trimmed(text) else {
            return Ok(None);
        };
        let at = DateTime::parse_from_rfc3339(text).map_err(|_| Invalid)?;
        Ok(Some(at).filter(|at| at.year() > 1))
    }
}

/// A calendar date sent as an RFC 3339 midnight timestamp (or a bare `YYYY-MM-DD`).
/// The date is taken as written, without shifting it to UTC.
impl FromBloc for NaiveDate {
    fn from_bloc(value: &Value) -> Result<Option<Self>, Invalid> {
        from_string(value)
    }

    fn from_bloc_str(text: &str) -> Result<Option<Self>, Invalid> {
        let Some(text) = trimmed(text) else {
            return Ok(None);
        };
        let date = match DateTime::parse_from_rfc3339(text) {
            Ok(at) => at.date_naive(),
            Err(_) => NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| Invalid)?,
        };
        Ok(Some(date).filter(|date| date.year() > 1))
    }
}

/// A postal address; `{}` or all-blank means unset.
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Address {
    pub street: Lenient<String>,
    pub city: Lenient<String>,
    pub state: Lenient<String>,
    pub country: Lenient<String>,
    pub postal_code: Lenient<String>,
}

/// Bloc's `SyncData` object (Go field names leaking through: `Provider`, `ID`).
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SyncData {
    #[serde(rename = "Provider")]
    pub provider: Lenient<String>,
    #[serde(rename = "ID")]
    pub id: Lenient<String>,
}

/// Objects whose every field is unset are themselves unset.
fn object_from_bloc<T>(value: &Value, is_empty: impl Fn(&T) -> bool) -> Result<Option<T>, Invalid>
where
    T: for<'de> Deserialize<'de>,
{
    if !value.is_object() {
        return Err(Invalid);
    }
    let object = T::deserialize(value).map_err(|_| Invalid)?;
    Ok(Some(object).filter(|o| !is_empty(o)))
}

impl Address {
    fn is_blank(&self) -> bool {
        [
            &self.street,
            &self.city,
            &self.state,
            &self.country,
            &self.postal_code,
        ]
        .iter()
        .all(|f| f.get() == Ok(None))
    }
}

impl FromBloc for Address {
    fn from_bloc(value: &Value) -> Result<Option<Self>, Invalid> {
        object_from_bloc(value, Address::is_blank)
    }

    /// Read in place: through a `Value` it cost about 3,000 instructions per record.
    fn from_bloc_map<'de, A: MapAccess<'de>>(
        map: A,
    ) -> Result<Result<Option<Self>, Invalid>, A::Error> {
        let names = ["street", "city", "state", "country", "postal_code"];
        let [street, city, state, country, postal_code] = text_fields(map, &names)?;
        let address = Address {
            street,
            city,
            state,
            country,
            postal_code,
        };
        Ok(Ok(Some(address).filter(|a| !a.is_blank())))
    }
}

impl SyncData {
    fn is_blank(&self) -> bool {
        self.provider.get() == Ok(None) && self.id.get() == Ok(None)
    }
}

impl FromBloc for SyncData {
    fn from_bloc(value: &Value) -> Result<Option<Self>, Invalid> {
        object_from_bloc(value, SyncData::is_blank)
    }

    fn from_bloc_map<'de, A: MapAccess<'de>>(
        map: A,
    ) -> Result<Result<Option<Self>, Invalid>, A::Error> {
        let [provider, id] = text_fields(map, &["Provider", "ID"])?;
        let sync_data = SyncData { provider, id };
        Ok(Ok(Some(sync_data).filter(|s| !s.is_blank())))
    }
}

/// One Bloc customer, every documented field included. Unknown fields are ignored.
///
/// There is deliberately no `Debug`: a customer is PII and must not end up in a log line.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct Customer {
    pub id: String,
    pub full_name: Lenient<String>,
    pub first_name: Lenient<String>,
    pub last_name: Lenient<String>,
    pub email: Lenient<String>,
    pub phone_number: Lenient<String>,
    pub bvn: Lenient<String>,
    pub organization_id: Lenient<String>,
    pub environment: Lenient<Environment>,
    pub country: Lenient<String>,
    pub group: Lenient<String>,
    pub status: Lenient<Status>,
    pub created_at: Lenient<DateTime<FixedOffset>>,
    pub updated_at: Lenient<DateTime<FixedOffset>>,
    #[serde(rename = "SyncData")]
    pub sync_data: Lenient<SyncData>,
    pub kyc_tier: Lenient<KycTier>,
    pub kyc_status: Lenient<String>,
    pub date_of_birth: Lenient<NaiveDate>,
    pub customer_type: Lenient<String>,
    pub source: Lenient<String>,
    pub address: Lenient<Address>,
    pub place_of_birth: Lenient<String>,
    pub gender: Lenient<String>,
    pub image_url: Lenient<String>,
    pub means_of_identity: Lenient<String>,
    pub means_of_identity_url: Lenient<String>,
    pub identity_url: Lenient<String>,
    /// [`Customer::display_name`], worked out on first use: a record is shared by every field
    /// and request that reads it while cached.
    #[serde(skip)]
    display_name: OnceLock<String>,
    /// Length of the JSON text the record was read from: what it weighs in the cache.
    #[serde(skip)]
    wire_bytes: usize,
}

impl Customer {
    /// Reads one record from its JSON text; fails only when it is not an object with a
    /// non-empty string `id`. Decoded straight from the text (no `serde_json::Value` of the
    /// whole record), since this runs for every record of every call.
    pub fn from_json(text: &str) -> Result<Self, Invalid> {
        let customer: Self = serde_json::from_str(text).map_err(|_| Invalid)?;
        Ok(customer.checked()?.weighing(text.len()))
    }

    /// The record, if it has a non-empty `id`.
    fn checked(self) -> Result<Self, Invalid> {
        if self.id.is_empty() {
            Err(Invalid)
        } else {
            Ok(self)
        }
    }

    /// The record, weighing `wire_bytes` of JSON in a cache (see [`Customer::cache_weight`]).
    pub(crate) fn weighing(mut self, wire_bytes: usize) -> Self {
        self.wire_bytes = wire_bytes;
        self
    }

    /// What the record weighs in a cache, in bytes: the JSON it came from (about what its
    /// strings hold once decoded) and the decoded struct itself, so that a Bloc sending huge
    /// records cannot fill memory with a cache sized for ordinary ones.
    pub fn cache_weight(&self) -> u32 {
        let bytes = self.wire_bytes.saturating_add(std::mem::size_of::<Self>());
        u32::try_from(bytes).unwrap_or(u32::MAX)
    }

    /// Display name: `"<first> <last>"` with stray spaces removed, falling back to Bloc's
    /// surname-first `full_name` when both parts are missing.
    pub fn display_name(&self) -> &str {
        self.display_name.get_or_init(|| {
            let parts = [self.first_name.value(), self.last_name.value()];
            let joined = parts.into_iter().flatten().map(String::as_str);
            let name = squash(joined);
            if name.is_empty() {
                squash(self.full_name.value().map(String::as_str).into_iter())
            } else {
                name
            }
        })
    }
}

/// A customer record read in the same pass as the envelope it came in (the `data` of a
/// `GET /customers/{id}` answer), rather than kept as raw JSON and read again: the second
/// pass cost about 10,000 instructions per call (BENCHMARKS.md, try 14). `Err` when it is not
/// a record with a non-empty string `id`, as [`Customer::from_json`] has it; its weight is
/// for the caller to set ([`Customer::weighing`]), since its text is not kept.
pub(crate) struct Record(pub(crate) Result<Customer, Invalid>);

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RecordVisitor)
    }
}

/// Objects (and arrays, which serde reads as a struct's fields in order, as `from_json`
/// does) are read as a customer; any other value is not one.
struct RecordVisitor;

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = Record;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a customer record")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Record, A::Error> {
        let customer = Customer::deserialize(MapAccessDeserializer::new(map))?;
        Ok(Record(customer.checked()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Record, A::Error> {
        let customer = Customer::deserialize(SeqAccessDeserializer::new(seq))?;
        Ok(Record(customer.checked()))
    }

    fn visit_str<E>(self, _: &str) -> Result<Record, E> {
        Ok(Record(Err(Invalid)))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Record, E> {
        Ok(Record(Err(Invalid)))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Record, E> {
        Ok(Record(Err(Invalid)))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Record, E> {
        Ok(Record(Err(Invalid)))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Record, E> {
        Ok(Record(Err(Invalid)))
    }

    fn visit_unit<E>(self) -> Result<Record, E> {
        Ok(Record(Err(Invalid)))
    }
}

/// Joins words with single spaces, whatever whitespace they came with.
fn squash<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    let mut joined = String::new();
    for word in parts.flat_map(str::split_whitespace) {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(word);
    }
    joined
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tier(value: Value) -> Lenient<KycTier> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_record_weighs_its_json_and_its_struct_in_bytes() {
        let small_text = r#"{"id": "a"}"#;
        let padding = "x".repeat(10 * 1024);
        let large_text = format!(r#"{{"id": "a", "image_url": "{padding}"}}"#);
        let small = Customer::from_json(small_text).unwrap();
        let large = Customer::from_json(&large_text).unwrap();

        let own = std::mem::size_of::<Customer>();
        assert_eq!(small.cache_weight() as usize, small_text.len() + own);
        assert_eq!(large.cache_weight() as usize, large_text.len() + own);
        assert!(large.cache_weight() > 10 * 1024, "the padding counts");
    }

    #[test]
    fn kyc_tiers_parse_from_strings_and_numbers_and_reject_the_rest() {
        assert_eq!(tier(json!("2")).value(), Some(&KycTier(2)));
        assert_eq!(tier(json!(" 3 ")).value(), Some(&KycTier(3)));
        assert_eq!(tier(json!(0)).value(), Some(&KycTier(0)));
        assert_eq!(tier(json!("")).get(), Ok(None));
        assert_eq!(tier(json!(null)).get(), Ok(None));
        for bad in [json!("T2"), json!("4"), json!(-1), json!(1.5), json!(true)] {
            assert!(tier(bad.clone()).is_invalid(), "{bad}");
        }
    }

    #[test]
    fn timestamps_keep_their_offset_and_the_zero_time_is_unset() {
        let at = |v: &str| DateTime::<FixedOffset>::from_bloc(&json!(v));
        assert_eq!(at("0001-01-01T00:00:00Z"), Ok(None));
        assert_eq!(at("0001-01-01T00:00:00+01:00"), Ok(None));
        let offset = at("2023-03-13T11:34:26.577469+01:00").unwrap().unwrap();
        assert_eq!(offset.offset().local_minus_utc(), 3600);
        assert!(at("2023-03-14T11:49:49.839735959Z").unwrap().is_some());
        assert_eq!(at("yesterday"), Err(Invalid));
    }

    #[test]
    fn dates_are_taken_as_written() {
        let date = |v: &str| NaiveDate::from_bloc(&json!(v));
        let expected = NaiveDate::from_ymd_opt(1994, 6, 22).unwrap();
        assert_eq!(date("1994-06-22T00:00:00Z"), Ok(Some(expected)));
        assert_eq!(date("1994-06-22T00:00:00+01:00"), Ok(Some(expected)));
        assert_eq!(date("1994-06-22"), Ok(Some(expected)));
        assert_eq!(date("0001-01-01T00:00:00Z"), Ok(None));
        assert_eq!(date("22/06/1994"), Err(Invalid));
    }

    #[test]
    fn blank_addresses_are_unset() {
        let blank = json!({ "street": "", "city": " " });
        assert!(Address::from_bloc(&blank).unwrap().is_none());
        assert!(Address::from_bloc(&json!({})).unwrap().is_none());
        assert!(
            Address::from_bloc(&json!({ "city": "Ikeja" }))
                .unwrap()
                .is_some()
        );
        assert_eq!(Address::from_bloc(&json!("Ikeja")).err(), Some(Invalid));
    }

    /// What a field decoded to before it was read in place: through a `Value`.
    fn through_value<T: FromBloc>(text: &str) -> Result<Option<T>, Invalid> {
        match serde_json::from_str::<Value>(text).unwrap() {
            Value::Null => Ok(None),
            value => T::from_bloc(&value),
        }
    }

    #[test]
    fn fields_read_in_place_decode_as_they_did_through_a_value() {
        let texts = [
            r#""""#,
            r#"" ""#,
            r#"" Ada ""#,
            r#""\u0041da\n""#,
            r#""2""#,
            r#"" 3 ""#,
            r#""+1""#,
            r#""9""#,
            r#"" ACTIVE ""#,
            r#""Archived""#,
            r#""Live""#,
            r#""archivé""#,
            r#""2023-03-13T11:34:26.577469+01:00""#,
            r#""0001-01-01T00:00:00Z""#,
            r#""1994-06-22""#,
            r#""22/06/1994""#,
            "null",
            "true",
            "0",
            "3",
            "-1",
            "1.5",
            "1e400",
            "[]",
            r#"["a"]"#,
            "{}",
            r#"{"city": " Ikeja "}"#,
            r#"{"city": "Ikeja", "city": " ", "zip": [1], "street": {"a": 1}}"#,
            r#"{"street": "", "city": null}"#,
            r#"{"Provider": "x", "ID": 7}"#,
            r#"{"Provider": " ", "ID": "a", "ID": "b", "other": {}}"#,
        ];
        fn same<T: FromBloc + PartialEq + 'static>(text: &str) {
            let in_place: Lenient<T> = serde_json::from_str(text).unwrap();
            assert!(in_place.0 == through_value::<T>(text), "{text}");
            let from_value: Lenient<T> =
                serde_json::from_value(serde_json::from_str(text).unwrap()).unwrap();
            assert!(
                from_value.0 == through_value::<T>(text),
                "{text} (from a Value)"
            );
        }
        for text in texts {
            if text == "1e400" {
                // Out of range for serde_json's numbers: refused by both readers alike.
                assert!(serde_json::from_str::<Lenient<String>>(text).is_err());
                continue;
            }
            same::<String>(text);
            same::<KycTier>(text);
            same::<Status>(text);
            same::<Environment>(text);
            same::<DateTime<FixedOffset>>(text);
            same::<NaiveDate>(text);
            same::<Address>(text);
            same::<SyncData>(text);
        }
    }

    #[test]
    fn a_record_read_with_its_envelope_is_a_customer_exactly_when_from_json_says_so() {
        let full = json!({
            "id": "abc", "first_name": " Ada ", "last_name": "Obi", "kyc_tier": "2",
            "status": "Active", "address": { "city": "Ikeja" }, "unknown": [1, { "a": null }]
        })
        .to_string();
        let texts = [
            full.as_str(),
            "{}",
            r#"{"id": ""}"#,
            r#"{"id": 7}"#,
            r#"{"id": null}"#,
            r#"["abc"]"#,
            "[]",
            r#""abc""#,
            "7",
            "true",
        ];
        for text in texts {
            let record = serde_json::from_str::<Record>(text)
                .ok()
                .and_then(|record| record.0.ok());
            let direct = Customer::from_json(text).ok();
            assert_eq!(record.is_some(), direct.is_some(), "{text}");
            if let (Some(record), Some(direct)) = (record, direct) {
                assert_eq!(record.id, direct.id);
                assert_eq!(record.display_name(), direct.display_name());
                assert!(record.kyc_tier == direct.kyc_tier && record.status == direct.status);
                assert!(record.address == direct.address);
            }
        }
    }

    #[test]
    fn a_record_needs_a_string_id() {
        let record = json!({ "id": "abc", "kyc_tier": "T9", "first_name": "Ada" }).to_string();
        let customer = Customer::from_json(&record).unwrap();
        assert!(
            customer.kyc_tier.is_invalid(),
            "a bad field spoils only itself"
        );
        assert_eq!(customer.first_name.value().map(String::as_str), Some("Ada"));
        for bad in [
            json!({}),
            json!({ "id": 7 }),
            json!({ "id": "" }),
            json!([1]),
        ] {
            assert!(Customer::from_json(&bad.to_string()).is_err(), "{bad}");
        }
    }
}
