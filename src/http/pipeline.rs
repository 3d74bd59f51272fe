//! The GraphQL request pipeline, in the order every request meets it:
//!
//! 1. **identify** the client (API key, JWT or anonymous);
//! 2. **rate-limit**: one token per operation, a batch over `--max-batch-operations` refused
//!    before it costs any;
//! 3. **resolve** persisted queries (APQ or trusted documents);
//! 4. **check** every operation's limits, then the request's as a whole (its distinct
//!    customer ids), and charge the Bloc calls it may make to the client's rate limit;
//! 5. **execute** the operations with one per-request loader (the plan is compiled once per
//!    cached document, inside [`graphql::prepare`] and [`graphql::run`]);
//! 6. **respond** (staleness and trace extensions, status by media type) and **log** one line.
//!
//! A single request is a batch of one; only the shape of the answer differs.

use std::{sync::Arc, time::Instant};

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};
use futures::future::join_all;

use super::{
    call_for,
    negotiate::MediaType,
    params::Incoming,
    respond::{answer, answers, failure, rate_limited, timed_out, unauthenticated},
    wants_trace,
};
use crate::{
    auth::Principal,
    error::code,
    graphql::{self, Checked, Operation, Upstream},
    state::AppState,
};

/// The operations of one GraphQL request, as read from its body or query string.
pub(super) struct Request {
    /// One operation, or a batch's operations in order.
    pub operations: Vec<Incoming>,
    /// A JSON array body: answered with an array, even of one.
    pub batch: bool,
    /// A GET: only queries may run.
    pub queries_only: bool,
}

/// Runs one GraphQL request through the pipeline. `read` gives the request's operations, or
/// the response that refuses them; it is called once the client is identified, so an
/// unauthenticated client learns nothing about its request.
pub(super) async fn serve(
    state: &AppState,
    headers: &HeaderMap,
    media: MediaType,
    read: impl FnOnce() -> Result<Request, Box<Response>>,
) -> Response {
    let started = Instant::now();

    // 1. Identify the client (a JWT naming a key not held yet waits for the keys once).
    let principal = match state.config().auth.identify(headers).await {
        Ok(principal) => principal,
        Err(error) => return unauthenticated(media, error),
    };
    let request = match read() {
        Ok(request) => request,
        Err(response) => return *response,
    };

    // 2. Rate-limit: a token per operation.
    let max = state.config().limits.max_batch;
    if request.operations.len() > max {
        let message = format!(
            "a batch may hold at most {max} operations; this one holds {}",
            request.operations.len()
        );
        return failure(
            StatusCode::BAD_REQUEST,
            media,
            code::BATCH_TOO_LARGE,
            &message,
        );
    }
    if let Err(wait) = state
        .rate_limits()
        .check(&principal, request.operations.len())
    {
        return rate_limited(media, wait);
    }

    // 3 and 4. Resolve persisted queries and check each operation's limits; nothing runs yet.
    let mut names = Vec::with_capacity(request.operations.len());
    let checked: Vec<Checked> = request
        .operations
        .into_iter()
        .map(|incoming| {
            let given_name = incoming.operation_name.clone();
            let checked = check(state, incoming, request.queries_only);
            names.push(checked.operation_name().or(given_name));
            checked
        })
        .collect();
    // From here on every outcome is logged with the operations' names.
    let refused = |response: Response| {
        log_request(state, &principal, &names, &response, None, started);
        response
    };
    if checked.iter().any(|c| matches!(c, Checked::NotAQuery)) {
        let mut response = failure(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            code::BAD_REQUEST,
            "GET runs queries only; send mutations with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return refused(response);
    }
    // The request as a whole: its distinct ids (each a Bloc call) within the limit, and the
    // Bloc calls it may make charged beyond the tokens its operations took.
    let calls = match graphql::upstream_calls(&checked, &state.policy().limits) {
        Ok(calls) => calls,
        Err(rejected) => return refused(answer(media, &rejected)),
    };
    if let Err(wait) = state
        .rate_limits()
        .charge_calls(&principal, checked.len(), calls)
    {
        return refused(rate_limited(media, wait));
    }

    // 5. Execute, with one loader for the whole request: an id named by several operations
    // is fetched once.
    // It may start no more lookups than the calls it was priced and charged at.
    let upstream = Arc::new(
        state
            .upstream(call_for(state, headers, &principal))
            .with_allowance(calls),
    );
    let runs = checked.into_iter().map(|checked| {
        let (upstream, principal) = (&upstream, &principal);
        async move {
            match checked {
                Checked::Ready(prepared) => {
                    let response =
                        graphql::run(state.schema(), upstream, principal, *prepared).await;
                    count_execution(state, &response);
                    response
                }
                Checked::Rejected(response) => *response,
                // Refused above with 405 before anything ran; never reaches here.
                Checked::NotAQuery => graphql::rejection(code::BAD_REQUEST, String::new()),
            }
        }
    });
    let deadline = state.config().limits.request_timeout;
    let response = match tokio::time::timeout(deadline, join_all(runs)).await {
        // 6. Respond.
        Ok(mut responses) => {
            let stats = upstream.stats();
            let trace = wants_trace(state, headers, &principal);
            for response in &mut responses {
                if stats.stale() {
                    response.mark_stale(stats.oldest());
                }
                if trace {
                    response.add_upstream_trace(stats);
                }
            }
            match responses.pop() {
                Some(only) if !request.batch && responses.is_empty() => answer(media, &only),
                last => {
                    responses.extend(last);
                    answers(media, &responses)
                }
            }
        }
        Err(_) => timed_out(media),
    };
    // 6. Log.
    log_request(
        state,
        &principal,
        &names,
        &response,
        Some(&upstream),
        started,
    );
    response
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
    upstream: Option<&Upstream>,
    started: Instant,
) {
    let status = response.status();
    let elapsed = started.elapsed();
    let label = status.as_str();
    let metrics = state.metrics();
    for name in names {
        let operation = metrics.operation_label(name.as_deref());
        metrics
            .requests
            .with_label_values(&[operation.as_ref(), label])
            .inc();
    }
    metrics
        .request_seconds
        .with_label_values(&[label])
        .observe(elapsed.as_secs_f64());
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
        status = status.as_u16(),
        upstream_calls = upstream.map_or(0, |u| u.stats().calls()),
        duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        "graphql request"
    );
}
