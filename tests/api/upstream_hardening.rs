//! A slow, hostile or broken Bloc: deadlines that are not outages, absurd `Retry-After`
//! values, records filed under the wrong id, oversized bodies, and a Bloc URL that would
//! carry the key in cleartext.

use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use bloc_graphql::{config::Resilience, state::AppState};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};
use url::Url;
use wiremock::{
    Mock, Request as MockRequest, Respond, ResponseTemplate,
    matchers::{method, path},
};

use crate::{
    helpers::{TEST_KEY, TestApp, codes, metrics_text, send, spawn_app_with, wait_until},
    mocks::{bloc_error, customer, envelope, id, list_envelope, mount_customer},
};

fn lookup(n: u32) -> Value {
    json!({ "query": format!(r#"{{ customer(id: "{}") {{ id name }} }}"#, id(n)) })
}

/// Answers each lookup with the record it asked for, after `0`.
struct Slow(Duration);

impl Respond for Slow {
    fn respond(&self, request: &MockRequest) -> ResponseTemplate {
        let id = request.url.path().rsplit('/').next().unwrap_or_default();
        ResponseTemplate::new(200)
            .set_body_json(envelope(customer(id)))
            .set_delay(self.0)
    }
}

async fn ready(app: &TestApp) -> StatusCode {
    let request = Request::get("/readyz").body(Body::empty()).unwrap();
    send(&app.state, request).await.status
}

// 2.5: only Bloc's own slowness counts as an outage.

#[tokio::test]
async fn requests_whose_deadline_is_shorter_than_a_slow_bloc_do_not_open_the_circuit() {
    let app = spawn_app_with(|c| {
        // Bloc answers in 1 s: later than each request's deadline, well within the call
        // timeout, so Bloc is slow but not failing.
        c.bloc.call_timeout = Duration::from_secs(10);
        c.limits.request_timeout = Duration::from_millis(400);
        c.resilience = Resilience {
            max_retries: 0,
            breaker_threshold: 2,
            breaker_cool_down: Duration::from_secs(60),
            ..Resilience::default()
        };
    })
    .await;
    Mock::given(method("GET"))
        .respond_with(Slow(Duration::from_secs(1)))
        .expect(4)
        .mount(&app.bloc)
        .await;

    for n in 1..=4 {
        let response = app.post(&lookup(n), &[]).await.json();
        assert_eq!(codes(&response), ["UPSTREAM_UNAVAILABLE"], "{response}");
    }

    assert!(
        !app.state.gateway().circuit_open(),
        "deadlines are no outage"
    );
    assert_eq!(ready(&app).await, StatusCode::OK);
    // The calls were not cut short: each finishes and fills the cache.
    let finished = r#"bloc_calls_total{endpoint="GET /customers/{id}",status="200"} 4"#;
    wait_until("every call finished", || async {
        metrics_text(&app.state).await.contains(finished)
    })
    .await;
    for n in 1..=4 {
        let cached = app.traced(&lookup(n)).await;
        assert_eq!(cached["data"]["customer"]["id"], id(n), "{cached}");
        assert_eq!(cached["extensions"]["upstream"]["calls"], 0, "{cached}");
    }
}

#[tokio::test]
async fn a_shared_call_outlives_its_first_requests_deadline_and_answers_a_later_one() {
    let app = spawn_app_with(|c| {
        c.bloc.call_timeout = Duration::from_secs(10);
        // Upstream work stops 250 ms early: each request waits about 1.25 s.
        c.limits.request_timeout = Duration::from_millis(1_500);
        c.resilience = Resilience {
            max_retries: 0,
            ..Resilience::default()
        };
    })
    .await;
    Mock::given(path(format!("/v1/customers/{}", id(1))))
        .respond_with(Slow(Duration::from_secs(2)))
        .expect(1)
        .mount(&app.bloc)
        .await;

    // The first request stops waiting at its own deadline...
    let first = app.traced(&lookup(1)).await;
    // ...and the next one, sent then, joins the call still in flight.
    let second = app.traced(&lookup(1)).await;

    assert_eq!(codes(&first), ["UPSTREAM_UNAVAILABLE"], "{first}");
    assert_eq!(
        first["errors"][0]["message"],
        "Bloc did not answer within the request's deadline"
    );
    assert_eq!(second["data"]["customer"]["id"], id(1), "{second}");
    assert!(second.get("errors").is_none(), "{second}");
    assert_eq!(second["extensions"]["upstream"]["coalesced"], 1, "{second}");
    assert_eq!(second["extensions"]["upstream"]["calls"], 0, "{second}");
}

// 2.6: an absurd Retry-After.

#[tokio::test]
async fn an_endless_retry_after_is_capped_and_the_record_can_still_be_fetched_later() {
    let app = spawn_app_with(|c| {
        c.resilience = Resilience {
            max_retries: 2,
            ..Resilience::default()
        };
    })
    .await;
    Mock::given(method("GET"))
        .respond_with(
            bloc_error(429, "slow down").insert_header("retry-after", u64::MAX.to_string()),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&app.bloc)
        .await;
    mount_customer(&app.bloc, customer(&id(1)), 1).await;

    let limited = app.post(&lookup(1), &[]).await.json();
    let later = app.post(&lookup(1), &[]).await.json();

    // Waiting 60 s would pass the deadline, so the 429 is the answer, not a retry.
    assert_eq!(codes(&limited), ["UPSTREAM_RATE_LIMITED"], "{limited}");
    assert_eq!(limited["errors"][0]["extensions"]["retry_after"], 60);
    assert_eq!(later["data"]["customer"]["id"], id(1), "{later}");
    assert!(later.get("errors").is_none(), "{later}");
}

// 2.10: a record filed under another id.

#[tokio::test]
async fn a_record_answering_for_another_id_is_a_bad_response_and_never_cached() {
    let app = spawn_app_with(|c| c.resilience = Resilience::default()).await;
    let other = customer(&id(2));
    Mock::given(path(format!("/v1/customers/{}", id(1))))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(other.clone())))
        .expect(2)
        .mount(&app.bloc)
        .await;
    let query = json!({
        "query": format!(r#"{{ customer(id: "{}") {{ id name phone_number bvn }} }}"#, id(1))
    });

    for _ in 0..2 {
        let reply = app.post(&query, &[]).await;
        let response = reply.json();
        assert_eq!(response["data"], json!({ "customer": null }), "{response}");
        assert_eq!(codes(&response), ["UPSTREAM_BAD_RESPONSE"]);
        assert_eq!(response["errors"][0]["path"], json!(["customer"]));
        for pii in [&id(2), "Adaeze", "08033225577", "22403240419"] {
            assert!(!reply.text.contains(pii), "{pii} leaked: {}", reply.text);
        }
    }
}

#[tokio::test]
async fn a_record_under_its_own_id_is_served_and_cached() {
    let app = spawn_app_with(|c| c.resilience = Resilience::default()).await;
    mount_customer(&app.bloc, customer(&id(1)), 1).await;

    let first = app.traced(&lookup(1)).await;
    let second = app.traced(&lookup(1)).await;

    assert_eq!(first["data"]["customer"]["id"], id(1), "{first}");
    assert_eq!(second["data"]["customer"]["id"], id(1), "{second}");
    assert_eq!(
        second["extensions"]["upstream"]["cache_hits"], 1,
        "{second}"
    );
}

// 2.11: bodies are read up to a cap.

const BODY_LIMIT: usize = 64 * 1024;

fn capped(c: &mut bloc_graphql::config::Config) {
    c.bloc.body_limit = BODY_LIMIT;
    c.resilience = Resilience {
        max_retries: 2,
        ..Resilience::default()
    };
}

#[tokio::test]
async fn a_body_declared_larger_than_the_cap_fails_the_call_once_without_retries() {
    let app = spawn_app_with(capped).await;
    let padding = "x".repeat(BODY_LIMIT);
    let mut record = customer(&id(1));
    record["padding"] = json!(padding);
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(record)))
        .expect(1)
        .mount(&app.bloc)
        .await;

    let reply = app.post(&lookup(1), &[]).await;
    let response = reply.json();

    assert_eq!(response["data"], json!({ "customer": null }), "{response}");
    assert_eq!(codes(&response), ["UPSTREAM_BAD_RESPONSE"]);
    assert_eq!(
        response["errors"][0]["message"],
        "Bloc sent a response that could not be read"
    );
    assert!(!reply.text.contains(&app.bloc.uri()) && !reply.text.contains(TEST_KEY));
}

