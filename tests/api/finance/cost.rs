//! The cost model counts relations per parent before any call, and a request never makes more
//! calls than it was priced at.

use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path},
};

use super::{NONE, accounts_path, answered, app};
use crate::{
    helpers::codes,
    mocks::{
        account, customer, id, list_envelope, mount_customer, mount_list, mount_path, page_envelope,
    },
};

#[tokio::test]
async fn the_cost_model_counts_relations_per_parent_before_any_call() {
    let app = app().await;
    // 1 list + 50 × 3 relations = 151 > 120.
    let response = app
        .query("{ customers { accounts { id } cards { id } wallets { id } } }")
        .await;
    assert_eq!(codes(&response), ["MAX_UPSTREAM_CALLS_EXCEEDED"]);
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("151"),
        "{response}"
    );
    // Under each of ten assumed accounts, 1,100 transactions: 1 + 1 + 10 × 22 pages of 50.
    let response = app
        .query(&format!(
            r#"{{ customer(id: "{}") {{ accounts {{ transactions(limit: 100, offset: 1000) {{ id }} }} }} }}"#,
            id(1)
        ))
        .await;
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(" 222 "),
        "{response}"
    );
    assert!(app.upstream_paths().await.is_empty(), "nothing was called");
}

#[tokio::test]
async fn a_table_of_fifty_with_one_relation_is_admitted_by_default() {
    let app = app().await;
    let customers: Vec<Value> = (0..50).map(|n| customer(&id(n))).collect();
    mount_list(&app.bloc, Value::Array(customers), 1).await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(
            "^/v1/accounts/customers/accounts/",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(list_envelope(json!(null))))
        .expect(50)
        .mount(&app.bloc)
        .await;

    let response = app
        .traced(&json!({ "query": "{ customers { name accounts { id } } }" }))
        .await;

    answered(&response);
    assert_eq!(response["extensions"]["upstream"]["calls"], 51);
}

#[tokio::test]
async fn a_list_longer_than_priced_makes_no_call_past_the_price() {
    let app = app().await;
    let c = id(1);
    mount_customer(&app.bloc, customer(&c), 1).await;
    // Twelve accounts, two more than the cost model assumes.
    let accounts: Vec<Value> = (0..12)
        .map(|n| account(&id(0xa0 + n), &c, &format!("90000000{n:02}"), json!(0)))
        .collect();
    mount_path(
        &app.bloc,
        &accounts_path(&c),
        list_envelope(json!(accounts)),
        NONE,
        1,
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/v1/transactions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page_envelope(json!(null), false)))
        .expect(10)
        .mount(&app.bloc)
        .await;

    let response = app
        .query(&format!(
            r#"{{ customer(id: "{c}") {{ accounts {{ id transactions(limit: 1) {{ id }} }} }} }}"#
        ))
        .await;

    let accounts = response["data"]["customer"]["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 12);
    let refused = accounts
        .iter()
        .filter(|a| a["transactions"].is_null())
        .count();
    assert_eq!(refused, 2);
    assert_eq!(
        codes(&response),
        ["MAX_UPSTREAM_CALLS_EXCEEDED", "MAX_UPSTREAM_CALLS_EXCEEDED"]
    );
}
