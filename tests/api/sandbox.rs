//! The built-in sandbox: Bloc's envelope, status codes and quirks over seeded data, and the
//! facade answering the same over the sandbox as over wiremock fixtures.

use std::path::Path;

use axum::http::StatusCode;
use bloc_graphql::{sandbox, state::AppState};
use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path},
};

use crate::{
    helpers::{TestApp, config, spawn_app},
    mocks::{envelope, list_envelope},
};

fn fixtures() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/fixtures/sandbox_customers.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn running() -> sandbox::RunningSandbox {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    sandbox::start(listener).unwrap()
}

async fn get(url: String, key: Option<&str>) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    (status, response.json().await.unwrap())
}

#[test]
fn sandbox_data_is_seeded_realistic_and_quirky() {
    let customers = sandbox::customers();
    assert!(customers.len() >= 50);
    let tier0: Vec<&Value> = customers.iter().filter(|c| c["kyc_tier"] == "0").collect();
    assert!(!tier0.is_empty());
    for c in &tier0 {
        assert_eq!(c["date_of_birth"], "0001-01-01T00:00:00Z");
        assert_eq!(c["address"], json!({}));
        assert_eq!(c["country"], "");
        assert!(c.get("gender").is_none() && c.get("image_url").is_none());
    }
    assert!(
        customers
            .iter()
            .any(|c| c["updated_at"] == "0001-01-01T00:00:00Z")
    );
    assert!(
        customers
            .iter()
            .any(|c| c["first_name"].as_str().unwrap().ends_with(' '))
    );
    assert!(customers.iter().any(|c| c["status"] == "archived"));
    for c in customers {
        let id = c["id"].as_str().unwrap();
        assert!(
            id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        assert_eq!(c["bvn"].as_str().unwrap().len(), 11);
        assert_eq!(c["phone_number"].as_str().unwrap().len(), 11);
    }
    // Seeded: the committed fixtures are the sandbox's first records, byte for byte.
    assert_eq!(Value::Array(customers[..4].to_vec()), fixtures());
}

#[tokio::test]
async fn the_sandbox_speaks_bloc_envelope_and_status_codes() {
    let sandbox = running().await;
    let base = sandbox.base_url.as_str().trim_end_matches('/').to_owned();
    let known = sandbox::customers()[0]["id"].as_str().unwrap();

    let (status, list) = get(format!("{base}/customers"), Some("sk_test_x")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list["metadata"],
        json!({ "has_next": false, "has_previous": false })
    );
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        sandbox::CUSTOMER_COUNT
    );

    let (status, one) = get(format!("{base}/customers/{known}"), Some("sk_test_x")).await;
    assert_eq!(
        (status, one["success"].clone()),
        (StatusCode::OK, json!(true))
    );
    assert!(one.get("metadata").is_none());

    let unknown = format!("{base}/customers/ffffffffffffffffffffffff");
    assert_eq!(
        get(unknown, Some("k")).await,
        (
            StatusCode::NOT_FOUND,
            json!({ "success": false, "message": "customer not found" })
        )
    );
    assert_eq!(
        get(format!("{base}/customers/abc"), Some("k")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(format!("{base}/customers"), None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

const SAME_QUERY: &str = r#"query($a: ID!, $b: ID!) {
  customers(limit: 4) { id name kyc_tier status date_of_birth address { city state } }
  a: customer(id: $a) { id full_name phone_number created_at updated_at SyncData { Provider } }
  b: customer(id: $b) { name bvn means_of_identity identity_url }
  missing: customer(id: "ffffffffffffffffffffffff") { id }
  customer_count
}"#;

#[tokio::test]
async fn the_facade_answers_the_same_over_the_sandbox_as_over_wiremock_fixtures() {
    let fixtures = fixtures();
    let records = fixtures.as_array().unwrap();
    let variables = json!({ "a": records[0]["id"], "b": records[3]["id"] });

    let mocked = spawn_app().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list_envelope(fixtures.clone())))
        .mount(&mocked.bloc)
        .await;
    for record in records {
        Mock::given(method("GET"))
            .and(path(format!(
                "/v1/customers/{}",
                record["id"].as_str().unwrap()
            )))
            .respond_with(ResponseTemplate::new(200).set_body_json(envelope(record.clone())))
            .mount(&mocked.bloc)
            .await;
    }
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"success": false, "message": "customer not found"})),
        )
        .mount(&mocked.bloc)
        .await;
    let over_mock = mocked.query_with(SAME_QUERY, variables.clone()).await;

    let sandbox = running().await;
    let over_sandbox = TestApp {
        state: AppState::new(config(sandbox.base_url.clone())).unwrap(),
        bloc: wiremock::MockServer::start().await,
    };
    let mut over_sandbox = over_sandbox.query_with(SAME_QUERY, variables).await;
    // The only difference: the sandbox holds more customers than the four fixtures.
    assert_eq!(
        over_sandbox["data"]["customer_count"],
        sandbox::CUSTOMER_COUNT
    );
    over_sandbox["data"]["customer_count"] = json!(4);

    assert_eq!(over_sandbox, over_mock);
    assert!(over_mock.get("errors").is_none(), "{over_mock}");
}

