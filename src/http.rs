//! GraphQL over HTTP: routes, content negotiation, status codes and batching.
//!
//! Follows the GraphQL-over-HTTP spec: `application/graphql-response+json` and
//! `application/json` answers by `Accept`; requests that could not run are 4xx under the
//! former and 200 under the latter; 415 for bodies that are not JSON; GET runs queries only
//! (405 otherwise). A JSON array body is a batch, run with one shared loader.

pub mod graphiql;
mod negotiate;
mod params;
mod respond;

use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use futures::future::join_all;

use self::{
    graphiql::{GRAPHIQL_CSS, GRAPHIQL_JS, asset, graphiql},
    negotiate::{MediaType, is_json_body, negotiate},
    params::{BadParams, Body, Incoming},
    respond::{answer, failure, json, not_acceptable, rate_limited, timed_out, unauthenticated},
};
use crate::{
    auth::{Principal, Scope},
    error::code,
    graphql::{self, Checked, Operation, Upstream},
    server::AppState,
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
        .route("/", get(graphiql))
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
        .route("/graphiql/{file}", get(asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Liveness: answers without touching Bloc.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: configuration loaded (it is, or the process would not be serving) and the
/// circuit to Bloc closed. It spends no upstream budget.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.gateway().circuit_open() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: Bloc is failing, calls are paused\n",
        )
            .into_response()
    } else {
        "ready\n".into_response()
    }
}

/// Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = state.metrics().render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

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
    let principal = match state.config().auth.authenticate(&headers) {
        Ok(principal) => principal,
        Err(error) => return unauthenticated(media, error),
    };
    let operation = match params::from_query_string(raw.as_deref()) {
        Ok(operation) => operation,
        Err(BadParams(message)) => {
            return failure(StatusCode::BAD_REQUEST, media, code::BAD_REQUEST, &message);
        }
    };
    if let Err(wait) = state.rate_limits().check(&principal, 1) {
        return rate_limited(media, wait);
    }
    run_single(&state, &headers, &principal, media, operation, true).await
}

async fn graphql_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(media) = negotiate(&headers, &[MediaType::GraphqlResponse, MediaType::Json]) else {
        return not_acceptable();
    };
    let principal = match state.config().auth.authenticate(&headers) {
        Ok(principal) => principal,
        Err(error) => return unauthenticated(media, error),
    };
    if !is_json_body(&headers) {
        return failure(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            code::BAD_REQUEST,
            "send the request as Content-Type: application/json",
        );
    }
    let body = match params::from_body(&body) {
        Ok(body) => body,
        Err(BadParams(message)) => {
            return failure(StatusCode::BAD_REQUEST, media, code::BAD_REQUEST, &message);
        }
    };
    let operations = match &body {
        Body::Single(_) => 1,
        Body::Batch(operations) => operations.len(),
    };
    if let Err(wait) = state.rate_limits().check(&principal, operations) {
        return rate_limited(media, wait);
    }
    match body {
        Body::Single(operation) => {
            run_single(&state, &headers, &principal, media, operation, false).await
        }
        Body::Batch(operations) => run_batch(&state, &headers, &principal, media, operations).await,
    }
}

async fn run_single(
    state: &AppState,
    headers: &HeaderMap,
    principal: &Principal,
    media: MediaType,
    incoming: Incoming,
    queries_only: bool,
) -> Response {
    let started = Instant::now();
    let given_name = incoming.operation_name.clone();
    let checked = check(state, incoming, queries_only);
    if let Checked::Ready(prepared) = &checked {
        let calls = prepared.upstream_calls();
        if let Err(wait) = state.rate_limits().charge_calls(principal, 1, calls) {
            return rate_limited(media, wait);
        }
    }
    let names = [name_of(&checked).or(given_name)];
    let upstream = Arc::new(state.upstream(call_for(state, headers, principal)));
    let response = single(state, headers, principal, media, checked, &upstream).await;
    log_request(state, principal, &names, &response, &upstream, started);
    response
}

/// The name of the operation that will run, as written in the document.
fn name_of(checked: &Checked) -> Option<String> {
    match checked {
        Checked::Ready(prepared) => prepared.operation_name(),
        _ => None,
    }
}

