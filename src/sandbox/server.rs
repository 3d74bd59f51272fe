//! The sandbox's HTTP side: the router, Bloc's envelope and headers, the bearer check and
//! the customer endpoints (`GET /v1/customers`, `GET /v1/customers/{id}`); the endpoints of a
//! customer's related records are in `related`.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;
use tokio::{net::TcpListener, task::JoinHandle};
use url::Url;

use super::{
    data::{self, CUSTOMER_COUNT},
    ids, related,
    rendered::Rendered,
};

/// How a sandbox behaves; the default is the facade's own `--sandbox`: 60 customers, no added
/// latency, records that never change.
#[derive(Debug, Clone, Copy)]
pub struct SandboxOptions {
    /// Hold back every answer this long, to stand in for a distant Bloc in benchmarks.
    pub latency: Duration,
    /// How many customers to serve (the first [`CUSTOMER_COUNT`] are always the same ones).
    pub customers: usize,
    /// Every record changes continuously: its `updated_at` is the moment it is served, so a
    /// client of the facade can tell exactly how old the data it got is.
    pub live_updates: bool,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            customers: CUSTOMER_COUNT,
            live_updates: false,
        }
    }
}

/// The sandbox routes, Bloc's base path `/v1` included, each answer held back by `latency`
/// (zero normally; more to stand in for a distant Bloc in benchmarks).
pub fn router_with_latency(latency: Duration) -> Router {
    router_with(SandboxOptions {
        latency,
        ..SandboxOptions::default()
    })
}

/// The sandbox routes, Bloc's base path `/v1` included, as `options` say. Generates and
/// serialises the customers, so build it once per sandbox.
pub fn router_with(options: SandboxOptions) -> Router {
    let latency = options.latency;
    let delay = move |request: Request, next: Next| async move {
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        next.run(request).await
    };
    let rendered = if options.customers <= CUSTOMER_COUNT {
        let all = data::customers();
        Rendered::new(
            all.get(..options.customers).unwrap_or(all),
            options.live_updates,
        )
    } else {
        Rendered::new(&data::generate(options.customers), options.live_updates)
    };
    let state = Arc::new(Served {
        rendered,
        live: options.live_updates,
    });
    Router::new()
        .route("/v1/customers", get(list))
        .route("/v1/customers/{id}", get(one))
        .route(
            "/v1/accounts/customers/accounts/{id}",
            get(related::accounts_of),
        )
        .route("/v1/accounts/{id}", get(related::account))
        .route(
            "/v1/accounts/number/{number}",
            get(related::account_by_number),
        )
        .route("/v1/cards/customer/{id}", get(related::cards_of))
        .route("/v1/wallets/customers/{id}", get(related::wallets_of))
        .route("/v1/transactions", get(related::transactions))
        .route(
            "/v1/transactions/reference/{reference}",
            get(related::transaction),
        )
        .fallback(|| async { failure(StatusCode::NOT_FOUND, "route not found") })
        .with_state(state)
        .layer(middleware::from_fn(bloc_headers))
        .layer(middleware::from_fn(require_bearer))
        .layer(middleware::from_fn(delay))
}

/// The router's state: the answers, and whether to stamp them with the time of serving.
pub(super) struct Served {
    pub(super) rendered: Rendered,
    live: bool,
}

impl Served {
    /// What `updated_at` says in an answer served now (empty when records do not change).
    pub(super) fn now(&self) -> String {
        if self.live {
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        } else {
            String::new()
        }
    }
}

/// A sandbox serving in the background.
pub struct RunningSandbox {
    /// Base URL to give the facade, e.g. `http://127.0.0.1:40123/v1`.
    pub base_url: Url,
    /// Where it listens.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves the sandbox on `listener` in a background task.
pub fn start(listener: TcpListener) -> std::io::Result<RunningSandbox> {
    start_with_latency(listener, Duration::ZERO)
}

/// Serves the sandbox with every answer held back by `latency`.
pub fn start_with_latency(
    listener: TcpListener,
    latency: Duration,
) -> std::io::Result<RunningSandbox> {
    start_with(
        listener,
        SandboxOptions {
            latency,
            ..SandboxOptions::default()
        },
    )
}

/// Serves the sandbox as `options` say; the customers are ready before this returns.
pub fn start_with(
    listener: TcpListener,
    options: SandboxOptions,
) -> std::io::Result<RunningSandbox> {
    let addr = listener.local_addr()?;
    let base_url = Url::parse(&format!("http://{addr}/v1")).map_err(std::io::Error::other)?;
    let router = router_with(options);
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "sandbox server stopped");
        }
    });
    Ok(RunningSandbox {
        base_url,
        addr,
        task,
    })
}

async fn list(State(served): State<Arc<Served>>) -> Response {
    match served.rendered.list(&served.now()) {
        Some(body) => json_body(body),
        None => failure(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

async fn one(State(served): State<Arc<Served>>, Path(id): Path<String>) -> Response {
    // Bloc ids are Mongo ObjectIds; anything else is a malformed request there too.
    if !ids::well_formed(&id) {
        return failure(StatusCode::BAD_REQUEST, "invalid customer id");
    }
    match served.rendered.one(&id, &served.now()) {
        Some(body) => json_body(body),
        None => failure(StatusCode::NOT_FOUND, "customer not found"),
    }
}

/// A 200 with pre-serialised JSON, headed as axum's `Json` heads it.
pub(super) fn json_body(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Bloc's error envelope.
pub(super) fn failure(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "success": false, "message": message })),
    )
        .into_response()
}

async fn require_bearer(request: Request, next: Next) -> Response {
    let authorised = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|key| !key.trim().is_empty());
    if authorised {
        next.run(request).await
    } else {
        failure(StatusCode::UNAUTHORIZED, "unauthorized")
    }
}

/// The response headers Bloc was seen to send.
async fn bloc_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        "content-resource",
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("vary", HeaderValue::from_static("Origin"));
    response
}
