//! `customer(id)`: every field, Bloc's unset markers, unknown ids and hostile ids.

use serde_json::json;
use wiremock::{Mock, ResponseTemplate, matchers::method};

use crate::{
    helpers::{codes, spawn_app},
    mocks::{bloc_error, customer, id, mount_customer, mount_status, tier0_customer},
};

const EVERY_FIELD: &str = r#"
  id name full_name first_name last_name email phone_number bvn organization_id environment
  country group status created_at updated_at SyncData { Provider ID } kyc_tier kyc_status
  date_of_birth customer_type source address { street city state country postal_code }
  place_of_birth gender image_url means_of_identity means_of_identity_url identity_url
"#;

#[tokio::test]
async fn a_tier_one_customer_resolves_every_documented_field() {
    let app = spawn_app().await;
    mount_customer(&app.bloc, customer(&id(1)), 1).await;

    let response = app
        .query_with(
            &format!("query($id: ID!) {{ customer(id: $id) {{ {EVERY_FIELD} }} }}"),
            json!({ "id": id(1) }),
        )
        .await;

    insta::assert_json_snapshot!(response);
}

#[tokio::test]
async fn bloc_unset_markers_become_null() {
    let app = spawn_app().await;
    mount_customer(&app.bloc, tier0_customer(&id(2)), 1).await;

    let response = app
        .query_with(
            &format!("query($id: ID!) {{ customer(id: $id) {{ {EVERY_FIELD} }} }}"),
            json!({ "id": id(2) }),
        )
        .await;

    insta::assert_json_snapshot!(response);
    let c = &response["data"]["customer"];
    for unset in [
        "updated_at",
        "date_of_birth",
        "address",
        "country",
        "SyncData",
        "gender",
    ] {
        assert_eq!(c[unset], json!(null), "{unset}");
    }
    assert_eq!(c["created_at"], "2023-03-14T11:49:49.839735959Z");
}

#[tokio::test]
async fn name_is_first_then_last_without_stray_spaces() {
    let app = spawn_app().await;
    let mut record = customer(&id(3));
    record["first_name"] = json!("  Ayo ");
    record["last_name"] = json!("Oladeji  ");
    mount_customer(&app.bloc, record, 1).await;

    let response = app
        .query(&format!(
            r#"{{ customer(id: "{}") {{ name first_name }} }}"#,
            id(3)
        ))
        .await;

    assert_eq!(
        response["data"]["customer"],
        json!({ "name": "Ayo Oladeji", "first_name": "Ayo" })
    );
}

