//! Drift tolerance: a value Bloc sends that does not parse nulls only that field, with an
//! `UPSTREAM_BAD_RESPONSE` error at its path. Each query runs twice (the second run may take
//! the direct executor) and must give the same bytes; whole `data` objects are compared, so
//! a key missing where the spec wants `null` fails.

use serde_json::{Value, json};

use crate::{
    helpers::spawn_app,
    mocks::{customer, id, mount_customer, mount_list},
};

async fn lookup_with(field: &str, value: Value, query_fields: &str) -> Value {
    let app = spawn_app().await;
    let mut record = customer(&id(1));
    record[field] = value;
    // Once: the second run is answered from the shared cache, as in production.
    mount_customer(&app.bloc, record, 1).await;
    app.query_twice(&format!(
        r#"{{ customer(id: "{}") {{ id name {query_fields} }} }}"#,
        id(1)
    ))
    .await
}

/// Asserts one `UPSTREAM_BAD_RESPONSE` error, at `path`, and exactly `fields` besides the id
/// and name in the customer.
fn assert_only_field_failed(response: &Value, path: Value, fields: Value) {
    let errors = response["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{response}"));
    assert_eq!(errors.len(), 1, "{response}");
    assert_eq!(errors[0]["path"], path);
    assert_eq!(errors[0]["extensions"]["code"], "UPSTREAM_BAD_RESPONSE");
    let mut customer = json!({ "id": id(1), "name": "Adaeze Okafor" });
    for (key, value) in fields.as_object().unwrap() {
        customer[key] = value.clone();
    }
    assert_eq!(response["data"], json!({ "customer": customer }));
}

#[tokio::test]
async fn an_unparseable_kyc_tier_nulls_only_that_field() {
    let response = lookup_with("kyc_tier", json!("T2"), "kyc_tier email").await;

    assert_only_field_failed(
        &response,
        json!(["customer", "kyc_tier"]),
        json!({ "kyc_tier": null, "email": "adaeze.okafor@example.ng" }),
    );
}

#[tokio::test]
async fn an_unknown_status_nulls_only_that_field() {
    let response = lookup_with("status", json!("suspended"), "status").await;

    assert_only_field_failed(
        &response,
        json!(["customer", "status"]),
        json!({ "status": null }),
    );
}

#[tokio::test]
async fn a_bad_timestamp_nulls_only_that_field() {
    let response = lookup_with("created_at", json!("14/03/2023"), "created_at updated_at").await;

    assert_only_field_failed(
        &response,
        json!(["customer", "created_at"]),
        json!({ "created_at": null, "updated_at": "2023-03-14T12:17:10.991Z" }),
    );
}

#[tokio::test]
async fn a_bad_date_of_birth_nulls_only_that_field() {
    let response = lookup_with(
        "date_of_birth",
        json!("1994-13-45T00:00:00Z"),
        "date_of_birth",
    )
    .await;

    assert_only_field_failed(
        &response,
        json!(["customer", "date_of_birth"]),
        json!({ "date_of_birth": null }),
    );
}

#[tokio::test]
async fn a_number_where_text_belongs_nulls_only_that_field() {
    let response = lookup_with("email", json!(42), "email bvn").await;

    assert_only_field_failed(
        &response,
        json!(["customer", "email"]),
        json!({ "email": null, "bvn": "22403240419" }),
    );
}

#[tokio::test]
async fn a_bad_address_part_nulls_only_that_part() {
    let address = json!({ "street": ["no"], "city": "Lekki" });
    let response = lookup_with("address", address, "address { street city }").await;

    assert_only_field_failed(
        &response,
        json!(["customer", "address", "street"]),
        json!({ "address": { "street": null, "city": "Lekki" } }),
    );
}

#[tokio::test]
async fn fields_that_all_fail_are_each_null_and_the_customer_stays() {
    let app = spawn_app().await;
    let mut record = customer(&id(1));
    record["kyc_tier"] = json!("T2");
    record["status"] = json!("suspended");
    mount_customer(&app.bloc, record, 1).await;

    let response = app
        .query_twice(&format!(
            r#"{{ customer(id: "{}") {{ kyc_tier status }} }}"#,
            id(1)
        ))
        .await;

    assert_eq!(
        response["data"],
        json!({ "customer": { "kyc_tier": null, "status": null } })
    );
    assert_eq!(response["errors"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn a_numeric_kyc_tier_is_read_and_unknown_fields_are_ignored() {
    let app = spawn_app().await;
    let mut record = customer(&id(1));
    record["kyc_tier"] = json!(2);
    record["brand_new_field"] = json!({ "nested": [1, 2] });
    mount_customer(&app.bloc, record, 1).await;

    let response = app
        .query_twice(&format!(
            r#"{{ customer(id: "{}") {{ kyc_tier }} }}"#,
            id(1)
        ))
        .await;

    assert_eq!(
        response,
        json!({ "data": { "customer": { "kyc_tier": 2 } } })
    );
}

#[tokio::test]
async fn drift_in_one_list_item_leaves_the_others_intact() {
    let app = spawn_app().await;
    let mut bad = customer(&id(2));
    bad["kyc_tier"] = json!("T2");
    mount_list(
        &app.bloc,
        json!([customer(&id(1)), bad, customer(&id(3))]),
        1,
    )
    .await;

    let response = app.query_twice("{ customers { id kyc_tier } }").await;

    assert_eq!(
        response["data"],
        json!({ "customers": [
            { "id": id(1), "kyc_tier": 1 },
            { "id": id(2), "kyc_tier": null },
            { "id": id(3), "kyc_tier": 1 },
        ] })
    );
    assert_eq!(
        response["errors"][0]["path"],
        json!(["customers", 1, "kyc_tier"])
    );
}
