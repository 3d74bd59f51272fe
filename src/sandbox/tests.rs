//! The sandbox's data and serving: the quoted records never change, large sandboxes stay
//! unique and quick to serve, and live records carry the time they were served.

use std::{collections::HashSet, time::Duration};

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use super::*;

/// sha256 of `serde_json::to_string(customers())` before the sandbox could hold more than 60
/// customers: the records tests and docs quote.
const FIRST_60_SHA256: &str = "da4e36cf6a3767286d1cde4bab7f6a9ceee10b515af5a50eb0294ccd41cd49a9";

pub(super) async fn get(router: &Router, path: &str) -> (StatusCode, Value) {
    let (status, body) = get_bytes(router, path).await;
    (status, serde_json::from_slice(&body).unwrap())
}

async fn get_bytes(router: &Router, path: &str) -> (StatusCode, Vec<u8>) {
    let request = Request::get(path)
        .header(header::AUTHORIZATION, "Bearer sk_test_x")
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body.to_vec())
}

fn seconds_ago(timestamp: &Value) -> f64 {
    let text = timestamp.as_str().unwrap();
    // Bloc's precision: milliseconds, in UTC.
    assert_eq!(text.len(), 24, "{text}");
    assert!(text.ends_with('Z'), "{text}");
    let at: DateTime<Utc> = text.parse().unwrap();
    Utc::now().signed_duration_since(at).as_seconds_f64()
}

#[test]
fn the_first_sixty_customers_are_the_ones_tests_and_docs_quote() {
    let first = &customers()[0];
    assert_eq!(customers().len(), CUSTOMER_COUNT);
    assert_eq!(first["id"], "63b1d64cf0409e75a5412a09");
    assert_eq!(first["full_name"], "Eze Tunde");
    let text = serde_json::to_string(customers()).unwrap();
    assert_eq!(crate::auth::sha256_hex(&text), FIRST_60_SHA256);
    assert_eq!(generate(10_000).get(..CUSTOMER_COUNT).unwrap(), customers());
}

#[test]
fn ten_thousand_customers_have_distinct_object_ids_and_sane_dates() {
    let many = generate(10_000);
    let ids: HashSet<&str> = many.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(many.len(), 10_000);
    assert_eq!(ids.len(), 10_000);
    assert!(
        ids.iter()
            .all(|id| id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()))
    );
    let last = many.last().unwrap()["created_at"].as_str().unwrap();
    assert!(last.starts_with("2026-"), "{last}");
}

#[tokio::test]
async fn a_large_sandbox_serves_its_list_and_finds_its_last_customer() {
    let router = router_with(SandboxOptions {
        customers: 10_000,
        ..SandboxOptions::default()
    });
    let last = generate(10_000).pop().unwrap();

    let (status, list) = get(&router, "/v1/customers").await;
    let (found, one) = get(
        &router,
        &format!("/v1/customers/{}", last["id"].as_str().unwrap()),
    )
    .await;
    let (missing, _) = get(&router, "/v1/customers/ffffffffffffffffffffffff").await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"].as_array().unwrap().len(), 10_000);
    assert_eq!(list["data"][9_999], last);
    assert_eq!(found, StatusCode::OK);
    assert_eq!(one["data"], last);
    assert_eq!(missing, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_live_updates_the_answers_are_the_stored_records() {
    let router = router_with_latency(Duration::ZERO);
    let first = &customers()[0];

    let (_, list) = get(&router, "/v1/customers").await;
    let (_, one) = get(
        &router,
        &format!("/v1/customers/{}", first["id"].as_str().unwrap()),
    )
    .await;

    assert_eq!(list["data"], Value::Array(customers().to_vec()));
    assert_eq!(list["message"], "get customers");
    assert_eq!(one["data"], *first);
    assert_eq!(one["success"], true);
}

#[tokio::test]
async fn with_live_updates_every_record_was_updated_when_served() {
    let router = router_with(SandboxOptions {
        customers: 200,
        live_updates: true,
        ..SandboxOptions::default()
    });
    let first = &customers()[0];

    let (_, list) = get(&router, "/v1/customers").await;
    let (_, one) = get(
        &router,
        &format!("/v1/customers/{}", first["id"].as_str().unwrap()),
    )
    .await;

    let records = list["data"].as_array().unwrap();
    assert_eq!(records.len(), 200);
    for record in records {
        let age = seconds_ago(&record["updated_at"]);
        assert!((0.0..1.0).contains(&age), "{age} s");
    }
    let age = seconds_ago(&one["data"]["updated_at"]);
    assert!((0.0..1.0).contains(&age), "{age} s");
    // Only `updated_at` moves.
    let mut unchanged = one["data"].clone();
    unchanged["updated_at"] = first["updated_at"].clone();
    assert_eq!(unchanged, *first);
}
