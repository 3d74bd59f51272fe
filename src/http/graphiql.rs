//! The GraphiQL page and its own assets, with the page's security headers.

use axum::{
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};

/// GraphiQL, pointed at `/graphql`: a static page whose CDN scripts are pinned by SRI hash,
/// and whose own script and style are served from here.
const GRAPHIQL: &str = include_str!("graphiql.html");
pub(super) const GRAPHIQL_JS: &str = include_str!("graphiql.js");
pub(super) const GRAPHIQL_CSS: &str = include_str!("graphiql.css");

/// The page may load scripts only from itself and the pinned CDN, talk only to itself, and
/// be framed by no one.
const GRAPHIQL_CSP: &str = "default-src 'none'; script-src 'self' https://unpkg.com; \
     style-src 'self' https://unpkg.com 'unsafe-inline'; font-src 'self' https://unpkg.com data:; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

pub(super) async fn graphiql() -> Response {
    static_asset(GRAPHIQL, "text/html; charset=utf-8")
}

pub(super) fn static_asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(GRAPHIQL_CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
