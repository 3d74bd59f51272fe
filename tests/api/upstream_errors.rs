//! Upstream failures become coded partial errors, and no message leaks the key, the upstream
//! URL or Bloc's own text.

use std::time::Duration;

use serde_json::{Value, json};
use url::Url;
use wiremock::{Mock, ResponseTemplate, matchers::method};

use crate::{
    helpers::{TEST_KEY, TestApp, codes, free_port, spawn_app, spawn_app_with},
    mocks::{bloc_error, id},
};

const BLOC_TEXT: &str = "secret internal detail 22403240419";

async fn answering(response: ResponseTemplate) -> TestApp {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .respond_with(response)
        .mount(&app.bloc)
        .await;
    app
}

async fn lookup(app: &TestApp) -> Value {
    app.query(&format!(r#"{{ customer(id: "{}") {{ id }} }}"#, id(1)))
        .await
}

fn assert_safe(app_uri: &str, response: &Value) {
    let text = response.to_string();
    for leak in [TEST_KEY, app_uri, BLOC_TEXT, "127.0.0.1"] {
        assert!(!text.contains(leak), "{leak:?} leaked in {text}");
    }
}

#[tokio::test]
async fn a_rejected_key_is_upstream_unauthorized() {
    for status in [401, 403] {
        let app = answering(bloc_error(status, BLOC_TEXT)).await;

        let response = lookup(&app).await;

        assert_eq!(codes(&response), ["UPSTREAM_UNAUTHORIZED"], "{status}");
        assert_eq!(response["data"], json!({ "customer": null }));
        assert_safe(&app.bloc.uri(), &response);
    }
}

#[tokio::test]
async fn a_429_is_rate_limited_with_retry_after_when_bloc_says() {
    let app = answering(bloc_error(429, BLOC_TEXT).insert_header("retry-after", "30")).await;
    let response = lookup(&app).await;
    assert_eq!(codes(&response), ["UPSTREAM_RATE_LIMITED"]);
    assert_eq!(response["errors"][0]["extensions"]["retry_after"], 30);
    assert_safe(&app.bloc.uri(), &response);

    let app = answering(bloc_error(429, BLOC_TEXT)).await;
    let response = lookup(&app).await;
    assert_eq!(codes(&response), ["UPSTREAM_RATE_LIMITED"]);
    assert_eq!(response["errors"][0]["extensions"].get("retry_after"), None);
}

#[tokio::test]
async fn server_errors_are_upstream_unavailable() {
    for status in [500, 502, 503, 504] {
        let app = answering(bloc_error(status, BLOC_TEXT)).await;

        let response = lookup(&app).await;

        assert_eq!(codes(&response), ["UPSTREAM_UNAVAILABLE"], "{status}");
        assert_safe(&app.bloc.uri(), &response);
    }
}

#[tokio::test]
async fn a_slow_bloc_is_upstream_unavailable_after_the_call_timeout() {
    let slow = ResponseTemplate::new(200).set_delay(Duration::from_secs(5));
    let app = spawn_app_with(|c| c.bloc.call_timeout = Duration::from_millis(100)).await;
    Mock::given(method("GET"))
        .respond_with(slow)
        .mount(&app.bloc)
        .await;

    let response = lookup(&app).await;

    assert_eq!(codes(&response), ["UPSTREAM_UNAVAILABLE"]);
    assert_eq!(response["errors"][0]["message"], "Bloc timed out");
}

#[tokio::test]
async fn an_unreachable_bloc_is_upstream_unavailable() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = free_port();
    let app = spawn_app_with(|c| {
        c.bloc.api_url = Url::parse(&format!("http://127.0.0.1:{port}/v1")).unwrap();
    })
    .await;

    let response = lookup(&app).await;

    assert_eq!(codes(&response), ["UPSTREAM_UNAVAILABLE"]);
    assert_safe(&format!("127.0.0.1:{port}"), &response);
}

#[tokio::test]
async fn undecodable_bodies_and_success_false_are_bad_responses() {
    let bodies = [
        ResponseTemplate::new(200).set_body_string(format!("<html>{BLOC_TEXT}</html>")),
        ResponseTemplate::new(200).set_body_json(json!({ "success": false, "message": BLOC_TEXT })),
        ResponseTemplate::new(200).set_body_json(json!({ "data": { "id": id(1) } })),
        ResponseTemplate::new(302).insert_header("location", "https://elsewhere.invalid/"),
    ];
    for body in bodies {
        let app = answering(body).await;

        let response = lookup(&app).await;

        assert_eq!(codes(&response), ["UPSTREAM_BAD_RESPONSE"], "{response}");
        assert_safe(&app.bloc.uri(), &response);
    }
}

#[tokio::test]
async fn a_failing_list_nulls_the_response_but_keeps_the_error() {
    let app = answering(bloc_error(503, BLOC_TEXT)).await;

    let response = app.query("{ customers { id } }").await;

    // `customers` is non-null, so its error nulls `data` (GraphQL's null propagation).
    assert_eq!(response["data"], json!(null));
    assert_eq!(codes(&response), ["UPSTREAM_UNAVAILABLE"]);
    assert_eq!(response["errors"][0]["path"], json!(["customers"]));
}
