//! The router with its layers, and the serve loop with graceful shutdown.

mod connections;

use std::{future::Future, time::Duration};

use std::{
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
};

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use tokio::net::TcpListener;
use tower::{Layer, Service};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

use crate::{auth::random_hex, http, state::AppState};

/// The whole HTTP application. No I/O: tests drive it with `tower::ServiceExt::oneshot`.
pub fn app(state: AppState) -> Router {
    let limits = &state.config().limits;
    // The handler answers slow executions itself with a GraphQL error; this outer bound
    // (a little longer) catches what the handler cannot, such as a body trickling in.
    let outer = limits
        .request_timeout
        .saturating_add(Duration::from_secs(1));
    let origins = &state.config().exposure.cors_origins;
    let mut router = http::routes().layer(DefaultBodyLimit::max(limits.body_limit));
    // Without origins no CORS header is ever sent, so the layer is left out altogether.
    if !origins.is_empty() {
        router = router.layer(cors(origins));
    }
    router.layer(RequestLayer { outer }).with_state(state)
}

/// What every request gets, in one layer (one boxed future per request instead of a stack
/// of them): its id, its `request` span, and the outer time bound.
#[derive(Clone, Copy)]
struct RequestLayer {
    outer: Duration,
}

impl<S> Layer<S> for RequestLayer {
    type Service = Requests<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Requests {
            inner,
            outer: self.outer,
        }
    }
}

/// The service [`RequestLayer`] wraps around the routes.
#[derive(Clone)]
struct Requests<S> {
    inner: S,
    outer: Duration,
}

impl<S> Service<Request> for Requests<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let id = request_id(&request);
        request.headers_mut().insert(http::REQUEST_ID, id.clone());
        // The method and path only. The query string is left out on purpose: a GET carries
        // the GraphQL document, with customer ids and search text in it.
        let span = tracing::info_span!(
            "request",
            id = id.to_str().unwrap_or("-"),
            method = %request.method(),
            path = request.uri().path(),
        );
        let answer = self.inner.call(request);
        let outer = self.outer;
        Box::pin(
            async move {
                let mut response = match tokio::time::timeout(outer, answer).await {
                    Ok(Ok(response)) => response,
                    Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
                };
                response.headers_mut().insert(http::REQUEST_ID, id);
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// The client's `X-Request-Id` when it is short and plain (so it cannot forge log lines),
/// otherwise a new one; the id is echoed in the response and sent to Bloc.
fn request_id(request: &Request) -> HeaderValue {
    let given = request.headers().get(http::REQUEST_ID).filter(|v| {
        let bytes = v.as_bytes();
        (1..=64).contains(&bytes.len())
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    });
    match given {
        Some(id) => id.clone(),
        #[allow(
            clippy::expect_used,
            reason = "hex digits are always a valid header value"
        )]
        None => HeaderValue::from_str(&random_hex(16)).expect("hex is a valid header value"),
    }
}

/// CORS for the configured browser origins only. With none, no CORS headers are sent and
/// browsers keep other sites from reading responses. Credentials travel in `Authorization`
/// (never cookies), so `Allow-Credentials` stays off.
fn cors(origins: &[HeaderValue]) -> CorsLayer {
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
    let signal = {
        let state = state.clone();
        async move {
            signal.await;
            state.begin_draining();
        }
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
