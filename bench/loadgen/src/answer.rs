//! Reading one answer (GraphQL, or REST with `--rest-template`): whether it is an error (and
//! which), how old its data is, whether the facade marked it stale. Parsed into borrowed
//! structs, so a good answer costs no allocation.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::StatusCode;
use serde::Deserialize;

use crate::stats::Stats;

/// The parts of an answer that matter here; everything else is skipped unread.
#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(borrow, default)]
    data: Option<Data<'a>>,
    #[serde(borrow, default)]
    errors: Option<Vec<GraphqlError<'a>>>,
    #[serde(default)]
    extensions: Option<Extensions>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(borrow, default)]
    customer: Option<Customer<'a>>,
}

#[derive(Deserialize)]
struct Customer<'a> {
    // Timestamps and codes never hold JSON escapes, so they borrow from the body.
    #[serde(borrow, default)]
    updated_at: Option<&'a str>,
}

#[derive(Deserialize)]
struct GraphqlError<'a> {
    #[serde(borrow, default)]
    extensions: Option<ErrorExtensions<'a>>,
}

#[derive(Deserialize)]
struct ErrorExtensions<'a> {
    #[serde(borrow, default)]
    code: Option<&'a str>,
}

/// A REST answer (`--rest-template`): only a top-level `updated_at` matters.
#[derive(Deserialize)]
struct RestAnswer<'a> {
    #[serde(borrow, default)]
    updated_at: Option<&'a str>,
}

