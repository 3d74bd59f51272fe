//! `spawn_app()` and request helpers: the app runs in-process against a wiremock Bloc.

use std::{future::Future, time::Duration};

use axum::{
    body::Body,
    http::{HeaderMap, Request, StatusCode},
};
use bloc_graphql::{
    auth::{AnonymousAccess, AuthConfig, Scopes},
    config::{BlocConfig, Config, Exposure, Limits, Resilience},
    {server::app, state::AppState},
};
use http_body_util::BodyExt;
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt;
use url::Url;
use wiremock::MockServer;

/// The key tests configure; tests assert it never leaks.
pub const TEST_KEY: &str = "sk_test_0123456789abcdef0123456789abcdef0123456789abcdef";

pub struct TestApp {
    pub state: AppState,
    pub bloc: MockServer,
}

/// A test configuration pointing at `api_url`.
pub fn config(api_url: Url) -> Config {
    Config {
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        bloc: BlocConfig {
            concurrency: 16,
            ..BlocConfig::new(api_url, SecretString::from(TEST_KEY))
        },
        limits: Limits::default(),
        // Most tests are about data, not access: anonymous callers see everything.
        auth: AuthConfig {
            anonymous: Some(AnonymousAccess {
                scopes: Scopes::all(),
                rate: None,
            }),
            ..AuthConfig::default()
        },
        exposure: Exposure::default(),
        persisted: Default::default(),
        // Production settings: the shared cache, retries, pacing and the breaker as shipped.
        // Tests about something else that these would blur turn them off with `plain()`.
        resilience: Resilience::default(),
        shared: Default::default(),
        sandbox: false,
    }
}

/// Resilience with nothing cached, retried, paced or cut off: every lookup reaches the mock
/// once, for tests that count Bloc calls per request or inject failures.
pub fn plain() -> Resilience {
    Resilience {
        rate_per_minute: 0,
        cache_ttl: Duration::ZERO,
        max_retries: 0,
        breaker_threshold: 1_000,
        ..Resilience::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let bloc = MockServer::start().await;
    let mut config = config(Url::parse(&format!("{}/v1", bloc.uri())).unwrap());
    config.bloc.call_timeout = Duration::from_secs(2);
    adjust(&mut config);
    TestApp {
        state: AppState::new(config).expect("state builds"),
        bloc,
    }
}

/// A response as tests look at it.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

pub async fn send(state: &AppState, request: Request<Body>) -> Reply {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        text: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

impl TestApp {
    /// POSTs a JSON body to /graphql with the given extra headers.
    pub async fn post(&self, body: &Value, headers: &[(&str, &str)]) -> Reply {
        let mut request = Request::post("/graphql").header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        send(
            &self.state,
            request.body(Body::from(body.to_string())).unwrap(),
        )
        .await
    }

    /// Runs a query and returns the response JSON (asserting HTTP 200).
    pub async fn query(&self, query: &str) -> Value {
        self.query_with(query, json!({})).await
    }

    pub async fn query_with(&self, query: &str, variables: Value) -> Value {
        let reply = self
            .post(&json!({ "query": query, "variables": variables }), &[])
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.json()
    }

    /// Runs a query twice and returns the response JSON, asserting HTTP 200 and the same
    /// bytes both times: from its second run a query of the common shape may take the direct
    /// executor, which must answer exactly as async-graphql did.
    pub async fn query_twice(&self, query: &str) -> Value {
        let body = json!({ "query": query });
        let first = self.post(&body, &[]).await;
        let second = self.post(&body, &[]).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.text);
        assert_eq!(first.text, second.text, "the second run answered otherwise");
        first.json()
    }

    /// Runs a query with `X-Upstream-Trace: 1`.
    pub async fn traced(&self, body: &Value) -> Value {
        let reply = self.post(body, &[("x-upstream-trace", "1")]).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.json()
    }

    /// Paths of every request Bloc received, as sent (still percent-encoded).
    pub async fn upstream_paths(&self) -> Vec<String> {
        self.bloc
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| r.url.path().to_owned())
            .collect()
    }
}

/// The error codes in a response, in order.
pub fn codes(response: &Value) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    e["extensions"]["code"]
                        .as_str()
                        .unwrap_or("<none>")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A clients-file entry for `key`, as `bloc-graphql client add` would write it.
pub fn client_entry(
    id: &str,
    key: &str,
    scopes: Scopes,
    rate_per_minute: Option<u32>,
) -> bloc_graphql::auth::ClientEntry {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    let key_sha256: [u8; 32] = digest.as_ref().try_into().unwrap();
    bloc_graphql::auth::ClientEntry {
        id: id.into(),
        key_sha256,
        scopes,
        rate: rate_per_minute.and_then(std::num::NonZeroU32::new),
    }
}

/// `der` as a PEM block with this label (`PUBLIC KEY`, `PRIVATE KEY`).
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::{Engine, engine::general_purpose::STANDARD};
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The `/metrics` page.
pub async fn metrics_text(state: &AppState) -> String {
    send(state, Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .text
}

/// The value of one `/metrics` line, by its name and labels.
pub async fn metric(state: &AppState, line: &str) -> Option<f64> {
    metrics_text(state)
        .await
        .lines()
        .find_map(|l| l.strip_prefix(line)?.trim().parse().ok())
}

/// Polls `done` until it holds: waits for an event, not for a guessed duration. The bound
/// only keeps a broken build from hanging the suite.
pub async fn wait_until<F: Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
    let give_up = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(
            tokio::time::Instant::now() < give_up,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A loopback port nothing listens on (bound, then let go): for a server a test starts, or
/// for an address that refuses connections.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
