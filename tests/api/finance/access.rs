//! `finance:read`, hostile keys, and no card secret in the schema.

use bloc_graphql::auth::{AnonymousAccess, Scope, Scopes};
use serde_json::Value;

use super::app;
use crate::{
    helpers::{codes, plain, spawn_app_with},
    mocks::{customer, id, mount_customer},
};

#[tokio::test]
async fn without_finance_read_the_money_fields_are_forbidden_and_cost_no_call() {
    let app = spawn_app_with(|c| {
        c.resilience = plain();
        c.auth.anonymous = Some(AnonymousAccess {
            scopes: [Scope::Read, Scope::Pii, Scope::Trace]
                .into_iter()
                .collect::<Scopes>(),
            rate: None,
        });
    })
    .await;
    let c = id(1);
    mount_customer(&app.bloc, customer(&c), 1).await;

    let response = app
        .query(&format!(
            r#"{{ customer(id: "{c}") {{ name accounts {{ id }} transactions {{ id }} }}
                 account(id: "{}") {{ id }} }}"#,
            id(0xa1)
        ))
        .await;

    assert_eq!(response["data"]["customer"]["name"], "Adaeze Okafor");
    assert_eq!(response["data"]["customer"]["accounts"], Value::Null);
    assert_eq!(response["data"]["account"], Value::Null);
    assert_eq!(codes(&response), ["FORBIDDEN", "FORBIDDEN", "FORBIDDEN"]);
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("finance:read")
    );
    assert_eq!(app.upstream_paths().await, [format!("/v1/customers/{c}")]);
}

#[tokio::test]
async fn hostile_keys_are_refused_before_any_call() {
    let app = app().await;
    mount_customer(&app.bloc, customer(&id(1)), 1).await;
    for (field, argument) in [
        ("account_by_number", "account_number: \"../customers\""),
        ("account_by_number", "account_number: \"\""),
        (
            "account_by_number",
            "account_number: \"12345678901234567890123\"",
        ),
        ("transaction", "reference: \"a\\tb\""),
        ("transaction", "reference: \"\""),
        ("account", "id: \"\""),
    ] {
        let response = app
            .query(&format!("{{ {field}({argument}) {{ id }} }}"))
            .await;
        assert_eq!(
            codes(&response),
            ["BAD_USER_INPUT"],
            "{field}({argument}): {response}"
        );
    }
    // A dot segment is no account: answered without a call.
    let response = app
        .query(r#"{ transaction(reference: "..") { id } }"#)
        .await;
    assert_eq!(response["data"]["transaction"], Value::Null);
    let response = app
        .query(&format!(
            r#"{{ customer(id: "{}") {{ transactions(limit: 101) {{ id }} }} }}"#,
            id(1)
        ))
        .await;
    assert!(
        codes(&response).contains(&"BAD_USER_INPUT".to_owned()),
        "{response}"
    );
    assert!(
        app.upstream_paths()
            .await
            .iter()
            .all(|p| p.starts_with("/v1/customers/"))
    );
}

#[tokio::test]
async fn no_card_field_can_show_a_card_number_or_its_kyc_detail() {
    let app = app().await;
    for field in ["number", "pan", "cvv", "pin", "kyc_detail", "secure_data"] {
        let response = app
            .query(&format!(
                r#"{{ customer(id: "{}") {{ cards {{ {field} }} }} }}"#,
                id(1)
            ))
            .await;
        assert_eq!(codes(&response), ["GRAPHQL_VALIDATION_FAILED"], "{field}");
    }
}