#[tokio::test]
async fn one_customers_record_is_held_to_a_mebibyte_whatever_the_list_cap() {
    let app = spawn_app_with(|c| c.resilience = Resilience::default()).await;
    let mut record = customer(&id(1));
    record["padding"] = json!("x".repeat(1024 * 1024));
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(record)))
        .expect(1)
        .mount(&app.bloc)
        .await;

    let response = app.post(&lookup(1), &[]).await.json();

    assert_eq!(response["data"], json!({ "customer": null }), "{response}");
    assert_eq!(codes(&response), ["UPSTREAM_BAD_RESPONSE"]);
}

#[tokio::test]
async fn a_list_under_the_cap_is_read_whole() {
    let app = spawn_app_with(capped).await;
    let records: Vec<Value> = (1..=20).map(|n| customer(&id(n))).collect();
    Mock::given(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list_envelope(json!(records))))
        .expect(1)
        .mount(&app.bloc)
        .await;

    let response = app.query("{ customer_count }").await;

    assert_eq!(response["data"]["customer_count"], 20, "{response}");
}

/// A Bloc that answers `GET /customers` with a chunked body that never ends, and counts the
/// requests it received.
async fn endless_bloc() -> (Url, tokio::sync::mpsc::UnboundedReceiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen, requests) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = seen.send(());
                let start = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                             transfer-encoding: chunked\r\n\r\n";
                let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, " ".repeat(16 * 1024));
                let mut out = socket.write_all(start.as_bytes()).await;
                // Whitespace is valid JSON padding: only the size gives it away. Paced (16 MB
                // a second at most), so that a build without the cap reads little before its
                // call times out.
                while out.is_ok() {
                    out = socket.write_all(chunk.as_bytes()).await;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            });
        }
    });
    (Url::parse(&format!("http://{addr}/v1")).unwrap(), requests)
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_cap_and_not_retried() {
    let (url, mut requests) = endless_bloc().await;
    let mut config = crate::helpers::config(url);
    capped(&mut config);
    config.bloc.call_timeout = Duration::from_secs(2);
    let app = TestApp {
        state: AppState::new(config).unwrap(),
        bloc: wiremock::MockServer::start().await,
    };

    let response = app.query("{ customer_count }").await;

    assert_eq!(response["data"], json!(null), "{response}");
    assert_eq!(codes(&response), ["UPSTREAM_BAD_RESPONSE"], "{response}");
    assert_eq!(
        response["errors"][0]["message"],
        "Bloc sent a response that could not be read"
    );
    requests.close();
    let mut received = 0;
    while requests.recv().await.is_some() {
        received += 1;
    }
    assert_eq!(received, 1, "one call, not retried");
}

