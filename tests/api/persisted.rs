//! Persisted queries: Apollo's APQ protocol over POST and GET, and trusted documents only.

use axum::{body::Body, http::Request};
use bloc_graphql::{auth::sha256_hex, persisted::PersistedConfig};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, codes, send, spawn_app, spawn_app_with},
    mocks::{customer, id, mount_customer},
};

fn query() -> String {
    format!(r#"{{ customer(id: "{}") {{ name kyc_tier }} }}"#, id(1))
}

fn hash_only(hash: &str) -> Value {
    json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } })
}

fn with_text(query: &str, hash: &str) -> Value {
    json!({ "query": query, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } })
}

async fn get_by_hash(app: &TestApp, hash: &str) -> Value {
    let extensions = hash_only(hash)["extensions"].to_string();
    let encoded: String = url::form_urlencoded::byte_serialize(extensions.as_bytes()).collect();
    let request = Request::get(format!("/graphql?extensions={encoded}"))
        .header("accept", "application/json")
        .body(Body::empty())
        .unwrap();
    send(&app.state, request).await.json()
}

#[tokio::test]
async fn apq_asks_for_the_text_once_then_runs_by_hash_over_post_and_get() {
    let app = spawn_app().await;
    // Once: the later runs are answered from the shared cache.
    mount_customer(&app.bloc, customer(&id(1)), 1).await;
    let hash = sha256_hex(&query());

    let unknown = app.post(&hash_only(&hash), &[]).await.json();
    assert_eq!(codes(&unknown), ["PERSISTED_QUERY_NOT_FOUND"]);
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");
    assert!(app.upstream_paths().await.is_empty());

    let registered = app.post(&with_text(&query(), &hash), &[]).await.json();
    assert_eq!(registered["data"]["customer"]["name"], "Adaeze Okafor");

    let by_hash = app.post(&hash_only(&hash), &[]).await.json();
    assert_eq!(by_hash["data"]["customer"]["kyc_tier"], 1);
    let by_get = get_by_hash(&app, &hash).await;
    assert_eq!(by_get["data"]["customer"]["name"], "Adaeze Okafor");
}

#[tokio::test]
async fn a_text_that_does_not_match_its_hash_is_refused_and_not_stored() {
    let app = spawn_app().await;
    let wrong = sha256_hex("{ customer_count }");

    let reply = app.post(&with_text(&query(), &wrong), &[]).await.json();
    assert_eq!(codes(&reply), ["BAD_REQUEST"]);
    let later = app.post(&hash_only(&wrong), &[]).await.json();
    assert_eq!(codes(&later), ["PERSISTED_QUERY_NOT_FOUND"]);
    assert!(app.upstream_paths().await.is_empty());
}

#[tokio::test]
async fn a_query_over_the_limits_is_not_remembered() {
    let app = spawn_app().await;
    let fields: Vec<String> = (0..150).map(|n| format!("a{n}: __typename")).collect();
    let greedy = format!("{{ {} }}", fields.join(" "));
    let hash = sha256_hex(&greedy);

    let first = app.post(&with_text(&greedy, &hash), &[]).await.json();
    let again = app.post(&hash_only(&hash), &[]).await.json();

    assert_eq!(codes(&first), ["TOO_MANY_ALIASES"]);
    assert_eq!(codes(&again), ["PERSISTED_QUERY_NOT_FOUND"]);
}

fn trusted_app_config(manifest: Value) -> PersistedConfig {
    let dir = std::env::temp_dir().join(format!(
        "bloc-graphql-manifest-{}-{}",
        std::process::id(),
        manifest.to_string().len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("manifest.json");
    std::fs::write(&path, manifest.to_string()).unwrap();
    let config = bloc_graphql::persisted::PersistedQueries::load_manifest(&path).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
    config
}

#[tokio::test]
async fn trusted_mode_runs_only_the_manifest() {
    let hash = sha256_hex(&query());
    let manifest = json!({
        "format": "apollo-persisted-query-manifest", "version": 1,
        "operations": [{ "id": hash, "name": "Mobile", "type": "query", "body": query() }]
    });
    let persisted = trusted_app_config(manifest);
    let app = spawn_app_with(move |c| c.persisted = persisted).await;
    mount_customer(&app.bloc, customer(&id(1)), 1).await;

    let by_hash = app.post(&hash_only(&hash), &[]).await.json();
    let same_text = app.post(&json!({ "query": query() }), &[]).await.json();
    let unknown_hash = app
        .post(&hash_only(&sha256_hex("{ customer_count }")), &[])
        .await
        .json();
    let free_text = app
        .post(&json!({ "query": "{ customers { bvn } }" }), &[])
        .await
        .json();
    let registration = app
        .post(
            &with_text("{ customer_count }", &sha256_hex("{ customer_count }")),
            &[],
        )
        .await
        .json();

    assert_eq!(by_hash["data"]["customer"]["name"], "Adaeze Okafor");
    assert_eq!(same_text["data"]["customer"]["kyc_tier"], 1);
    assert_eq!(codes(&unknown_hash), ["PERSISTED_QUERY_NOT_FOUND"]);
    assert_eq!(codes(&free_text), ["FORBIDDEN"]);
    assert_eq!(codes(&registration), ["PERSISTED_QUERY_NOT_FOUND"]);
    // The manifest's lookup, then its second run from the shared cache; the refused texts
    // reach nothing.
    assert_eq!(app.upstream_paths().await.len(), 1);
}

#[test]
fn a_manifest_whose_hash_does_not_match_its_text_is_refused_at_startup() {
    let dir =
        std::env::temp_dir().join(format!("bloc-graphql-bad-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("manifest.json");
    std::fs::write(&path, json!({ sha256_hex("{ a }"): "{ b }" }).to_string()).unwrap();

    let loaded = bloc_graphql::persisted::PersistedQueries::load_manifest(&path);

    std::fs::remove_dir_all(dir).unwrap();
    assert!(loaded.unwrap_err().contains("does not match"));
}
