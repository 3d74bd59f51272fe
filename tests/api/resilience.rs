//! Fault injection against wiremock (and a TCP proxy for resets): cache, coalescing, budget,
//! retries, deadline, circuit breaker, stale answers, request ids and metrics.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use bloc_graphql::config::Resilience;
use futures::future::join_all;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use url::Url;
use wiremock::{
    Mock, Request as MockRequest, Respond, ResponseTemplate,
    matchers::{method, path},
};

use crate::{
    helpers::{TestApp, codes, metrics_text, send, spawn_app_with},
    mocks::{bloc_error, customer, envelope, id, list_envelope, mount_customer},
};

/// The service's defaults, with the breaker and timings scaled for tests.
fn resilient() -> Resilience {
    Resilience {
        retry_base: Duration::from_millis(10),
        retry_cap: Duration::from_millis(50),
        ..Resilience::default()
    }
}

fn lookup(n: u32) -> Value {
    json!({ "query": format!(r#"{{ customer(id: "{}") {{ id name }} }}"#, id(n)) })
}

async fn calls_to(app: &TestApp, n: u32) -> usize {
    let wanted = format!("/v1/customers/{}", id(n));
    app.upstream_paths()
        .await
        .iter()
        .filter(|p| **p == wanted)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_queries_for_twenty_customers_make_at_most_twenty_calls() {
    let app = spawn_app_with(|c| c.resilience = resilient()).await;
    for n in 0..20 {
        let slow = ResponseTemplate::new(200)
            .set_body_json(envelope(customer(&id(n))))
            .set_delay(Duration::from_millis(50));
        Mock::given(path(format!("/v1/customers/{}", id(n))))
            .respond_with(slow)
            .mount(&app.bloc)
            .await;
    }

    let bodies: Vec<Value> = (0..1000).map(|i| lookup(i % 20)).collect();
    let replies = join_all(bodies.iter().map(|body| app.post(body, &[]))).await;

    for (i, reply) in replies.iter().enumerate() {
        assert_eq!(
            reply.json()["data"]["customer"]["id"],
            id(i as u32 % 20),
            "{}",
            reply.text
        );
    }
    let calls = app.upstream_paths().await.len();
    assert!(calls <= 20, "{calls} upstream calls");
}

#[tokio::test]
async fn the_list_refreshes_cached_records_and_no_cache_asks_bloc_again() {
    let app = spawn_app_with(|c| c.resilience = resilient()).await;
    Mock::given(path("/v1/customers"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(list_envelope(json!([customer(&id(1))]))),
        )
        .mount(&app.bloc)
        .await;
    mount_customer(&app.bloc, customer(&id(1)), 1).await;

    app.post(&json!({ "query": "{ customers { id } }" }), &[])
        .await;
    let cached = app.traced(&lookup(1)).await;
    let fresh = app
        .post(
            &lookup(1),
            &[("cache-control", "no-cache"), ("x-upstream-trace", "1")],
        )
        .await
        .json();

    assert_eq!(cached["extensions"]["upstream"]["calls"], 0);
    assert_eq!(cached["extensions"]["upstream"]["cache_hits"], 1);
    assert_eq!(fresh["extensions"]["upstream"]["calls"], 1);
    assert_eq!(fresh["data"]["customer"]["id"], id(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_never_exceeds_the_upstream_rate() {
    let app = spawn_app_with(|c| {
        c.resilience = Resilience {
            rate_per_minute: 60,
            burst: 3,
            cache_ttl: Duration::ZERO,
            ..resilient()
        };
        c.limits.request_timeout = Duration::from_millis(1_500);
    })
    .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(customer(&id(1)))))
        .mount(&app.bloc)
        .await;

    let started = Instant::now();
    let bodies: Vec<Value> = (0..12).map(lookup).collect();
    let replies = join_all(bodies.iter().map(|body| app.post(body, &[]))).await;
    let elapsed = started.elapsed();

    let calls = app.upstream_paths().await.len();
    // A burst of 3, then one a second.
    let allowed = 3 + elapsed.as_secs_f64().ceil() as usize;
    assert!(calls <= allowed, "{calls} calls in {elapsed:?}");
    let limited = replies
        .iter()
        .filter(|r| codes(&r.json()) == ["UPSTREAM_RATE_LIMITED"])
        .count();
    assert!(
        limited >= 12 - allowed,
        "the rest failed fast: {limited} rate-limited"
    );
    // An order of magnitude, not a latency budget: queueing the twelve for tokens at one a
    // second would take nine seconds.
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
}

#[tokio::test]
async fn a_429_with_retry_after_1_is_retried_after_a_second_and_succeeds() {
    let app = spawn_app_with(|c| c.resilience = resilient()).await;
    Mock::given(method("GET"))
        .respond_with(bloc_error(429, "slow down").insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&app.bloc)
        .await;
    mount_customer(&app.bloc, customer(&id(1)), 1).await;

    let started = Instant::now();
    let response = app.post(&lookup(1), &[]).await.json();

    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(response["data"]["customer"]["id"], id(1), "{response}");
    assert!(response.get("errors").is_none());
}

/// Answers 503 and 200 in turn.
struct Flapping(AtomicUsize);

impl Respond for Flapping {
    fn respond(&self, request: &MockRequest) -> ResponseTemplate {
        if self.0.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
            return bloc_error(503, "down");
        }
        let id = request.url.path().rsplit('/').next().unwrap().to_owned();
        ResponseTemplate::new(200).set_body_json(envelope(customer(&id)))
    }
}

#[tokio::test]
async fn a_flapping_upstream_yields_complete_answers() {
    let app = spawn_app_with(|c| c.resilience = resilient()).await;
    Mock::given(method("GET"))
        .respond_with(Flapping(AtomicUsize::new(0)))
        .mount(&app.bloc)
        .await;

    for n in 0..8 {
        let response = app.post(&lookup(n), &[]).await.json();
        assert!(response.get("errors").is_none(), "{response}");
        assert_eq!(response["data"]["customer"]["id"], id(n));
    }
    assert_eq!(
        app.upstream_paths().await.len(),
        16,
        "each lookup: a 503, then a retry"
    );
}

#[tokio::test]
async fn a_hanging_upstream_is_unavailable_within_the_deadline() {
    let app = spawn_app_with(|c| {
        c.resilience = resilient();
        c.limits.request_timeout = Duration::from_millis(500);
    })
    .await;
    let hang = ResponseTemplate::new(200).set_delay(Duration::from_secs(30));
    Mock::given(method("GET"))
        .respond_with(hang)
        .mount(&app.bloc)
        .await;

    let started = Instant::now();
    let reply = app.post(&lookup(1), &[]).await;

    // Upstream work stops 100 ms before the 500 ms deadline; asserted as an order of
    // magnitude against Bloc's 30 s hang, so a loaded machine cannot fail it.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(codes(&reply.json()), ["UPSTREAM_UNAVAILABLE"]);
    // The second run of the same text may take the direct executor: the same answer.
    let again = app.post(&lookup(1), &[]).await;
    assert_eq!(again.text, reply.text);
}

async fn ready(app: &TestApp) -> StatusCode {
    send(
        &app.state,
        Request::get("/readyz").body(Body::empty()).unwrap(),
    )
    .await
    .status
}

/// The circuit's state as `/status` reports it.
async fn circuit(app: &TestApp) -> String {
    let reply = send(
        &app.state,
        Request::get("/status").body(Body::empty()).unwrap(),
    )
    .await;
    reply.json()["bloc"]["circuit"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_breaker_opens_after_repeated_failures_and_closes_after_recovery() {
    let app = spawn_app_with(|c| {
        c.resilience = Resilience {
            max_retries: 0,
            breaker_threshold: 3,
            breaker_cool_down: Duration::from_millis(200),
            cache_ttl: Duration::ZERO,
            ..resilient()
        }
    })
    .await;
    Mock::given(method("GET"))
        .respond_with(bloc_error(503, "down"))
        .mount(&app.bloc)
        .await;

    for n in 0..3 {
        assert_eq!(
            codes(&app.post(&lookup(n), &[]).await.json()),
            ["UPSTREAM_UNAVAILABLE"]
        );
    }
    assert_eq!(circuit(&app).await, "open");
    // Readiness is the replica's own: a Bloc outage does not take it out of its Service.
    assert_eq!(ready(&app).await, StatusCode::OK);
    let paused = app.post(&lookup(9), &[]).await.json();
    assert_eq!(codes(&paused), ["UPSTREAM_UNAVAILABLE"]);
    assert!(
        paused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("paused")
    );
    assert_eq!(app.upstream_paths().await.len(), 3, "no call while open");

    app.bloc.reset().await;
    mount_customer(&app.bloc, customer(&id(9)), 1).await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    let recovered = app.post(&lookup(9), &[]).await.json();
    assert_eq!(recovered["data"]["customer"]["id"], id(9), "{recovered}");
    assert_eq!(circuit(&app).await, "closed");
    assert_eq!(ready(&app).await, StatusCode::OK);
}

#[tokio::test]
async fn while_the_circuit_is_open_cached_records_are_served_marked_stale() {
    let app = spawn_app_with(|c| {
        c.resilience = Resilience {
            max_retries: 0,
            breaker_threshold: 1,
            breaker_cool_down: Duration::from_secs(60),
            cache_ttl: Duration::from_millis(50),
            // No stale-while-revalidate: past its freshness the record must be fetched, so
            // the failure shows, and only the open circuit serves it stale.
            max_staleness: Duration::from_millis(50),
            ..resilient()
        }
    })
    .await;
    Mock::given(path(format!("/v1/customers/{}", id(1))))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(customer(&id(1)))))
        .up_to_n_times(1)
        .mount(&app.bloc)
        .await;
    Mock::given(method("GET"))
        .respond_with(bloc_error(500, "down"))
        .mount(&app.bloc)
        .await;

    app.post(&lookup(1), &[]).await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    let failing = app.post(&lookup(1), &[]).await.json();
    let stale = app.post(&lookup(1), &[]).await.json();

    assert_eq!(
        codes(&failing),
        ["UPSTREAM_UNAVAILABLE"],
        "the failure that opens the circuit"
    );
    assert_eq!(stale["data"]["customer"]["id"], id(1), "{stale}");
    assert_eq!(stale["extensions"]["stale"], true);
    assert!(stale.get("errors").is_none());
}

/// A TCP proxy to `target` that cuts the first connection halfway through the response
/// (an RST), and passes later ones through.
async fn resetting_proxy(target: std::net::SocketAddr) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let (mut client, _) = listener.accept().await.unwrap();
            let mut upstream = TcpStream::connect(target).await.unwrap();
            if std::mem::take(&mut first) {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    let n = client.read(&mut buf).await.unwrap();
                    upstream.write_all(&buf[..n]).await.unwrap();
                    let n = upstream.read(&mut buf).await.unwrap();
                    client.write_all(&buf[..n / 2]).await.unwrap();
                    // SO_LINGER 0 turns the close into an RST. (Deprecated in tokio because a
                    // non-zero linger blocks on drop; zero does not.)
                    #[allow(deprecated)]
                    client.set_linger(Some(Duration::ZERO)).unwrap();
                    drop(client);
                });
            } else {
                tokio::spawn(async move {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        }
    });
    addr
}

#[tokio::test]
async fn a_connection_reset_mid_response_is_retried() {
    let mut app = spawn_app_with(|c| c.resilience = resilient()).await;
    mount_customer(&app.bloc, customer(&id(1)), 2).await;
    let proxy = resetting_proxy(*app.bloc.address()).await;
    let mut config = crate::helpers::config(Url::parse(&format!("http://{proxy}/v1")).unwrap());
    config.resilience = resilient();
    app.state = bloc_graphql::state::AppState::new(config).unwrap();

    let response = app.traced(&lookup(1)).await;

    assert_eq!(response["data"]["customer"]["id"], id(1), "{response}");
    assert_eq!(response["extensions"]["upstream"]["calls"], 2);
    assert_eq!(calls_to(&app, 1).await, 2);
}

#[tokio::test]
async fn request_ids_are_echoed_generated_and_sent_upstream() {
    let app = spawn_app_with(|c| c.resilience = resilient()).await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::header("x-request-id", "checkout-42"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(customer(&id(1)))))
        .expect(1)
        .mount(&app.bloc)
        .await;

    let given = app
        .post(&lookup(1), &[("x-request-id", "checkout-42")])
        .await;
    let made = app.post(&json!({ "query": "{ __typename }" }), &[]).await;
    let forged = app
        .post(
            &json!({ "query": "{ __typename }" }),
            &[("x-request-id", "a b\tc")],
        )
        .await;

    assert_eq!(given.headers["x-request-id"], "checkout-42");
    assert_eq!(made.headers["x-request-id"].len(), 32);
    assert_ne!(forged.headers["x-request-id"], "a b\tc");
}

#[tokio::test]
async fn metrics_reflect_what_happened() {
    let app = spawn_app_with(|c| c.resilience = resilient()).await;
    mount_customer(&app.bloc, customer(&id(1)), 1).await;
    let named =
        json!({ "query": format!(r#"query Lookup {{ customer(id: "{}") {{ id }} }}"#, id(1)) });

    app.post(&named, &[]).await;
    app.post(&named, &[]).await;
    let text = metrics_text(&app.state).await;

    for line in [
        r#"graphql_requests_total{operation="Lookup",outcome="200"} 2"#,
        r#"bloc_calls_total{endpoint="GET /customers/{id}",status="200"} 1"#,
        "bloc_cache_hits_total 1",
        "bloc_cache_misses_total 1",
        "bloc_circuit_state 0",
        r#"bloc_call_duration_seconds_count{endpoint="GET /customers/{id}"} 1"#,
    ] {
        assert!(text.contains(line), "{line} missing in\n{text}");
    }
}

#[tokio::test]
async fn a_call_whose_client_went_away_still_completes_and_fills_the_cache() {
    let app = spawn_app_with(|c| c.resilience = resilient()).await;
    let slow = ResponseTemplate::new(200)
        .set_body_json(list_envelope(json!([customer(&id(1))])))
        .set_delay(Duration::from_millis(200));
    Mock::given(path("/v1/customers"))
        .respond_with(slow)
        .expect(1)
        .mount(&app.bloc)
        .await;
    let count = json!({ "query": "{ customer_count }" });

    let abandoned = tokio::time::timeout(Duration::from_millis(50), app.post(&count, &[])).await;
    assert!(abandoned.is_err(), "the first client gave up");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = app.traced(&count).await;

    assert_eq!(later["data"]["customer_count"], 1);
    // The abandoned call went on: the later request made no call of its own, whether it
    // found the list cached or (on a slow machine) still in flight; Bloc saw one call.
    assert_eq!(later["extensions"]["upstream"]["calls"], 0, "{later}");
}
