//! The router with its layers, and the serve loop with graceful shutdown.

mod connections;

use std::{future::Future, time::Duration};

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
};
use tokio::net::TcpListener;
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{auth::random_hex, http, state::AppState};

/// The whole HTTP application. No I/O: tests drive it with `tower::ServiceExt::oneshot`.
pub fn app(state: AppState) -> Router {
    let limits = &state.config().limits;
    // The handler answers slow executions itself with a GraphQL error; this outer bound
    // (a little longer) catches what the handler cannot, such as a body trickling in.
    let outer = limits
        .request_timeout
        .saturating_add(Duration::from_secs(1));
    let cors = cors(&state.config().exposure.cors_origins);
    http::routes()
        .layer(DefaultBodyLimit::max(limits.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            outer,
        ))
        .layer(cors)
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(axum::middleware::from_fn(request_id))
        .with_state(state)
}

/// Accepts the client's `X-Request-Id` when it is short and plain (so it cannot forge log
/// lines), otherwise makes one; the id is echoed in the response and sent to Bloc.
async fn request_id(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let given = request.headers().get(http::REQUEST_ID).filter(|v| {
        let bytes = v.as_bytes();
        (1..=64).contains(&bytes.len())
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    });
    let id = match given {
        Some(id) => id.clone(),
        #[allow(
            clippy::expect_used,
            reason = "hex digits are always a valid header value"
        )]
        None => HeaderValue::from_str(&random_hex(16)).expect("hex is a valid header value"),
    };
    request.headers_mut().insert(http::REQUEST_ID, id.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(http::REQUEST_ID, id);
    response
}

/// CORS for the configured browser origins only. With none, no CORS headers are sent and
/// browsers keep other sites from reading responses. Credentials travel in `Authorization`
/// (never cookies), so `Allow-Credentials` stays off.
fn cors(origins: &[HeaderValue]) -> CorsLayer {
    if origins.is_empty() {
        return CorsLayer::new();
    }
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static(http::TRACE_HEADER),
        ])
        .max_age(Duration::from_secs(600))
}

/// The span for one HTTP request: method and path only. The query string is left out on
/// purpose: a GET carries the GraphQL document, with customer ids and search text in it.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get(http::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", id, method = %request.method(), path = request.uri().path())
}

/// Serves until SIGINT or SIGTERM, then stops accepting and lets in-flight requests finish
/// for up to the grace period (the request deadline plus a second: no request runs longer).
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    serve_until(listener, state, shutdown_signal()).await
}

/// [`serve`], stopping when `signal` resolves instead of on a signal (for tests).
pub async fn serve_until(
    listener: TcpListener,
    state: AppState,
    signal: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let grace = state
        .config()
        .limits
        .request_timeout
        .saturating_add(Duration::from_secs(1));
    let limits = state.config().limits.connections.clone();
    // Full buckets of JWT subjects carry no information; drop them now and then.
    let janitor = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                state.rate_limits().forget_idle();
            }
        })
    };
    connections::serve(listener, app(state), &limits, signal, grace).await;
    janitor.abort();
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
