//! A customer's accounts, cards, wallets and transactions: exact money, batching per relation,
//! the cost model and its allowance, drift, scopes, and a filter Bloc may ignore.

use std::time::{Duration, Instant};

use bloc_graphql::auth::{AnonymousAccess, Scope, Scopes};
use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path, query_param},
};

use crate::{
    helpers::{codes, plain, spawn_app_with},
    mocks::{
        account, bloc_error, card, customer, envelope, id, list_envelope, mount_customer,
        mount_list, mount_path, page_envelope, transaction,
    },
};

const NONE: Duration = Duration::ZERO;

fn accounts_path(customer: &str) -> String {
    format!("/accounts/customers/accounts/{customer}")
}

/// An app with nothing cached, retried or paced: every call reaches the mock.
async fn app() -> crate::helpers::TestApp {
    spawn_app_with(|c| c.resilience = plain()).await
}

fn answered(response: &Value) {
    assert!(response.get("errors").is_none(), "{response}");
}

#[tokio::test]
async fn balances_past_32_bits_are_exact_decimal_strings() {
    let app = app().await;
    let (c, a) = (id(1), id(0xa1));
    mount_customer(&app.bloc, customer(&c), 1).await;
    let accounts = json!([
        account(&a, &c, "9000000001", json!(5_000_000_000_i64)),
        account(&id(0xa2), &c, "9000000002", json!(0)),
        account(&id(0xa3), &c, "9000000003", json!(-1205)),
    ]);
    mount_path(
        &app.bloc,
        &accounts_path(&c),
        list_envelope(accounts),
        NONE,
        1,
    )
    .await;

    let response = app
        .query(&format!(
            r#"{{ customer(id: "{c}") {{ accounts {{ id account_number status balance {{ kobo amount currency }} }} }} }}"#
        ))
        .await;

    answered(&response);
    let accounts = &response["data"]["customer"]["accounts"];
    assert_eq!(
        accounts[0],
        json!({ "id": a, "account_number": "9000000001", "status": "OPEN",
                "balance": { "kobo": "5000000000", "amount": "50000000.00", "currency": "NGN" } })
    );
    assert_eq!(accounts[1]["balance"]["amount"], "0.00");
    assert_eq!(
        accounts[2]["balance"],
        json!({ "kobo": "-1205", "amount": "-12.05", "currency": "NGN" })
    );
}

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
async fn a_failing_relation_is_null_with_its_error_and_an_empty_one_is_an_empty_list() {
    let app = app().await;
    let c = id(1);
    mount_customer(&app.bloc, customer(&c), 1).await;
    Mock::given(method("GET"))
        .and(path(format!("/v1{}", accounts_path(&c))))
        .respond_with(bloc_error(500, "internal error"))
        .mount(&app.bloc)
        .await;
    // Bloc's empty list is `null`.
    mount_path(
        &app.bloc,
        &format!("/cards/customer/{c}"),
        json!({ "success": true, "data": null, "message": "cards" }),
        NONE,
        1,
    )
    .await;
    mount_path(
        &app.bloc,
        &format!("/wallets/customers/{c}"),
        page_envelope(json!(null), false),
        NONE,
        1,
    )
    .await;

    let response = app
        .query(&format!(r#"{{ customer(id: "{c}") {{ name accounts {{ id }} cards {{ id }} wallets {{ id }} }} }}"#))
        .await;

    let page = &response["data"]["customer"];
    assert_eq!(page["name"], "Adaeze Okafor");
    assert_eq!(page["accounts"], Value::Null);
    assert_eq!(page["cards"], json!([]));
    assert_eq!(page["wallets"], json!([]));
    assert_eq!(codes(&response), ["UPSTREAM_UNAVAILABLE"]);
    assert_eq!(
        response["errors"][0]["path"],
        json!(["customer", "accounts"])
    );
}

#[tokio::test]
async fn drift_in_a_money_record_spoils_only_its_field() {
    let app = app().await;
    let c = id(1);
    mount_customer(&app.bloc, customer(&c), 1).await;
    let mut odd = account(&id(0xa1), &c, "9000000001", json!("lots"));
    odd["status"] = json!("Dormant");
    let mut fine = account(&id(0xa2), &c, "9000000002", json!(100));
    fine["kyc_tier"] = json!(2);
    mount_path(
        &app.bloc,
        &accounts_path(&c),
        list_envelope(json!([odd, fine, 7])),
        NONE,
        1,
    )
    .await;

    let response = app
        .query(&format!(r#"{{ customer(id: "{c}") {{ accounts {{ account_number status kyc_tier updated_at balance {{ amount }} }} }} }}"#))
        .await;

    let accounts = &response["data"]["customer"]["accounts"];
    assert_eq!(
        accounts[0],
        json!({ "account_number": "9000000001", "status": null,
        "kyc_tier": 1, "updated_at": null, "balance": null })
    );
    assert_eq!(accounts[1]["balance"]["amount"], "1.00");
    assert_eq!(accounts[1]["kyc_tier"], 2);
    let mut found = codes(&response);
    found.sort();
    assert_eq!(
        found,
        [
            "UPSTREAM_BAD_RESPONSE",
            "UPSTREAM_BAD_RESPONSE",
            "UPSTREAM_BAD_RESPONSE"
        ],
        "status, balance, and the record that is not one: {response}"
    );
    let messages: Vec<&str> = response["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(
        messages.contains(&"1 account record(s) from Bloc could not be read and were left out"),
        "{messages:?}"
    );
}

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
async fn accounts_and_transactions_are_looked_up_by_their_own_keys() {
    let app = app().await;
    let (c, a) = (id(1), id(0xa1));
    mount_path(
        &app.bloc,
        &format!("/accounts/{a}"),
        envelope(account(&a, &c, "9000000001", json!(1))),
        NONE,
        1,
    )
    .await;
    mount_path(
        &app.bloc,
        "/accounts/number/9000000001",
        envelope(account(&a, &c, "9000000001", json!(1))),
        NONE,
        1,
    )
    .await;
    mount_path(
        &app.bloc,
        "/transactions/reference/ref-1",
        envelope(transaction(1, &c, &a, "CR")),
        NONE,
        1,
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/v1/transactions/reference/nope"))
        .respond_with(bloc_error(404, "transaction not found"))
        .expect(1)
        .mount(&app.bloc)
        .await;

    let response = app
        .query(&format!(
            r#"{{ account(id: "{a}") {{ id }} again: account(id: "{a}") {{ id }}
                 account_by_number(account_number: "9000000001") {{ id }}
                 transaction(reference: "ref-1") {{ reference amount {{ kobo }} }}
                 missing: transaction(reference: "nope") {{ id }} }}"#
        ))
        .await;

    answered(&response);
    assert_eq!(response["data"]["account"]["id"], a);
    assert_eq!(response["data"]["account_by_number"]["id"], a);
    assert_eq!(
        response["data"]["transaction"],
        json!({ "reference": "ref-1", "amount": { "kobo": "150000" } })
    );
    assert_eq!(response["data"]["missing"], Value::Null);
    assert_eq!(app.upstream_paths().await.len(), 4);
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