async fn single(
    state: &AppState,
    headers: &HeaderMap,
    principal: &Principal,
    media: MediaType,
    checked: Checked,
    upstream: &Arc<Upstream>,
) -> Response {
    let limits = &state.config().limits;
    let prepared = match checked {
        Checked::Ready(prepared) => prepared,
        Checked::Rejected(response) => return answer(media, &response),
        Checked::NotAQuery => {
            let mut response = failure(
                StatusCode::METHOD_NOT_ALLOWED,
                media,
                code::BAD_REQUEST,
                "GET runs queries only; send mutations with POST",
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
    };
    let run = graphql::run(state.schema(), upstream, principal, *prepared);
    let Ok(mut response) = tokio::time::timeout(limits.request_timeout, run).await else {
        return timed_out(media);
    };
    count_execution(state, &response);
    if upstream.stats().stale() {
        response.mark_stale(upstream.stats().oldest());
    }
    if wants_trace(state, headers, principal) {
        response.add_upstream_trace(upstream.stats());
    }
    answer(media, &response)
}

/// Resolves persisted queries, then checks the operation against every limit. A new APQ
/// entry is remembered only once its query passed those checks.
fn check(state: &AppState, incoming: Incoming, queries_only: bool) -> Checked {
    let resolved = match state
        .persisted()
        .resolve(incoming.query, incoming.persisted.as_ref())
    {
        Ok(resolved) => resolved,
        Err(refused) => {
            let response = graphql::rejection(refused.code, refused.message.to_owned());
            return Checked::Rejected(Box::new(response));
        }
    };
    let operation = Operation {
        query: resolved.query,
        operation_name: incoming.operation_name,
        variables: incoming.variables,
    };
    let query_for_apq = resolved.register.as_ref().map(|_| operation.query.clone());
    let checked = graphql::prepare(operation, state.policy(), queries_only);
    if let (Checked::Ready(_), Some(hash), Some(query)) =
        (&checked, resolved.register, query_for_apq)
    {
        state.persisted().register(hash, query);
    }
    checked
}

async fn run_batch(
    state: &AppState,
    headers: &HeaderMap,
    principal: &Principal,
    media: MediaType,
    operations: Vec<Incoming>,
) -> Response {
    let started = Instant::now();
    let max = state.config().limits.max_batch;
    if operations.len() > max {
        let message = format!(
            "a batch may hold at most {max} operations; this one holds {}",
            operations.len()
        );
        return failure(
            StatusCode::BAD_REQUEST,
            media,
            code::BATCH_TOO_LARGE,
            &message,
        );
    }
    let mut names = Vec::with_capacity(operations.len());
    let checked: Vec<Checked> = operations
        .into_iter()
        .map(|incoming| {
            let given_name = incoming.operation_name.clone();
            let checked = check(state, incoming, false);
            names.push(name_of(&checked).or(given_name));
            checked
        })
        .collect();
    // One loader for the whole batch: an id named by several operations is fetched once.
    let upstream = Arc::new(state.upstream(call_for(state, headers, principal)));
    let response = batch(state, headers, principal, media, checked, &upstream).await;
    log_request(state, principal, &names, &response, &upstream, started);
    response
}

async fn batch(
    state: &AppState,
    headers: &HeaderMap,
    principal: &Principal,
    media: MediaType,
    checked: Vec<Checked>,
    upstream: &Arc<Upstream>,
) -> Response {
    let limits = &state.config().limits;
    // Every id is an upstream call, so the id limit covers the whole batch, checked before
    // any operation runs.
    let ids: HashSet<&String> = checked
        .iter()
        .filter_map(|c| match c {
            Checked::Ready(prepared) => Some(prepared.customer_ids()),
            _ => None,
        })
        .flatten()
        .collect();
    if ids.len() > limits.operation.max_customer_ids {
        let message = format!(
            "the batch names {} distinct customer ids; the limit is {}",
            ids.len(),
            limits.operation.max_customer_ids
        );
        return answer(
            media,
            &graphql::rejection(code::TOO_MANY_CUSTOMER_IDS, message),
        );
    }
    // The rate limit counts Bloc calls: the batch's distinct ids, and its one list call.
    let lists = checked
        .iter()
        .any(|c| matches!(c, Checked::Ready(prepared) if prepared.reads_list()));
    let calls = ids.len().saturating_add(usize::from(lists));
    if let Err(wait) = state
        .rate_limits()
        .charge_calls(principal, checked.len(), calls)
    {
        return rate_limited(media, wait);
    }
    let runs = checked.into_iter().map(|checked| {
        async move {
            match checked {
                Checked::Ready(prepared) => {
                    let response =
                        graphql::run(state.schema(), upstream, principal, *prepared).await;
                    count_execution(state, &response);
                    Some(response)
                }
                Checked::Rejected(response) => Some(*response),
                // POST allows every operation type.
                Checked::NotAQuery => None,
            }
        }
    });
    let Ok(responses) = tokio::time::timeout(limits.request_timeout, join_all(runs)).await else {
        return timed_out(media);
    };
    let trace = wants_trace(state, headers, principal);
    let responses: Vec<graphql::Response> = responses
        .into_iter()
        .flatten()
        .map(|mut response| {
            if upstream.stats().stale() {
                response.mark_stale(upstream.stats().oldest());
            }
            if trace {
                response.add_upstream_trace(upstream.stats());
            }
            response
        })
        .collect();
    json(StatusCode::OK, media, &responses)
}

fn count_execution(state: &AppState, response: &graphql::Response) {
    let metrics = state.metrics();
    if response.ran_directly() {
        metrics.executed_directly.inc();
    } else {
        metrics.executed_by_async_graphql.inc();
    }
}

/// One log line per GraphQL request: who, which operations, outcome, upstream calls and
/// duration. Never variables, query text or results (they carry PII).
fn log_request(
    state: &AppState,
    principal: &Principal,
    names: &[Option<String>],
    response: &Response,
    upstream: &Upstream,
    started: Instant,
) {
    let status = response.status().as_u16().to_string();
    let metrics = state.metrics();
    for name in names {
        let operation = metrics.operation_label(name.as_deref());
        metrics
            .requests
            .with_label_values(&[operation.as_str(), status.as_str()])
            .inc();
    }
    metrics
        .request_seconds
        .with_label_values(&[status.as_str()])
        .observe(started.elapsed().as_secs_f64());
    let names: Vec<&str> = names
        .iter()
        .map(|n| {
            n.as_deref()
                .map_or("-", |n| &n[..n.floor_char_boundary(64)])
        })
        .collect();
    tracing::info!(
        client = %principal.id,
        operations = ?names,
        status = response.status().as_u16(),
        upstream_calls = upstream.stats().calls(),
        duration_ms = started.elapsed().as_millis() as u64,
        "graphql request"
    );
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