// 2.9: the key never travels in cleartext.

fn state_for(url: &str) -> Result<AppState, String> {
    let config = crate::helpers::config(Url::parse(url).unwrap());
    AppState::new(config).map_err(|e| e.to_string())
}

#[test]
fn a_plain_http_bloc_url_off_loopback_is_refused_at_start_up() {
    for url in [
        "http://api.blochq.io/v1",
        "http://10.0.0.7:8081/v1",
        "http://[2001:db8::1]/v1",
        "http://localhost.example.com/v1",
    ] {
        let error = state_for(url)
            .err()
            .unwrap_or_else(|| panic!("{url} accepted"));
        assert!(error.contains("cleartext"), "{url}: {error}");
        assert!(error.contains("https://"), "{url}: {error}");
        assert!(!error.contains(&TEST_KEY[8..]), "{error}");
    }
}

#[test]
fn https_anywhere_and_plain_http_on_loopback_are_accepted() {
    for url in [
        "https://api.blochq.io/v1",
        "https://10.0.0.7/v1",
        "http://127.0.0.1:8081/v1",
        "http://127.8.9.10:8081/v1",
        "http://[::1]:8081/v1",
        "http://localhost:8081/v1",
        "http://LOCALHOST:8081/v1",
    ] {
        assert!(state_for(url).is_ok(), "{url}: {:?}", state_for(url).err());
    }
}

#[test]
fn the_binary_refuses_a_cleartext_bloc_url_with_a_clear_message() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_bloc-graphql"))
        .env_remove("BLOC_SANDBOX")
        .env_remove("RUST_LOG")
        .env("BLOC_SECRET_KEY", TEST_KEY)
        .env("BLOC_API_URL", "http://bloc.example.invalid/v1")
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .args(["--allow-anonymous", "check"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);

    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("cleartext"), "{stdout}");
    assert!(!stdout.contains(&TEST_KEY[8..]), "{stdout}");
}
