//! Response fields come back in the order the query asked for them, whatever order their
//! resolvers finish in (async-graphql writes them in completion order).

use std::time::Duration;

use serde_json::json;
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path},
};

use crate::{
    helpers::spawn_app,
    mocks::{customer, envelope, id, list_envelope, mount_status},
};

/// Byte offsets of each `"key":` in the raw response text, which must be increasing.
fn assert_in_order(text: &str, keys: &[&str]) {
    let positions: Vec<usize> = keys
        .iter()
        .map(|k| {
            text.find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("{k} missing in {text}"))
        })
        .collect();
    let mut sorted = positions.clone();
    sorted.sort_unstable();
    assert_eq!(positions, sorted, "keys {keys:?} out of order in {text}");
}

async fn slow_and_fast() -> crate::helpers::TestApp {
    let app = spawn_app().await;
    let slow = ResponseTemplate::new(200)
        .set_body_json(envelope(customer(&id(1))))
        .set_delay(Duration::from_millis(150));
    mount_status(&app.bloc, &id(1), slow).await;
    let fast = ResponseTemplate::new(200).set_body_json(envelope(customer(&id(2))));
    mount_status(&app.bloc, &id(2), fast).await;
    let list = ResponseTemplate::new(200).set_body_json(list_envelope(json!([customer(&id(3))])));
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(list)
        .mount(&app.bloc)
        .await;
    app
}

#[tokio::test]
async fn aliases_keep_query_order_when_the_first_one_finishes_last() {
    let app = slow_and_fast().await;
    let query = format!(
        r#"{{ zslow: customer(id: "{}") {{ id }} afast: customer_count mid: __typename }}"#,
        id(1),
    );

    let reply = app.post(&json!({ "query": query }), &[]).await;

    assert_in_order(&reply.text, &["zslow", "afast", "mid"]);
}

#[tokio::test]
async fn fragments_inline_fragments_and_nested_fields_keep_query_order() {
    let app = slow_and_fast().await;
    let query = format!(
        r#"query($withTier: Boolean!) {{
             zslow: customer(id: "{}") {{ ...Card }}
             afast: customers {{
               ... on Customer {{ phone: phone_number }}
               id
               ...Card
             }}
           }}
           fragment Card on Customer {{
             name
             address {{ state city }}
             kyc_tier @include(if: $withTier)
             bvn @skip(if: true)
           }}"#,
        id(1),
    );

    let body = json!({ "query": query, "variables": { "withTier": true } });
    let reply = app.post(&body, &[]).await;

    assert!(!reply.text.contains("\"bvn\""), "{}", reply.text);
    assert_in_order(&reply.text, &["zslow", "afast"]);
    let zslow = &reply.text[..reply.text.find("\"afast\"").unwrap()];
    assert_in_order(zslow, &["name", "address", "state", "city", "kyc_tier"]);
    let afast = &reply.text[reply.text.find("\"afast\"").unwrap()..];
    assert_in_order(
        afast,
        &[
            "phone", "id", "name", "address", "state", "city", "kyc_tier",
        ],
    );
}

#[tokio::test]
async fn list_items_keep_query_order() {
    let app = slow_and_fast().await;
    let query = format!(
        r#"{{ many: customers_by_id(ids: ["{}", "{}"]) {{ kyc_tier id name }} after: __typename }}"#,
        id(1),
        id(2)
    );

    let reply = app.post(&json!({ "query": query }), &[]).await;

    assert_in_order(&reply.text, &["many", "after"]);
    let first = &reply.text[..reply.text.find("},{").unwrap()];
    assert_in_order(first, &["kyc_tier", "id", "name"]);
}

#[tokio::test]
async fn both_executors_keep_query_order_when_the_first_lookup_finishes_last() {
    let app = slow_and_fast().await;
    // The common shape: its second run takes the direct executor.
    let query = format!(
        r#"{{ zslow: customer(id: "{}") {{ name id }} afast: customer(id: "{}") {{ id kyc_tier name }} }}"#,
        id(1),
        id(2),
    );

    let first = app.post(&json!({ "query": query }), &[]).await;
    let second = app.post(&json!({ "query": query }), &[]).await;

    assert_in_order(&first.text, &["zslow", "afast"]);
    let afast = &first.text[first.text.find("\"afast\"").unwrap()..];
    assert_in_order(afast, &["id", "kyc_tier", "name"]);
    assert_eq!(first.text, second.text);
    assert_eq!(app.state.metrics().executed_directly.get(), 1);
}
