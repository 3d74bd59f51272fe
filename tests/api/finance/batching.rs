//! One loader per relation and key: one call per distinct customer, a customer page in two
//! round trips, back-references reused, the shared cache and retries.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path, query_param},
};

use super::{NONE, accounts_path, answered, app};
use crate::{
    helpers::spawn_app_with,
    mocks::{
        account, bloc_error, card, customer, envelope, id, list_envelope, mount_customer,
        mount_list, mount_path, page_envelope, transaction,
    },
};

#[tokio::test]
async fn a_table_of_customers_makes_one_accounts_call_per_distinct_customer() {
    let app = app().await;
    let customers: Vec<Value> = (0..20).map(|n| customer(&id(n))).collect();
    mount_list(&app.bloc, Value::Array(customers), 1).await;
    for n in 0..20 {
        let c = id(n);
        let accounts = json!([account(
            &id(0x100 + n),
            &c,
            &format!("90000{n:05}"),
            json!(n)
        )]);
        mount_path(
            &app.bloc,
            &accounts_path(&c),
            list_envelope(accounts),
            NONE,
            1,
        )
        .await;
    }
    // Aliases, a second list field and the same customers by id ask again: no call repeats.
    let query = format!(
        r#"{{ customers(limit: 20) {{ accounts {{ account_number }} again: accounts {{ id }} }}
             more: customers(limit: 5) {{ accounts {{ id }} }}
             one: customer(id: "{}") {{ accounts {{ id }} }} }}"#,
        id(3)
    );

    let response = app.traced(&json!({ "query": query })).await;

    answered(&response);
    let rows = response["data"]["customers"].as_array().unwrap();
    assert_eq!(rows.len(), 20);
    assert_eq!(rows[7]["accounts"][0]["account_number"], "9000000007");
    assert_eq!(response["data"]["one"]["accounts"][0]["id"], id(0x103));
    let paths = app.upstream_paths().await;
    assert_eq!(
        paths
            .iter()
            .filter(|p| p.starts_with("/v1/accounts/"))
            .count(),
        20
    );
    assert_eq!(
        paths.len(),
        21,
        "the list and twenty accounts calls: {paths:?}"
    );
}

#[tokio::test]
async fn a_customer_page_makes_four_calls_the_three_relations_at_once() {
    let app = app().await;
    let c = id(1);
    let slow = Duration::from_millis(300);
    mount_path(
        &app.bloc,
        &format!("/customers/{c}"),
        envelope(customer(&c)),
        slow,
        1,
    )
    .await;
    let accounts = json!([account(&id(0xa1), &c, "9000000001", json!(450000))]);
    mount_path(
        &app.bloc,
        &accounts_path(&c),
        list_envelope(accounts),
        slow,
        1,
    )
    .await;
    mount_path(
        &app.bloc,
        &format!("/cards/customer/{c}"),
        list_envelope(json!([card(&id(0xc1), &c)])),
        slow,
        1,
    )
    .await;
    let transactions: Vec<Value> = (0..8)
        .map(|n| transaction(n, &c, &id(0xa1), "CR"))
        .collect();
    Mock::given(method("GET"))
        .and(path("/v1/transactions"))
        .and(query_param("customer_id", c.as_str()))
        .and(query_param("page", "1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(page_envelope(json!(transactions), false))
                .set_delay(slow),
        )
        .expect(1)
        .mount(&app.bloc)
        .await;
    let query = format!(
        r#"{{ customer(id: "{c}") {{ name accounts {{ account_number balance {{ amount }} }}
             cards {{ brand status billing_address {{ city }} expiry_year }}
             transactions(limit: 5) {{ reference drcr amount {{ amount }} }} }} }}"#
    );

    let started = Instant::now();
    let response = app.traced(&json!({ "query": query })).await;
    let elapsed = started.elapsed();

    answered(&response);
    let page = &response["data"]["customer"];
    assert_eq!(page["accounts"][0]["balance"]["amount"], "4500.00");
    assert_eq!(
        page["cards"][0],
        json!({ "brand": "Verve", "status": "ACTIVE",
        "billing_address": { "city": "Lekki" }, "expiry_year": 2027 })
    );
    assert_eq!(page["transactions"].as_array().unwrap().len(), 5);
    assert_eq!(
        page["transactions"][0],
        json!({ "reference": "ref-0", "drcr": "CREDIT",
        "amount": { "amount": "1500.00" } })
    );
    assert_eq!(response["extensions"]["upstream"]["calls"], 4);
    // Four calls one after another take 1.2 s; the customer, then three at once, 0.6 s.
    assert!(elapsed < Duration::from_millis(1_050), "took {elapsed:?}");
}

#[tokio::test]
async fn back_references_reuse_the_requests_loaders() {
    let app = app().await;
    let c = id(1);
    let a = id(0xa1);
    mount_customer(&app.bloc, customer(&c), 1).await;
    mount_path(
        &app.bloc,
        &accounts_path(&c),
        list_envelope(json!([account(&a, &c, "9000000001", json!(1))])),
        NONE,
        1,
    )
    .await;
    let page = json!([transaction(1, &c, &a, "DR"), transaction(2, &c, &a, "CR")]);
    Mock::given(method("GET"))
        .and(path("/v1/transactions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page_envelope(page, false)))
        .expect(1)
        .mount(&app.bloc)
        .await;
    mount_path(
        &app.bloc,
        &format!("/accounts/{a}"),
        envelope(account(&a, &c, "9000000001", json!(1))),
        NONE,
        1,
    )
    .await;

    let response = app
        .query(&format!(
            r#"{{ customer(id: "{c}") {{ accounts {{ customer {{ name }} }}
                 transactions {{ customer {{ id }} account {{ account_number customer {{ id }} }} }} }} }}"#
        ))
        .await;

    answered(&response);
    let transactions = &response["data"]["customer"]["transactions"];
    assert_eq!(transactions[1]["account"]["account_number"], "9000000001");
    assert_eq!(transactions[0]["customer"]["id"], c);
    // The customer once, its accounts, its transactions, and the account once for both.
    assert_eq!(app.upstream_paths().await.len(), 4);
}

#[tokio::test]
async fn the_shared_cache_and_retries_cover_the_relations() {
    // Production resilience: cache, retries, breaker.
    let app = spawn_app_with(|_| {}).await;
    let c = id(1);
    mount_customer(&app.bloc, customer(&c), 1).await;
    // Bloc fails the first accounts call; the retry gets them.
    Mock::given(method("GET"))
        .and(path(format!("/v1{}", accounts_path(&c))))
        .respond_with(bloc_error(503, "unavailable"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&app.bloc)
        .await;
    let accounts = json!([account(&id(0xa1), &c, "9000000001", json!(1))]);
    mount_path(
        &app.bloc,
        &accounts_path(&c),
        list_envelope(accounts),
        NONE,
        1,
    )
    .await;
    let query = json!({ "query": format!(r#"{{ customer(id: "{c}") {{ accounts {{ account_number }} }} }}"#) });

    let first = app.traced(&query).await;
    let second = app.traced(&query).await;

    answered(&first);
    assert_eq!(
        first["data"]["customer"]["accounts"][0]["account_number"],
        "9000000001"
    );
    assert_eq!(second["data"], first["data"]);
    assert_eq!(second["extensions"]["upstream"]["calls"], 0, "{second}");
    assert_eq!(second["extensions"]["upstream"]["cache_hits"], 2);
}