/// The README's example queries, run against the sandbox; the README quotes these outputs.
#[tokio::test]
async fn readme_examples_run_against_the_sandbox() {
    let sandbox = running().await;
    let app = TestApp {
        state: AppState::new(config(sandbox.base_url.clone())).unwrap(),
        bloc: wiremock::MockServer::start().await,
    };
    let first = sandbox::customers()[1]["id"].as_str().unwrap().to_owned();
    let second = sandbox::customers()[2]["id"].as_str().unwrap().to_owned();

    let mobile = app
        .query(&format!(
            r#"{{ customer(id: "{first}") {{ name kyc_tier address {{ city state }} }} }}"#
        ))
        .await;
    insta::assert_json_snapshot!("readme_mobile", mobile);

    let filtered = app
        .query(
            r#"{ customer_count(filter: { kyc_tier: 0 })
                 customers(limit: 3, filter: { kyc_tier: 0, status: ACTIVE }) { id name created_at } }"#,
        )
        .await;
    insta::assert_json_snapshot!("readme_filtered", filtered);

    let aliased = app
        .query(&format!(
            r#"{{ ada: customer(id: "{first}") {{ name phone_number }}
                 bolu: customer(id: "{second}") {{ name phone_number }}
                 again: customer(id: "{first}") {{ kyc_tier }} }}"#
        ))
        .await;
    insta::assert_json_snapshot!("readme_aliased", aliased);

    // GraphiQL's second tab: the customer page (README, "A customer's whole picture").
    let page = app
        .query_with(
            r#"query CustomerPage($id: ID!) { customer(id: $id) { name kyc_tier
                 accounts { account_number bank_name status balance { amount currency } }
                 cards { brand status expiry_month expiry_year }
                 transactions(limit: 5) { reference drcr status amount { amount } created_at } } }"#,
            serde_json::json!({ "id": "63bda62fa4ac9ae1e8db9996" }),
        )
        .await;
    insta::assert_json_snapshot!("readme_customer_page", page);
}

/// Through the facade, every sandbox account's transactions chain: each starts from the one
/// before, and the newest ends at the account's balance (what the README's amounts rest on).
#[tokio::test]
async fn sandbox_balances_add_up_through_the_facade() {
    let sandbox = running().await;
    let app = TestApp {
        state: AppState::new(config(sandbox.base_url.clone())).unwrap(),
        bloc: wiremock::MockServer::start().await,
    };
    let kobo = |money: &serde_json::Value| money["kobo"].as_str().unwrap().parse::<i64>().unwrap();
    let mut checked = 0;
    let mut past_32_bits = 0;
    for customer in &sandbox::customers()[..20] {
        let id = customer["id"].as_str().unwrap();
        let response = app
            .query(&format!(
                r#"{{ customer(id: "{id}") {{ accounts {{ balance {{ kobo }} transactions(limit: 40) {{
                     drcr status amount {{ kobo }} fee {{ kobo }}
                     previous_account_balance {{ kobo }} current_account_balance {{ kobo }} }} }} }} }}"#
            ))
            .await;
        assert!(response.get("errors").is_none(), "{response}");
        for account in response["data"]["customer"]["accounts"].as_array().unwrap() {
            let balance = kobo(&account["balance"]);
            past_32_bits += usize::from(balance > i64::from(i32::MAX));
            // Newest first: walk them oldest first.
            let transactions: Vec<_> = account["transactions"]
                .as_array()
                .unwrap()
                .iter()
                .rev()
                .collect();
            let mut running = 0;
            for t in &transactions {
                assert_eq!(kobo(&t["previous_account_balance"]), running, "{t}");
                let (amount, fee) = (kobo(&t["amount"]), kobo(&t["fee"]));
                let after = match (t["status"].as_str().unwrap(), t["drcr"].as_str().unwrap()) {
                    ("SUCCESSFUL", "CREDIT") => running + amount - fee,
                    ("SUCCESSFUL", "DEBIT") => running - amount - fee,
                    _ => running,
                };
                assert_eq!(kobo(&t["current_account_balance"]), after, "{t}");
                running = after;
                checked += 1;
            }
            assert_eq!(
                balance, running,
                "the account's balance is its last transaction's"
            );
        }
    }
    assert!(checked > 100, "only {checked} transactions");
    assert_eq!(past_32_bits, 1);
}

#[tokio::test]
async fn the_sandbox_can_stand_in_for_a_distant_bloc() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox =
        sandbox::start_with_latency(listener, std::time::Duration::from_millis(150)).unwrap();

    let started = std::time::Instant::now();
    let (status, _) = get(format!("{}/customers", sandbox.base_url), Some("k")).await;

    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
}
