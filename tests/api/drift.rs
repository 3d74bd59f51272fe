//! Drift tolerance: a value Bloc sends that does not parse nulls only that field, with an
//! `UPSTREAM_BAD_RESPONSE` error at its path.

use serde_json::{Value, json};

use crate::{
    helpers::spawn_app,
    mocks::{customer, id, mount_customer, mount_list},
};

async fn lookup_with(field: &str, value: Value, query_fields: &str) -> Value {
    let app = spawn_app().await;
    let mut record = customer(&id(1));
    record[field] = value;
    mount_customer(&app.bloc, record, 1).await;
    app.query(&format!(
        r#"{{ customer(id: "{}") {{ id name {query_fields} }} }}"#,
        id(1)
    ))
    .await
}

fn assert_only_field_failed(response: &Value, path: Value) {
    let errors = response["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{response}"));
    assert_eq!(errors.len(), 1, "{response}");
    assert_eq!(errors[0]["path"], path);
    assert_eq!(errors[0]["extensions"]["code"], "UPSTREAM_BAD_RESPONSE");
    assert_eq!(response["data"]["customer"]["id"], id(1));
    assert_eq!(response["data"]["customer"]["name"], "Adaeze Okafor");
}

#[tokio::test]
async fn an_unparseable_kyc_tier_nulls_only_that_field() {
    let response = lookup_with("kyc_tier", json!("T2"), "kyc_tier email").await;

    assert_only_field_failed(&response, json!(["customer", "kyc_tier"]));
    assert_eq!(response["data"]["customer"]["kyc_tier"], json!(null));
    assert_eq!(
        response["data"]["customer"]["email"],
        "adaeze.okafor@example.ng"
    );
}

#[tokio::test]
async fn an_unknown_status_nulls_only_that_field() {
    let response = lookup_with("status", json!("suspended"), "status").await;

    assert_only_field_failed(&response, json!(["customer", "status"]));
}

#[tokio::test]
async fn a_bad_timestamp_nulls_only_that_field() {
    let response = lookup_with("created_at", json!("14/03/2023"), "created_at updated_at").await;

    assert_only_field_failed(&response, json!(["customer", "created_at"]));
    assert_eq!(
        response["data"]["customer"]["updated_at"],
        "2023-03-14T12:17:10.991Z"
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

    assert_only_field_failed(&response, json!(["customer", "date_of_birth"]));
}

#[tokio::test]
async fn a_number_where_text_belongs_nulls_only_that_field() {
    let response = lookup_with("email", json!(42), "email bvn").await;

    assert_only_field_failed(&response, json!(["customer", "email"]));
    assert_eq!(response["data"]["customer"]["bvn"], "22403240419");
}

#[tokio::test]
async fn a_bad_address_part_nulls_only_that_part() {
    let address = json!({ "street": ["no"], "city": "Lekki" });
    let response = lookup_with("address", address, "address { street city }").await;

    assert_only_field_failed(&response, json!(["customer", "address", "street"]));
    assert_eq!(response["data"]["customer"]["address"]["city"], "Lekki");
}

#[tokio::test]
async fn a_numeric_kyc_tier_is_read_and_unknown_fields_are_ignored() {
    let app = spawn_app().await;
    let mut record = customer(&id(1));
    record["kyc_tier"] = json!(2);
    record["brand_new_field"] = json!({ "nested": [1, 2] });
    mount_customer(&app.bloc, record, 1).await;

    let response = app
        .query(&format!(
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

    let response = app.query("{ customers { id kyc_tier } }").await;

    let tiers: Vec<&Value> = response["data"]["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["kyc_tier"])
        .collect();
    assert_eq!(tiers, [&json!(1), &json!(null), &json!(1)]);
    assert_eq!(
        response["errors"][0]["path"],
        json!(["customers", 1, "kyc_tier"])
    );
}
