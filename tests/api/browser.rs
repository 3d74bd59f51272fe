//! Browser-facing rules: CORS allow-list, the GraphiQL page's security headers, what it opens
//! with, and where its pinned files come from. (`tests/browser/` loads it in Chromium.)

use axum::{
    body::Body,
    http::{Request, StatusCode},
};

use bloc_graphql::{
    config::GraphiqlConfig,
    graphiql::{ASSETS, LocalAssets},
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

#[tokio::test]
async fn graphiql_opens_on_the_mobile_query_and_a_customer_page_tab_with_the_sandbox_id_and_key() {
    let key = bloc_graphql::auth::generate_key();
    let app = spawn_app_with(|c| {
        c.exposure.graphiql = GraphiqlConfig {
            assets: None,
            example_id: Some("63bda62fa4ac9ae1e8db9996".into()),
            demo_key: Some(key.clone()),
        };
    })
    .await;
    let plain = spawn_app().await;

    let page = send(&app.state, Request::get("/").body(Body::empty()).unwrap()).await;
    let plain_page = send(&plain.state, Request::get("/").body(Body::empty()).unwrap()).await;
    let script = send(
        &app.state,
        Request::get("/graphiql.js").body(Body::empty()).unwrap(),
    )
    .await;

    assert!(
        page.text.contains(&format!(
            "data-example-id=\"63bda62fa4ac9ae1e8db9996\" data-demo-key=\"{key}\""
        )),
        "{}",
        page.text
    );
    assert!(!plain_page.text.contains("data-demo-key"));
    assert!(!plain_page.text.contains("data-example-id"));
    for expected in [
        "query MobileCustomer($id: ID!)",
        "kyc_tier",
        "city",
        "query CustomerPage($id: ID!)",
        "accounts {",
        "transactions(limit: 5) {",
        "{ query: pageQuery, variables, headers }",
        "Authorization: `Bearer ${demoKey || '<your API key or JWT>'}`",
        "defaultEditorToolsVisibility: 'headers'",
    ] {
        assert!(script.text.contains(expected), "{expected}");
    }
}

#[tokio::test]
async fn without_local_assets_the_pinned_files_come_from_the_cdn_and_are_not_served_here() {
    let app = spawn_app().await;

    let page = send(&app.state, Request::get("/").body(Body::empty()).unwrap()).await;
    let asset = send(
        &app.state,
        Request::get("/graphiql/graphiql.min.js")
            .body(Body::empty())
            .unwrap(),
    )
    .await;

    for asset in &ASSETS {
        let url = format!("https://unpkg.com/{}/{}", asset.package, asset.path);
        assert!(page.text.contains(&url), "{url}");
        assert!(page.text.contains(asset.integrity));
    }
    assert_eq!(asset.status, StatusCode::NOT_FOUND);
}

#[test]
fn a_graphiql_assets_folder_with_a_missing_or_different_file_is_refused_by_name() {
    let dir = std::env::temp_dir().join(format!("bgq-assets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for asset in &ASSETS {
        std::fs::write(dir.join(asset.file), "not the pinned file").unwrap();
    }

    let different = LocalAssets::load(&dir).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    let missing = LocalAssets::load(&dir).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();

    assert!(
        different.contains("graphiql.min.css") && different.contains("SHA-384"),
        "{different}"
    );
    assert!(
        missing.contains("graphiql.min.css") && missing.contains("scripts/graphiql-assets"),
        "{missing}"
    );
}
