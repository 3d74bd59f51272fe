//! The sandbox's HTTP side: `GET /v1/customers` and `GET /v1/customers/{id}`.

use std::{net::SocketAddr, time::Duration};

use axum::{
    Json, Router,
    extract::{Path, Request},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;
use tokio::{net::TcpListener, task::JoinHandle};
use url::Url;

use super::data;

/// The sandbox routes, Bloc's base path `/v1` included, each answer held back by `latency`
/// (zero normally; more to stand in for a distant Bloc in benchmarks).
pub fn router_with_latency(latency: Duration) -> Router {
    let delay = move |request: Request, next: Next| async move {
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        next.run(request).await
    };
    Router::new()
        .route("/v1/customers", get(list))
        .route("/v1/customers/{id}", get(one))
        .fallback(|| async { failure(StatusCode::NOT_FOUND, "route not found") })
        .layer(middleware::from_fn(bloc_headers))
        .layer(middleware::from_fn(require_bearer))
        .layer(middleware::from_fn(delay))
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
    let addr = listener.local_addr()?;
    let base_url = Url::parse(&format!("http://{addr}/v1")).map_err(std::io::Error::other)?;
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router_with_latency(latency)).await {
            tracing::error!(%error, "sandbox server stopped");
        }
    });
    Ok(RunningSandbox {
        base_url,
        addr,
        task,
    })
}

async fn list() -> Response {
    Json(json!({
        "success": true,
        "data": data::customers(),
        "message": "get customers",
        "metadata": { "has_next": false, "has_previous": false },
    }))
    .into_response()
}

async fn one(Path(id): Path<String>) -> Response {
    // Bloc ids are Mongo ObjectIds; anything else is a malformed request there too.
    if id.len() != 24 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return failure(StatusCode::BAD_REQUEST, "invalid customer id");
    }
    match data::customers().iter().find(|c| c["id"] == id.as_str()) {
        Some(customer) => Json(json!({
            "success": true,
            "data": customer,
            "message": "customer",
        }))
        .into_response(),
        None => failure(StatusCode::NOT_FOUND, "customer not found"),
    }
}

/// Bloc's error envelope.
fn failure(status: StatusCode, message: &str) -> Response {
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
