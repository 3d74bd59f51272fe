//! Operation limits: each attack is rejected whole, with the limit named in
//! `extensions.code`, before any upstream call.

use axum::http::StatusCode;
use bloc_graphql::config::Exposure;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, codes, spawn_app, spawn_app_with},
    mocks::id,
};

const GQL: &str = "application/graphql-response+json";

async fn rejected(app: &TestApp, body: Value, code: &str) {
    let reply = app.post(&body, &[("accept", GQL)]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(codes(&reply.json()), [code], "{}", reply.text);
    assert!(reply.json().get("data").is_none());
    assert!(
        app.upstream_paths().await.is_empty(),
        "an upstream call was made"
    );
}

#[tokio::test]
async fn a_thousand_aliases_are_rejected() {
    let app = spawn_app().await;
    let fields: Vec<String> = (0..1000).map(|n| format!("a{n}: __typename")).collect();

    rejected(
        &app,
        json!({ "query": format!("{{ {} }}", fields.join(" ")) }),
        "TOO_MANY_ALIASES",
    )
    .await;
}

#[tokio::test]
async fn fifty_levels_of_nesting_are_rejected() {
    let app = spawn_app().await;
    let query = format!(
        r#"{{ customer(id: "{}") {{ {} name {} }} }}"#,
        id(1),
        "address {".repeat(50),
        "}".repeat(50)
    );

    rejected(&app, json!({ "query": query }), "MAX_DEPTH_EXCEEDED").await;
}

#[tokio::test]
async fn too_many_root_fields_are_rejected() {
    let app = spawn_app().await;
    let query = format!("{{ {} }}", "customer_count ".repeat(101));

    rejected(&app, json!({ "query": query }), "TOO_MANY_ROOT_FIELDS").await;
}

#[tokio::test]
async fn a_list_of_500_with_every_field_is_too_complex() {
    let app = spawn_app().await;
    let fields = "id name full_name first_name last_name email phone_number bvn organization_id \
                  environment country group status created_at updated_at kyc_tier kyc_status \
                  date_of_birth customer_type source place_of_birth gender image_url";

    rejected(
        &app,
        json!({ "query": format!("{{ customers(limit: 500) {{ {fields} }} }}") }),
        "MAX_COMPLEXITY_EXCEEDED",
    )
    .await;
    let affordable = app
        .post(&json!({ "query": format!("query($n: Int) {{ customers(limit: $n) {{ {fields} }} }}"), "variables": { "n": 100 } }), &[("accept", GQL)])
        .await;
    assert_ne!(codes(&affordable.json()), ["MAX_COMPLEXITY_EXCEEDED"]);
}

#[tokio::test]
async fn exponential_fragments_are_rejected_quickly() {
    let app = spawn_app().await;
    let mut fragments = vec!["fragment F0 on Customer { name }".to_owned()];
    for n in 1..=40 {
        fragments.push(format!(
            "fragment F{n} on Customer {{ ...F{} ...F{} }}",
            n - 1,
            n - 1
        ));
    }
    let query = format!(
        "{{ customers(limit: 1) {{ ...F40 }} }} {}",
        fragments.join(" ")
    );

    rejected(&app, json!({ "query": query }), "MAX_COMPLEXITY_EXCEEDED").await;
}

#[tokio::test]
async fn oversized_and_token_heavy_documents_are_rejected_before_parsing() {
    let app = spawn_app().await;

    let big = format!("{{ __typename }} #{}", "x".repeat(33 * 1024));
    rejected(&app, json!({ "query": big }), "QUERY_TOO_LARGE").await;
    let many_tokens = format!("{{ {} }}", "a ".repeat(5_100));
    rejected(&app, json!({ "query": many_tokens }), "TOO_MANY_TOKENS").await;
}

#[tokio::test]
async fn more_than_a_hundred_distinct_ids_are_rejected() {
    let app = spawn_app().await;
    let ids: Vec<String> = (0..101).map(id).collect();

    rejected(
        &app,
        json!({ "query": "query($ids: [ID!]!) { customers_by_id(ids: $ids) { id } }", "variables": { "ids": ids } }),
        "TOO_MANY_CUSTOMER_IDS",
    )
    .await;
}

#[tokio::test]
async fn a_batch_is_limited_by_the_distinct_ids_of_all_its_operations() {
    let app = spawn_app().await;
    let op = |from: u32| {
        let ids: Vec<String> = (from..from + 40).map(id).collect();
        json!({ "query": "query($ids: [ID!]!) { customers_by_id(ids: $ids) { id } }", "variables": { "ids": ids } })
    };

    rejected(
        &app,
        json!([op(0), op(40), op(80)]),
        "TOO_MANY_CUSTOMER_IDS",
    )
    .await;
}

#[tokio::test]
async fn huge_batches_and_bodies_are_rejected() {
    let app = spawn_app().await;
    let op = json!({ "query": "{a}" });
    let ten_thousand = Value::Array(vec![op.clone(); 10_000]);

    let reply = app.post(&ten_thousand, &[]).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let five_mb = json!({ "query": format!("{{ __typename }} #{}", "x".repeat(5 << 20)) });
    assert_eq!(
        app.post(&five_mb, &[]).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    let roomy = spawn_app_with(|c| c.limits.body_limit = 1 << 20).await;
    let reply = roomy.post(&ten_thousand, &[]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(codes(&reply.json()), ["BATCH_TOO_LARGE"]);
    assert!(app.upstream_paths().await.is_empty() && roomy.upstream_paths().await.is_empty());
}

#[tokio::test]
async fn introspection_and_suggestions_are_off_in_production_and_on_when_configured() {
    let production = spawn_app().await;
    let sandbox_like = spawn_app_with(|c| {
        c.exposure = Exposure {
            introspection: true,
            suggestions: true,
            ..Exposure::default()
        }
    })
    .await;
    let introspect = json!({ "query": "{ __schema { queryType { name } } }" });
    let typo = json!({ "query": "{ customr_count }" });

    let closed = production.post(&introspect, &[]).await.json();
    assert!(
        closed["data"].is_null() || closed["data"]["__schema"].is_null(),
        "{closed}"
    );
    assert!(closed.get("errors").is_some(), "{closed}");
    let typo_reply = production.post(&typo, &[]).await.text;
    assert!(
        !typo_reply.to_lowercase().contains("did you mean"),
        "{typo_reply}"
    );

    let open = sandbox_like.post(&introspect, &[]).await.json();
    assert_eq!(open["data"]["__schema"]["queryType"]["name"], "Query");
    let typo_reply = sandbox_like.post(&typo, &[]).await.text;
    assert!(
        typo_reply.to_lowercase().contains("did you mean"),
        "{typo_reply}"
    );
}

#[tokio::test]
async fn a_text_plain_post_is_refused_as_a_cross_site_request_would_be() {
    let app = spawn_app().await;
    let request = axum::http::Request::post("/graphql")
        .header("content-type", "text/plain")
        .body(axum::body::Body::from(r#"{"query":"{ customer_count }"}"#))
        .unwrap();

    let reply = crate::helpers::send(&app.state, request).await;

    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(app.upstream_paths().await.is_empty());
}

#[tokio::test]
async fn a_hundred_and_one_integer_ids_are_rejected_by_the_id_limit() {
    let app = spawn_app().await;
    let ids: Vec<String> = (1..=101).map(|n| n.to_string()).collect();

    rejected(
        &app,
        json!({ "query": format!("{{ customers_by_id(ids: [{}]) {{ id }} }}", ids.join(", ")) }),
        "TOO_MANY_CUSTOMER_IDS",
    )
    .await;
    let numbers: Vec<u32> = (1..=101).collect();
    rejected(
        &app,
        json!({ "query": "query($ids: [ID!]!) { customers_by_id(ids: $ids) { id } }", "variables": { "ids": numbers } }),
        "TOO_MANY_CUSTOMER_IDS",
    )
    .await;
}

#[tokio::test]
async fn integer_and_string_ids_of_a_batch_count_together() {
    let app = spawn_app().await;
    // Integers 1 to 60, then 31 to 101 as strings: 101 distinct ids, since `31` and
    // `"31"` are one id to the resolver.
    let numbers: Vec<String> = (1..=60).map(|n| n.to_string()).collect();
    let strings: Vec<String> = (31..=101).map(|n| format!("\"{n}\"")).collect();
    let op = |ids: &[String]| json!({ "query": format!("{{ customers_by_id(ids: [{}]) {{ id }} }}", ids.join(", ")) });

    rejected(
        &app,
        json!([op(&numbers), op(&strings)]),
        "TOO_MANY_CUSTOMER_IDS",
    )
    .await;
}

#[tokio::test]
async fn a_fragment_bomb_naming_a_customer_is_rejected_before_any_call() {
    let app = spawn_app().await;
    let mut fragments = vec![r#"fragment F0 on Query { customer(id: "a") { id } }"#.to_owned()];
    for n in 1..=40 {
        fragments.push(format!(
            "fragment F{n} on Query {{ ...F{} ...F{} }}",
            n - 1,
            n - 1
        ));
    }
    let query = format!("{{ ...F40 }} {}", fragments.join(" "));

    rejected(&app, json!({ "query": query }), "MAX_COMPLEXITY_EXCEEDED").await;
}