#[tokio::test]
async fn an_unknown_id_is_null_without_an_error() {
    let app = spawn_app().await;
    mount_status(&app.bloc, &id(9), bloc_error(404, "customer not found")).await;

    let response = app
        .query(&format!(r#"{{ customer(id: "{}") {{ id }} }}"#, id(9)))
        .await;

    assert_eq!(response, json!({ "data": { "customer": null } }));
}

#[tokio::test]
async fn an_id_bloc_calls_malformed_is_null_without_an_error() {
    let app = spawn_app().await;
    mount_status(&app.bloc, "not-an-object-id", bloc_error(400, "invalid id")).await;

    let response = app
        .query(r#"{ customer(id: "not-an-object-id") { id } }"#)
        .await;

    assert_eq!(response, json!({ "data": { "customer": null } }));
}

#[tokio::test]
async fn empty_and_overlong_ids_are_rejected_before_reaching_bloc() {
    let app = spawn_app().await;
    let long = "a".repeat(129);

    for bad in ["", long.as_str()] {
        let response = app
            .query_with(
                "query($id: ID!) { customer(id: $id) { id } }",
                json!({ "id": bad }),
            )
            .await;
        assert_eq!(codes(&response), ["BAD_USER_INPUT"], "{response}");
        assert_eq!(response["data"], json!({ "customer": null }));
    }
    let ok_length = "b".repeat(128);
    mount_status(&app.bloc, &ok_length, bloc_error(404, "nope")).await;
    let response = app
        .query_with(
            "query($id: ID!) { customer(id: $id) { id } }",
            json!({ "id": ok_length }),
        )
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(app.upstream_paths().await.len(), 1);
}

#[tokio::test]
async fn dot_segment_ids_are_null_without_reaching_bloc() {
    let app = spawn_app().await;

    for dots in [".", ".."] {
        let response = app
            .query_with(
                "query($id: ID!) { customer(id: $id) { id } }",
                json!({ "id": dots }),
            )
            .await;
        assert_eq!(response, json!({ "data": { "customer": null } }));
    }
    assert!(app.upstream_paths().await.is_empty());
}

#[tokio::test]
async fn hostile_ids_reach_bloc_as_exactly_one_encoded_path_segment() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .respond_with(bloc_error(404, "not found"))
        .mount(&app.bloc)
        .await;
    let cases = [
        ("a/b", "/v1/customers/a%2Fb"),
        ("../admin", "/v1/customers/..%2Fadmin"),
        ("x?admin=1", "/v1/customers/x%3Fadmin=1"),
        ("x#frag", "/v1/customers/x%23frag"),
        ("100%", "/v1/customers/100%25"),
        ("%2e%2e", "/v1/customers/%252e%252e"),
        ("a b", "/v1/customers/a%20b"),
        ("\\..\\x", "/v1/customers/%5C..%5Cx"),
    ];

    for (hostile, _) in cases {
        let response = app
            .query_with(
                "query($id: ID!) { customer(id: $id) { id } }",
                json!({ "id": hostile }),
            )
            .await;
        assert_eq!(
            response,
            json!({ "data": { "customer": null } }),
            "{hostile}"
        );
    }

    let expected: Vec<String> = cases.iter().map(|(_, path)| (*path).to_owned()).collect();
    assert_eq!(app.upstream_paths().await, expected);
}

#[tokio::test]
async fn a_200_with_a_null_customer_is_a_bad_response() {
    let app = spawn_app().await;
    let body = json!({ "success": true, "data": null, "message": "customer" });
    mount_status(
        &app.bloc,
        &id(5),
        ResponseTemplate::new(200).set_body_json(body),
    )
    .await;

    let response = app
        .query(&format!(r#"{{ customer(id: "{}") {{ id }} }}"#, id(5)))
        .await;

    assert_eq!(codes(&response), ["UPSTREAM_BAD_RESPONSE"]);
}

/// `Address.formatted`, the field added as one table line: the set parts in order, the same
/// bytes on the direct path (the second run) as on async-graphql's, and `null` with
/// `UPSTREAM_BAD_RESPONSE` when a part is unreadable, like any field derived from it.
#[tokio::test]
async fn an_address_formats_on_one_line_from_its_set_parts() {
    let app = spawn_app().await;
    let mut partial = customer(&id(7));
    partial["address"] = json!({ "street": " ", "city": "Lekki", "state": "Lagos" });
    let mut drifted = customer(&id(8));
    drifted["address"]["city"] = json!(42);
    mount_customer(&app.bloc, customer(&id(6)), 1).await;
    mount_customer(&app.bloc, partial, 1).await;
    mount_customer(&app.bloc, drifted, 1).await;

    let query = format!(
        r#"{{ a: customer(id: "{}") {{ address {{ formatted }} }} b: customer(id: "{}") {{ address {{ formatted }} }} }}"#,
        id(6),
        id(7)
    );
    let response = app.query_twice(&query).await;
    let bad = app
        .query(&format!(
            r#"{{ customer(id: "{}") {{ address {{ street formatted }} }} }}"#,
            id(8)
        ))
        .await;

    assert_eq!(
        response,
        json!({ "data": {
            "a": { "address": { "formatted": "10c Pinnock Estate, Lekki, Lagos, 100101, Nigeria" } },
            "b": { "address": { "formatted": "Lekki, Lagos" } },
        } })
    );
    assert_eq!(
        bad["data"],
        json!({ "customer": { "address": { "street": "10c Pinnock Estate", "formatted": null } } })
    );
    assert_eq!(codes(&bad), ["UPSTREAM_BAD_RESPONSE"]);
}
