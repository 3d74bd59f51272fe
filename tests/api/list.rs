//! `customers` and `customer_count`: paging and filtering in the facade over one list call.

use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path},
};

use crate::{
    helpers::{codes, spawn_app},
    mocks::{customer, id, list_envelope, mount_list, tier0_customer},
};

/// Sixty customers: tiers cycle 0..=3, every fifth is archived, every third is "retail".
fn sixty() -> Value {
    let records: Vec<Value> = (0..60)
        .map(|n| {
            let mut record = customer(&id(n));
            record["kyc_tier"] = json!((n % 4).to_string());
            record["status"] = json!(if n % 5 == 4 { "archived" } else { "active" });
            record["customer_type"] = json!(if n % 3 == 0 { "retail" } else { "Personal" });
            record["first_name"] = json!(format!("First{n}"));
            record["email"] = json!(format!("person{n}@example.ng"));
            record["phone_number"] = json!(format!("0803{n:07}"));
            record
        })
        .collect();
    Value::Array(records)
}

fn ids(response: &Value, field: &str) -> Vec<String> {
    response["data"][field]
        .as_array()
        .unwrap_or_else(|| panic!("no list in {response}"))
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn customers_returns_fifty_by_default_and_pages_with_offset() {
    let app = spawn_app().await;
    // Once: the second page comes from the shared cache.
    mount_list(&app.bloc, sixty(), 1).await;

    let first = app.query("{ customers { id } }").await;
    let page = app
        .query("{ customers(limit: 5, offset: 55) { id } }")
        .await;

    assert_eq!(
        ids(&first, "customers"),
        (0..50).map(id).collect::<Vec<_>>()
    );
    assert_eq!(
        ids(&page, "customers"),
        (55..60).map(id).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn an_offset_past_the_end_is_an_empty_page() {
    let app = spawn_app().await;
    mount_list(&app.bloc, sixty(), 1).await;

    let response = app.query("{ customers(offset: 500) { id } }").await;

    assert_eq!(response, json!({ "data": { "customers": [] } }));
}

#[tokio::test]
async fn bad_limits_and_offsets_are_rejected_without_a_call() {
    let app = spawn_app().await;

    for args in ["limit: -1", "limit: 501", "offset: -3"] {
        let response = app
            .query(&format!("{{ customers({args}) {{ id }} }}"))
            .await;
        assert_eq!(codes(&response), ["BAD_USER_INPUT"], "{args}: {response}");
    }
    let response = app
        .query("{ customer_count(filter: { kyc_tier: 9 }) }")
        .await;
    assert_eq!(codes(&response), ["BAD_USER_INPUT"]);
    assert!(app.upstream_paths().await.is_empty());
}

#[tokio::test]
async fn filters_combine_status_tier_and_type() {
    let app = spawn_app().await;
    mount_list(&app.bloc, sixty(), 1).await;

    let response = app
        .query(
            r#"{ customers(limit: 500, filter: { status: ACTIVE, kyc_tier: 2, customer_type: "personal" }) { id }
                 customer_count(filter: { status: ARCHIVED }) }"#,
        )
        .await;

    let expected: Vec<String> = (0..60u32)
        .filter(|n| n % 4 == 2 && n % 5 != 4 && n % 3 != 0)
        .map(id)
        .collect();
    assert_eq!(ids(&response, "customers"), expected);
    assert_eq!(response["data"]["customer_count"], 12);
}

#[tokio::test]
async fn search_matches_names_in_either_order_email_and_phone_ignoring_case() {
    let app = spawn_app().await;
    let mut ayo = tier0_customer(&id(1));
    ayo["first_name"] = json!("Ayo ");
    ayo["last_name"] = json!("Oladeji");
    ayo["full_name"] = json!("Oladeji  Ayo");
    let records = json!([ayo, customer(&id(2))]);
    mount_list(&app.bloc, records, 1).await;

    let search = |text: &str| format!(r#"customers(filter: {{ search: "{text}" }}) {{ id }}"#);
    let query = format!(
        "{{ a: {} b: {} c: {} d: {} e: {} none: {} }}",
        search("ayo oladeji"),
        search("OLADEJI ayo"),
        search("MASERATI@"),
        search("0917483"),
        search("  "),
        search("nobody"),
    );
    let response = app.query(&query).await;

    assert_eq!(ids(&response, "a"), [id(1)]);
    assert_eq!(ids(&response, "b"), [id(1)]);
    assert_eq!(ids(&response, "c"), [id(1)]);
    assert_eq!(ids(&response, "d"), [id(1)]);
    assert_eq!(ids(&response, "e"), [id(1), id(2)]);
    assert!(ids(&response, "none").is_empty());
}

#[tokio::test]
async fn the_list_is_fetched_once_per_request_however_many_fields_ask() {
    let app = spawn_app().await;
    mount_list(&app.bloc, sixty(), 1).await;

    let response = app
        .query("{ a: customers(limit: 1) { id } b: customers(offset: 1, limit: 1) { id } customer_count }")
        .await;

    assert_eq!(response["data"]["customer_count"], 60);
    assert_eq!(app.upstream_paths().await.len(), 1);
}

#[tokio::test]
async fn a_null_list_is_an_empty_list() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list_envelope(json!(null))))
        .mount(&app.bloc)
        .await;

    let response = app.query("{ customers { id } customer_count }").await;

    assert_eq!(
        response,
        json!({ "data": { "customers": [], "customer_count": 0 } })
    );
}

#[tokio::test]
async fn a_record_without_an_id_is_left_out_with_an_error() {
    let app = spawn_app().await;
    let records = json!([customer(&id(1)), { "full_name": "no id" }, 42, customer(&id(2))]);
    mount_list(&app.bloc, records, 1).await;

    let response = app.query("{ customers { id } }").await;

    assert_eq!(ids(&response, "customers"), [id(1), id(2)]);
    assert_eq!(codes(&response), ["UPSTREAM_BAD_RESPONSE"]);
    assert_eq!(response["errors"][0]["path"], json!(["customers"]));
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("2 customer record")
    );
}
