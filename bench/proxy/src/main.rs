//! The `proxy` baseline of the benchmark: a bare axum + reqwest handler that makes the same
//! upstream call as the facade and returns the same three fields, with none of the GraphQL
//! layer. `GET /customer/{id}` → `GET {BLOC_API_URL}/customers/{id}` → `{name, kyc_tier, status,
//! updated_at}`; `updated_at` is passed through as Bloc sent it, so bench/economy can tell how
//! old the proxy's answers are. One Bloc call per request: no cache, no budget.
//!
//! Usage: `bench-proxy LISTEN_ADDR BLOC_API_URL` (the key is a fixed sandbox key).

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::get,
};
use serde_json::{Value, json};

#[derive(Clone)]
struct Upstream {
    http: reqwest::Client,
    base: String,
}

async fn customer(
    State(upstream): State<Upstream>,
    Path(id): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    let body: Value = upstream
        .http
        .get(format!("{}/customers/{id}", upstream.base))
        .bearer_auth("sk_test_bench")
        .send()
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?
        .json()
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?;
    let data = &body["data"];
    let first = data["first_name"].as_str().unwrap_or("").trim();
    let last = data["last_name"].as_str().unwrap_or("").trim();
    Ok(Json(json!({
        "name": format!("{first} {last}"),
        "kyc_tier": data["kyc_tier"].as_str().and_then(|t| t.parse::<i32>().ok()),
        "status": data["status"],
        "updated_at": data["updated_at"].as_str(),
    })))
}

/// The same allocator as the facade, so the baseline is not slower for a reason the facade
/// has already tuned away.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let listen = args
        .next()
        .expect("usage: bench-proxy LISTEN_ADDR BLOC_API_URL");
    let base = args
        .next()
        .expect("usage: bench-proxy LISTEN_ADDR BLOC_API_URL");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let app = Router::new()
        .route("/customer/{id}", get(customer))
        .with_state(Upstream { http, base });
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
