//! Transactions: filtered again here whatever Bloc sends, and paged as far as asked.

use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path, query_param},
};

use super::{answered, app};
use crate::mocks::{customer, id, mount_customer, page_envelope, transaction};

#[tokio::test]
async fn transactions_bloc_did_not_filter_are_filtered_here() {
    let app = app().await;
    let (c, other, a) = (id(1), id(2), id(0xa1));
    mount_customer(&app.bloc, customer(&c), 1).await;
    // Bloc ignoring `customer_id` and `drcr`: everyone's credits and debits.
    let page = json!([
        transaction(1, &other, &id(0xb1), "DR"),
        transaction(2, &c, &a, "CR"),
        transaction(3, &c, &a, "DR"),
        transaction(4, "000000000000000000000000", &a, "DR"),
        transaction(5, &c, &a, "DR"),
    ]);
    Mock::given(method("GET"))
        .and(path("/v1/transactions"))
        .and(query_param("customer_id", c.as_str()))
        .and(query_param("drcr", "DR"))
        .and(query_param("per_page", "50"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page_envelope(page, false)))
        .expect(1)
        .mount(&app.bloc)
        .await;

    let response = app
        .query(&format!(r#"{{ customer(id: "{c}") {{ transactions(filter: {{ drcr: DEBIT }}) {{ reference customer_id }} }} }}"#))
        .await;

    answered(&response);
    assert_eq!(
        response["data"]["customer"]["transactions"],
        json!([{ "reference": "ref-3", "customer_id": c }, { "reference": "ref-5", "customer_id": c }])
    );
}

#[tokio::test]
async fn transactions_page_through_bloc_as_far_as_offset_and_limit_need() {
    let app = app().await;
    let (c, a) = (id(1), id(0xa1));
    mount_customer(&app.bloc, customer(&c), 1).await;
    let page = |from: u32, count: u32| -> Value {
        json!(
            (from..from + count)
                .map(|n| transaction(n, &c, &a, "CR"))
                .collect::<Vec<_>>()
        )
    };
    for (number, body) in [
        ("1", page_envelope(page(0, 50), true)),
        ("2", page_envelope(page(50, 50), true)),
    ] {
        Mock::given(method("GET"))
            .and(path("/v1/transactions"))
            .and(query_param("page", number))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(&app.bloc)
            .await;
    }

    let response = app
        .query(&format!(
            r#"{{ customer(id: "{c}") {{ transactions(offset: 45, limit: 10) {{ reference }} }} }}"#
        ))
        .await;

    answered(&response);
    let references: Vec<&str> = response["data"]["customer"]["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reference"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (45..55).map(|n| format!("ref-{n}")).collect();
    assert_eq!(references, expected);
}

#[tokio::test]
async fn a_bloc_that_ignores_the_page_parameter_is_not_asked_twice_for_nothing() {
    let app = app().await;
    let (c, a) = (id(1), id(0xa1));
    mount_customer(&app.bloc, customer(&c), 1).await;
    let same: Vec<Value> = (0..50).map(|n| transaction(n, &c, &a, "CR")).collect();
    Mock::given(method("GET"))
        .and(path("/v1/transactions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page_envelope(json!(same), true)))
        .expect(2)
        .mount(&app.bloc)
        .await;

    let response = app
        .query(&format!(r#"{{ customer(id: "{c}") {{ transactions(offset: 40, limit: 100) {{ reference }} }} }}"#))
        .await;

    answered(&response);
    assert_eq!(
        response["data"]["customer"]["transactions"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
}

#[tokio::test]
async fn a_bloc_with_endless_pages_of_someone_elses_transactions_gets_only_the_priced_pages() {
    let app = app().await;
    let (c, other) = (id(1), id(2));
    mount_customer(&app.bloc, customer(&c), 1).await;
    // Every page full of another customer's transactions, fresh ids each time, and more to come.
    for page in 1..=3u32 {
        let others: Vec<Value> = (0..50)
            .map(|n| transaction(page * 100 + n, &other, &id(0xb1), "CR"))
            .collect();
        Mock::given(method("GET"))
            .and(path("/v1/transactions"))
            .and(query_param("page", page.to_string().as_str()))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(page_envelope(json!(others), true)),
            )
            .mount(&app.bloc)
            .await;
    }

    // 60 transactions span two pages of 50: two calls, then an empty answer, not a third call.
    let response = app
        .traced(&json!({ "query": format!(r#"{{ customer(id: "{c}") {{ transactions(limit: 60) {{ id }} }} }}"#) }))
        .await;

    answered(&response);
    assert_eq!(response["data"]["customer"]["transactions"], json!([]));
    assert_eq!(
        response["extensions"]["upstream"]["calls"], 3,
        "the customer and two pages"
    );
}

#[tokio::test]
async fn a_404_from_the_transactions_endpoint_is_an_error_not_an_empty_list() {
    let app = app().await;
    let c = id(1);
    mount_customer(&app.bloc, customer(&c), 1).await;
    Mock::given(method("GET"))
        .and(path("/v1/transactions"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({ "success": false, "message": "route not found" })),
        )
        .expect(1)
        .mount(&app.bloc)
        .await;

    let response = app
        .query(&format!(
            r#"{{ customer(id: "{c}") {{ name transactions {{ id }} }} }}"#
        ))
        .await;

    assert_eq!(response["data"]["customer"]["name"], "Adaeze Okafor");
    assert_eq!(response["data"]["customer"]["transactions"], Value::Null);
    assert_eq!(crate::helpers::codes(&response), ["UPSTREAM_BAD_RESPONSE"]);
}
