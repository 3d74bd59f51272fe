//! `DateTime` and `Date` scalars.
//!
//! Our own rather than async-graphql's chrono ones: those name the date scalar `NaiveDate`
//! and print UTC as `+00:00`; Bloc users expect `Date` and `Z`.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{FixedOffset, NaiveDate, SecondsFormat};

use crate::graphql::table::leaf_columns;

/// An instant as an RFC 3339 string, e.g. `2023-03-14T11:57:32.567Z`, with the offset Bloc
/// sent.
#[derive(Clone, Copy)]
pub(crate) struct DateTime(pub chrono::DateTime<FixedOffset>);

/// A calendar date as `YYYY-MM-DD`, e.g. `1994-06-22`.
#[derive(Clone, Copy)]
pub(crate) struct Date(pub NaiveDate);

/// An instant as an RFC 3339 string, e.g. `2023-03-14T11:57:32.567Z`, with the offset Bloc
/// sent.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(DateTime)
                .map_err(|_| InputValueError::custom("expected an RFC 3339 date-time")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

/// A calendar date as `YYYY-MM-DD`, e.g. `1994-06-22`.
#[Scalar(
    name = "Date",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6"
)]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom("expected a date as YYYY-MM-DD")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

leaf_columns!(DateTime, Date);