#[derive(Deserialize)]
struct Extensions {
    #[serde(default)]
    stale: bool,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Records the age of data updated at `updated` (RFC 3339), received at `received_ms`.
fn age(stats: &mut Stats, received_ms: i64, updated: Option<&str>) {
    if let Some(updated) = updated
        && let Ok(at) = chrono::DateTime::parse_from_rfc3339(updated)
    {
        stats
            .ages_ms
            .push(received_ms.saturating_sub(at.timestamp_millis()));
    }
}

/// Classifies one REST answer: a 200 with a JSON body is an answer (aged by its top-level
/// `updated_at`, if any), a 200 that is not JSON is `BAD_JSON`, any other status `HTTP_<status>`.
pub fn record_rest(stats: &mut Stats, latency: Duration, status: StatusCode, body: &[u8]) {
    let received_ms = now_ms();
    if status != StatusCode::OK {
        stats.failed(latency, &format!("HTTP_{}", status.as_u16()));
        return;
    }
    // Any JSON value is an answer; only an object can carry `updated_at`.
    let updated = match serde_json::from_slice::<RestAnswer>(body) {
        Ok(answer) => answer.updated_at,
        Err(_) if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() => None,
        Err(_) => {
            stats.failed(latency, "BAD_JSON");
            return;
        }
    };
    age(stats, received_ms, updated);
    stats.answered(latency);
}

/// Classifies one answer: an error is keyed by its first error's `extensions.code` (else
/// `HTTP_<status>` or `NO_CODE`), and a 200 with neither errors nor a customer is `NULL`.
pub fn record(stats: &mut Stats, latency: Duration, status: StatusCode, body: &[u8]) {
    let received_ms = now_ms();
    let Ok(answer) = serde_json::from_slice::<Answer>(body) else {
        let code = if status == StatusCode::OK {
            "BAD_JSON".to_owned()
        } else {
            format!("HTTP_{}", status.as_u16())
        };
        stats.failed(latency, &code);
        return;
    };
    if answer.extensions.is_some_and(|e| e.stale) {
        stats.stale = stats.stale.saturating_add(1);
    }
    let customer = answer.data.and_then(|d| d.customer);
    age(
        stats,
        received_ms,
        customer.as_ref().and_then(|c| c.updated_at),
    );
    let first_error = answer.errors.as_deref().and_then(<[_]>::first);
    match (first_error, status) {
        (Some(error), _) => {
            let code = error.extensions.as_ref().and_then(|e| e.code);
            stats.failed(latency, code.unwrap_or("NO_CODE"));
        }
        (None, StatusCode::OK) if customer.is_none() => stats.failed(latency, "NULL"),
        (None, StatusCode::OK) => stats.answered(latency),
        (None, other) => stats.failed(latency, &format!("HTTP_{}", other.as_u16())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(answers: &[(StatusCode, &str)]) -> serde_json::Value {
        report_with(record, answers)
    }

    fn report_with(
        record: fn(&mut Stats, Duration, StatusCode, &[u8]),
        answers: &[(StatusCode, &str)],
    ) -> serde_json::Value {
        let mut stats = Stats::default();
        for (status, body) in answers {
            record(
                &mut stats,
                Duration::from_millis(1),
                *status,
                body.as_bytes(),
            );
        }
        stats.report(1.0)
    }

    #[test]
    fn errors_are_counted_by_code_and_a_missing_customer_is_null() {
        let report = report(&[
            (
                StatusCode::OK,
                r#"{"data":{"customer":{"id":"a","updated_at":null}}}"#,
            ),
            (StatusCode::OK, r#"{"data":{"customer":null}}"#),
            (
                StatusCode::OK,
                r#"{"data":{"customer":null},"errors":[{"message":"m","extensions":{"code":"UPSTREAM_RATE_LIMITED"}}]}"#,
            ),
            (
                StatusCode::GATEWAY_TIMEOUT,
                r#"{"errors":[{"message":"late"}]}"#,
            ),
            (StatusCode::BAD_GATEWAY, "<html>"),
        ]);

        assert_eq!(report["queries"], 5);
        assert_eq!(report["error_total"], 4);
        assert_eq!(
            report["errors"],
            serde_json::json!({"NULL": 1, "UPSTREAM_RATE_LIMITED": 1, "NO_CODE": 1, "HTTP_502": 1})
        );
        assert_eq!(report["age_ms"]["samples"], 0);
    }

    #[test]
    fn the_age_is_receipt_time_minus_updated_at_and_stale_answers_are_counted() {
        let updated = chrono::Utc::now() - chrono::TimeDelta::seconds(10);
        let body = format!(
            r#"{{"data":{{"customer":{{"updated_at":"{}"}}}},"extensions":{{"stale":true}}}}"#,
            updated.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );

        let report = report(&[(StatusCode::OK, &body)]);

        let age = report["age_ms"]["max"].as_i64().unwrap();
        assert!((10_000..11_000).contains(&age), "{age}");
        assert_eq!(report["stale_answers"], 1);
        assert_eq!(report["error_total"], 0);
    }

    #[test]
    fn a_rest_answer_is_a_json_200_aged_by_its_top_level_updated_at() {
        let updated = chrono::Utc::now() - chrono::TimeDelta::seconds(10);
        let body = format!(
            r#"{{"name":"A B","kyc_tier":1,"status":"active","updated_at":"{}"}}"#,
            updated.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );

        let report = report_with(
            record_rest,
            &[
                (StatusCode::OK, &body),
                (StatusCode::OK, r#"{"name":"A B","updated_at":null}"#),
                (StatusCode::OK, "[1, 2]"),
                (StatusCode::OK, "<html>"),
                (StatusCode::BAD_GATEWAY, ""),
                (
                    StatusCode::NOT_FOUND,
                    r#"{"updated_at":"2020-01-01T00:00:00Z"}"#,
                ),
            ],
        );

        assert_eq!(report["queries"], 6);
        assert_eq!(
            report["errors"],
            serde_json::json!({"BAD_JSON": 1, "HTTP_502": 1, "HTTP_404": 1})
        );
        assert_eq!(report["age_ms"]["samples"], 1);
        let age = report["age_ms"]["max"].as_i64().unwrap();
        assert!((10_000..11_000).contains(&age), "{age}");
    }
}
