//! Building HTTP responses: GraphQL results and GraphQL-shaped errors, with the right status,
//! media type and headers.

use std::time::Duration;

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use super::negotiate::MediaType;
use crate::{
    auth::AuthError,
    error::{code, retry_after_seconds},
    graphql,
};

/// One GraphQL response: 400 for a request error under `application/graphql-response+json`,
/// 200 otherwise (the GraphQL-over-HTTP rules).
pub(super) fn answer(media: MediaType, response: &graphql::Response) -> Response {
    let status = if response.is_request_error() && media == MediaType::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    // Room for a response of a few KB (50 aliased customers), so writing does not grow and
    // copy the buffer from serde_json's 128 bytes.
    let mut bytes = Vec::with_capacity(4096);
    match response.write_json(&mut bytes) {
        Ok(()) => with_json_headers(status, media, bytes),
        Err(_) => unserialisable(),
    }
}

/// A batch's answers, as a JSON array (200: each carries its own errors).
pub(super) fn answers(media: MediaType, responses: &[graphql::Response]) -> Response {
    let mut bytes = Vec::with_capacity(4096);
    bytes.push(b'[');
    for (n, response) in responses.iter().enumerate() {
        if n > 0 {
            bytes.push(b',');
        }
        if response.write_json(&mut bytes).is_err() {
            return unserialisable();
        }
    }
    bytes.push(b']');
    with_json_headers(StatusCode::OK, media, bytes)
}

fn unserialisable() -> Response {
    tracing::error!("could not serialise a GraphQL response");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// A JSON response; GraphQL results may hold PII, so nothing along the way may store it.
pub(super) fn json(status: StatusCode, media: MediaType, body: &impl Serialize) -> Response {
    let mut bytes = Vec::with_capacity(256);
    if serde_json::to_writer(&mut bytes, body).is_err() {
        return unserialisable();
    }
    with_json_headers(status, media, bytes)
}

fn with_json_headers(status: StatusCode, media: MediaType, bytes: Vec<u8>) -> Response {
    let mut response = (status, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, media.content_type());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::VARY, HeaderValue::from_static("accept"));
    response
}

/// A GraphQL-shaped error for a request that never reached execution.
pub(super) fn failure(status: StatusCode, media: MediaType, code: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    });
    json(status, media, &body)
}

/// 401 with a GraphQL error and a `WWW-Authenticate` challenge.
pub(super) fn unauthenticated(media: MediaType, error: AuthError) -> Response {
    tracing::info!(reason = ?error, "request refused: not authenticated");
    let mut response = failure(
        StatusCode::UNAUTHORIZED,
        media,
        code::UNAUTHENTICATED,
        &error.to_string(),
    );
    let challenge = match error {
        AuthError::Missing => "Bearer",
        AuthError::Invalid => "Bearer error=\"invalid_token\"",
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// 429 with `Retry-After` in whole seconds (rounded up, at least 1).
pub(super) fn rate_limited(media: MediaType, wait: Duration) -> Response {
    let seconds = retry_after_seconds(wait);
    let body = serde_json::json!({
        "errors": [{
            "message": "rate limit reached; retry later",
            "extensions": { "code": code::RATE_LIMITED, "retry_after": seconds },
        }]
    });
    let mut response = json(StatusCode::TOO_MANY_REQUESTS, media, &body);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

pub(super) fn not_acceptable() -> Response {
    failure(
        StatusCode::NOT_ACCEPTABLE,
        MediaType::Json,
        code::BAD_REQUEST,
        "accept application/graphql-response+json or application/json",
    )
}

pub(super) fn timed_out(media: MediaType) -> Response {
    failure(
        StatusCode::GATEWAY_TIMEOUT,
        media,
        code::REQUEST_TIMEOUT,
        "the request took longer than the server's request timeout",
    )
}
