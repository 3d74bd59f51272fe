//! Per-client rate limits: a burst over a client's budget is 429 with `Retry-After`, keyed
//! by client, not by address.

use std::num::NonZeroU32;

use axum::http::StatusCode;
use bloc_graphql::auth::{AnonymousAccess, AuthConfig, ClientEntry, Scopes};
use serde_json::json;

use crate::helpers::{client_entry, codes, spawn_app_with};

const FAST: &str = "bgq_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SLOW: &str = "bgq_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn entry(id: &str, key: &str, rate: Option<u32>) -> ClientEntry {
    client_entry(id, key, Scopes::all(), rate)
}

#[tokio::test]
async fn a_burst_over_a_clients_budget_is_429_and_other_clients_are_unaffected() {
    let auth = AuthConfig {
        clients: vec![entry("slow", SLOW, Some(3)), entry("fast", FAST, None)],
        ..AuthConfig::default()
    };
    let app = spawn_app_with(move |c| c.auth = auth).await;
    let body = json!({ "query": "{ __typename }" });
    let slow = format!("Bearer {SLOW}");
    let fast = format!("Bearer {FAST}");

    for _ in 0..3 {
        assert_eq!(
            app.post(&body, &[("authorization", &slow)]).await.status,
            StatusCode::OK
        );
    }
    let over = app.post(&body, &[("authorization", &slow)]).await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(codes(&over.json()), ["RATE_LIMITED"]);
    let retry_after: u64 = over.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");

    for _ in 0..10 {
        assert_eq!(
            app.post(&body, &[("authorization", &fast)]).await.status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn each_operation_of_a_batch_takes_a_token() {
    let auth = AuthConfig {
        clients: vec![entry("slow", SLOW, Some(5))],
        ..AuthConfig::default()
    };
    let app = spawn_app_with(move |c| c.auth = auth).await;
    let batch = serde_json::Value::Array(vec![json!({ "query": "{ a: __typename }" }); 4]);
    let slow = format!("Bearer {SLOW}");

    assert_eq!(
        app.post(&batch, &[("authorization", &slow)]).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.post(&batch, &[("authorization", &slow)]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn anonymous_callers_share_one_budget() {
    let auth = AuthConfig {
        anonymous: Some(AnonymousAccess {
            scopes: Scopes::all(),
            rate: NonZeroU32::new(2),
        }),
        ..AuthConfig::default()
    };
    let app = spawn_app_with(move |c| c.auth = auth).await;
    let body = json!({ "query": "{ __typename }" });

    let statuses = [
        app.post(&body, &[("x-forwarded-for", "10.0.0.1")])
            .await
            .status,
        app.post(&body, &[("x-forwarded-for", "10.0.0.2")])
            .await
            .status,
        app.post(&body, &[("x-forwarded-for", "10.0.0.3")])
            .await
            .status,
    ];

    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[tokio::test]
async fn a_request_takes_a_token_per_bloc_call_it_may_make() {
    let auth = AuthConfig {
        clients: vec![entry("slow", SLOW, Some(10))],
        ..AuthConfig::default()
    };
    let app = spawn_app_with(move |c| c.auth = auth).await;
    let slow = format!("Bearer {SLOW}");
    // Eight distinct ids, integers counted as the resolver sees them: eight Bloc calls.
    let eight =
        json!({ "query": "{ customers_by_id(ids: [1, 2, 3, 4, \"5\", 6, 7, 8, 8]) { id } }" });

    assert_eq!(
        app.post(&eight, &[("authorization", &slow)]).await.status,
        StatusCode::OK
    );
    let over = app.post(&eight, &[("authorization", &slow)]).await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(codes(&over.json()), ["RATE_LIMITED"]);
    assert_eq!(
        app.upstream_paths().await.len(),
        8,
        "the refused request called Bloc"
    );
}

#[tokio::test]
async fn a_batch_takes_a_token_per_distinct_id_and_one_for_the_list() {
    let auth = AuthConfig {
        clients: vec![entry("slow", SLOW, Some(12))],
        ..AuthConfig::default()
    };
    let app = spawn_app_with(move |c| c.auth = auth).await;
    let slow = format!("Bearer {SLOW}");
    let op =
        |ids: &str| json!({ "query": format!("{{ customers_by_id(ids: [{ids}]) {{ id }} }}") });
    // Five distinct ids across two operations and the list: six calls, twice in a row
    // fits 12; a third time does not.
    let batch = json!([op("1, 2, 3"), op("3, 4, 5"), { "query": "{ customer_count }" }]);

    for _ in 0..2 {
        assert_eq!(
            app.post(&batch, &[("authorization", &slow)]).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        app.post(&batch, &[("authorization", &slow)]).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn relations_are_charged_per_parent_before_they_run() {
    let auth = AuthConfig {
        clients: vec![entry("slow", SLOW, Some(30))],
        ..AuthConfig::default()
    };
    let app = spawn_app_with(move |c| c.auth = auth).await;
    let slow = format!("Bearer {SLOW}");
    // The list and the accounts of up to 20 customers: 21 calls, whatever Bloc then holds.
    let table = json!({ "query": "{ customers(limit: 20) { accounts { id } } }" });

    assert_eq!(
        app.post(&table, &[("authorization", &slow)]).await.status,
        StatusCode::OK
    );
    let over = app.post(&table, &[("authorization", &slow)]).await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(codes(&over.json()), ["RATE_LIMITED"]);
}
