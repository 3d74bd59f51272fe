//! GraphQL over HTTP: the routes, and what each GraphQL request carries besides its
//! operations (media type, deadline, freshness bound, request id, trace wish). The request
//! pipeline itself is [`pipeline`], in the order it runs.
//!
//! Follows the GraphQL-over-HTTP spec: `application/graphql-response+json` and
//! `application/json` answers by `Accept`; requests that could not run are 4xx under the
//! former and 200 under the latter; 415 for bodies that are not JSON; GET runs queries only
//! (405 otherwise). A JSON array body is a batch, run with one shared loader.

mod negotiate;
mod params;
mod pipeline;
mod respond;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use self::{
    negotiate::{MediaType, is_json_body, negotiate},
    params::{BadParams, Body},
    respond::{failure, not_acceptable},
};
use crate::{
    auth::{Principal, Scope},
    error::code,
    graphiql::{GRAPHIQL_CSS, GRAPHIQL_JS},
    state::AppState,
    upstream::Call,
};

/// Header a client with the `upstream:trace` scope sets to `1` to get `extensions.upstream`
/// (always on in the sandbox).
pub const TRACE_HEADER: &str = "x-upstream-trace";
/// The request id header: accepted from the client when well-formed, else generated;
/// echoed in the response and sent to Bloc.
pub const REQUEST_ID: &str = "x-request-id";

/// The facade's routes; [`crate::server::app`] adds the layers.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/",
            get(|State(state): State<AppState>| async move { state.graphiql().page() }),
        )
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route(
            "/graphiql.js",
            get(|State(state): State<AppState>| async move {
                state
                    .graphiql()
                    .own(GRAPHIQL_JS, "text/javascript; charset=utf-8")
            }),
        )
        .route(
            "/graphiql.css",
            get(|State(state): State<AppState>| async move {
                state
                    .graphiql()
                    .own(GRAPHIQL_CSS, "text/css; charset=utf-8")
            }),
        )
        .route(
            "/graphiql/{file}",
            get(
                |State(state): State<AppState>, Path(file): Path<String>| async move {
                    state.graphiql().asset(&file)
                },
            ),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
}

/// Liveness: answers without touching Bloc.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: what is this replica's own. It is serving, so it started and its configuration
/// loaded; it is not ready once it is shutting down. Bloc's state is deliberately not part of
/// it: when Bloc fails, every replica fails alike, and taking them all out of the Service would
/// turn stale answers and clear errors into refused connections (see `/status`).
async fn readyz(State(state): State<AppState>) -> Response {
    if state.draining() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: shutting down\n",
        )
            .into_response()
    } else {
        "ready\n".into_response()
    }
}

/// The replica's state and what it depends on, as JSON, for people and dashboards: never a
/// probe's verdict (see `readyz`). It spends no upstream budget.
async fn status(State(state): State<AppState>) -> Response {
    let gateway = state.gateway();
    let body = serde_json::json!({
        "ready": !state.draining(),
        "shutting_down": state.draining(),
        "version": env!("CARGO_PKG_VERSION"),
        "bloc": { "circuit": gateway.circuit_state() },
        "redis": gateway.shared_state().map(|(state, live)| serde_json::json!({
            "state": state,
            "live_replicas": live,
        })),
    });
    axum::Json(body).into_response()
}

/// Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    if let Some(counts) = state
        .config()
        .auth
        .jwt
        .as_ref()
        .and_then(|j| j.jwks_counts())
    {
        state.metrics().observe_jwks(&counts);
    }
    let mut response = state.metrics().render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// `GET /graphql`: GraphiQL for browsers, else a query from the query string.
async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let offers = [MediaType::GraphqlResponse, MediaType::Json, MediaType::Html];
    let media = match negotiate(&headers, &offers) {
        Some(MediaType::Html) => return state.graphiql().page(),
        Some(media) => media,
        None => return not_acceptable(),
    };
    pipeline::serve(&state, &headers, media, || {
        let operation =
            params::from_query_string(raw.as_deref()).map_err(|BadParams(message)| {
                failure(StatusCode::BAD_REQUEST, media, code::BAD_REQUEST, &message)
            })?;
        Ok(pipeline::Request {
            operations: vec![operation],
            batch: false,
            queries_only: true,
        })
    })
    .await
}

