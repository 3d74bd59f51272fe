//! Money records as Bloc sends them: exact amounts, drift, failing and empty relations, lookups
//! by their own keys.

use serde_json::{Value, json};
use wiremock::{
    Mock,
    matchers::{method, path},
};

use super::{NONE, accounts_path, answered, app};
use crate::{
    helpers::codes,
    mocks::{
        account, bloc_error, customer, envelope, id, list_envelope, mount_customer, mount_path,
        page_envelope, transaction,
    },
};

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
