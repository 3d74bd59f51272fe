//! Browser-facing rules: CORS allow-list, and the GraphiQL page's security headers.

use axum::{
    body::Body,
    http::{Request, StatusCode},
};

use crate::helpers::{send, spawn_app, spawn_app_with};

fn preflight(origin: &str) -> Request<Body> {
    Request::options("/graphql")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let app = spawn_app_with(|c| {
        c.exposure.cors_origins = vec!["https://app.example.ng".parse().unwrap()];
    })
    .await;

    let allowed = send(&app.state, preflight("https://app.example.ng")).await;
    let other = send(&app.state, preflight("https://evil.example")).await;

    assert_eq!(
        allowed.headers["access-control-allow-origin"],
        "https://app.example.ng"
    );
    let allowed_headers = allowed.headers["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(
        allowed_headers.contains("authorization"),
        "{allowed_headers}"
    );
    assert!(other.headers.get("access-control-allow-origin").is_none());
    assert!(
        allowed
            .headers
            .get("access-control-allow-credentials")
            .is_none()
    );
}

#[tokio::test]
async fn no_origin_is_allowed_by_default() {
    let app = spawn_app().await;

    let reply = send(&app.state, preflight("https://app.example.ng")).await;

    assert!(reply.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_graphiql_page_forbids_inline_and_foreign_scripts() {
    let app = spawn_app().await;

    let page = send(&app.state, Request::get("/").body(Body::empty()).unwrap()).await;
    let script = send(
        &app.state,
        Request::get("/graphiql.js").body(Body::empty()).unwrap(),
    )
    .await;

    let csp = page.headers["content-security-policy"].to_str().unwrap();
    let script_src = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .unwrap();
    assert_eq!(script_src.trim(), "script-src 'self' https://unpkg.com");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("connect-src 'self'"));
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    // Every script on the page has a src; the external ones are pinned by SRI hash.
    for tag in page.text.split("<script").skip(1) {
        let tag = &tag[..tag.find('>').unwrap()];
        assert!(tag.contains("src=\""), "inline script: {tag}");
        assert!(
            tag.contains("src=\"/") || tag.contains("integrity=\"sha384-"),
            "{tag}"
        );
    }
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.text.contains("GraphiQL.createFetcher"));
    assert!(
        script.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
}