/// `POST /graphql`: one operation, or a batch of them as a JSON array.
async fn graphql_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(media) = negotiate(&headers, &[MediaType::GraphqlResponse, MediaType::Json]) else {
        return not_acceptable();
    };
    pipeline::serve(&state, &headers, media, || {
        if !is_json_body(&headers) {
            return Err(Box::new(failure(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                code::BAD_REQUEST,
                "send the request as Content-Type: application/json",
            )));
        }
        let body = params::from_body(&body).map_err(|BadParams(message)| {
            Box::new(failure(
                StatusCode::BAD_REQUEST,
                media,
                code::BAD_REQUEST,
                &message,
            ))
        })?;
        Ok(match body {
            Body::Single(operation) => pipeline::Request {
                operations: vec![operation],
                batch: false,
                queries_only: false,
            },
            Body::Batch(operations) => pipeline::Request {
                operations,
                batch: true,
                queries_only: false,
            },
        })
    })
    .await
}

/// A deadline that never comes: about 30 years on, as tokio has it.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 86_400);

/// The request's deadline, freshness bound, caller and id, for every upstream lookup it makes.
fn call_for(state: &AppState, headers: &HeaderMap, principal: &Principal) -> Call {
    // Upstream work stops a little before the request's deadline, so the partial answer
    // (with its UPSTREAM_UNAVAILABLE errors) still reaches the client in time.
    let budget = state.config().limits.request_timeout;
    let margin = budget
        .checked_div(5)
        .unwrap_or_default()
        .min(Duration::from_millis(250));
    let now = tokio::time::Instant::now();
    // Capped: the flag takes any number of milliseconds, more than an instant can be ahead.
    let deadline = now
        .checked_add(budget.saturating_sub(margin).min(FAR_FUTURE))
        .unwrap_or(now);
    Call {
        deadline,
        max_age: max_age(headers),
        client: Arc::from(principal.id.as_str()),
        request_id: headers.get(REQUEST_ID).cloned(),
        stats: Arc::default(),
    }
}

/// The client's bound on the age of its answers: the smallest `max-age=N` (seconds) in
/// `Cache-Control`; `no-cache` there or in `Pragma` is zero. Other directives, and values
/// that are not whole seconds, are ignored (RFC 9111 asks caches to ignore what they do not
/// understand).
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    if !headers.contains_key(header::CACHE_CONTROL) && !headers.contains_key(header::PRAGMA) {
        return None;
    }
    let directives = |name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|d| d.trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    let pragma_no_cache = directives(header::PRAGMA).iter().any(|d| d == "no-cache");
    directives(header::CACHE_CONTROL)
        .iter()
        .filter_map(|d| match d.split_once('=') {
            None if d == "no-cache" => Some(Duration::ZERO),
            Some((name, seconds)) if name.trim() == "max-age" => seconds
                .trim()
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs),
            _ => None,
        })
        .chain(pragma_no_cache.then_some(Duration::ZERO))
        .min()
}

/// Whether to add `extensions.upstream`: always in the sandbox; elsewhere on request, and only
/// to callers with `upstream:trace`, since its cache counts tell one client what others
/// looked up.
fn wants_trace(state: &AppState, headers: &HeaderMap, principal: &Principal) -> bool {
    state.config().sandbox
        || (principal.scopes.contains(Scope::Trace)
            && headers
                .get(TRACE_HEADER)
                .is_some_and(|v| v.as_bytes() == b"1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(values: &[(&'static str, &'static str)]) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        for (name, value) in values {
            headers.append(*name, HeaderValue::from_static(value));
        }
        max_age(&headers)
    }

    #[test]
    fn a_clients_freshness_bound_is_the_smallest_it_states_and_nothing_else() {
        assert_eq!(bound(&[]), None);
        assert_eq!(
            bound(&[("cache-control", "max-age=10")]),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            bound(&[("cache-control", "Public, MAX-AGE = \"7\"")]),
            Some(Duration::from_secs(7)),
            "case, spaces and quotes"
        );
        assert_eq!(
            bound(&[
                ("cache-control", "max-age=10"),
                ("cache-control", "max-age=3")
            ]),
            Some(Duration::from_secs(3)),
            "the smallest of several"
        );
        assert_eq!(
            bound(&[("cache-control", "no-cache")]),
            Some(Duration::ZERO)
        );
        assert_eq!(bound(&[("pragma", "no-cache")]), Some(Duration::ZERO));
        assert_eq!(
            bound(&[("cache-control", "max-age=18446744073709551615")]),
            Some(Duration::from_secs(u64::MAX)),
            "the largest number is read, then capped by the service's bound"
        );
        for ignored in [
            "max-age=-1",
            "max-age=1.5",
            "max-age=99999999999999999999999",
            "max-age",
            "s-maxage=0",
            "no-store",
            "max-stale=0",
        ] {
            assert_eq!(bound(&[("cache-control", ignored)]), None, "{ignored}");
        }
    }
}
