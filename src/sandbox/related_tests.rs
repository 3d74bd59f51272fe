//! The related records over HTTP: the wire contract's envelopes, paging, filters and errors,
//! lookups that find every record listed, and large and live sandboxes.

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use serde_json::Value;
use tower::ServiceExt;

use super::{
    relations_tests::{all, customer_id, text},
    tests::get,
    *,
};

/// Which transactions a query should return.
type Admits<'a> = dyn Fn(&Value) -> bool + 'a;

fn router() -> Router {
    router_with_latency(std::time::Duration::ZERO)
}

/// Every transaction of `customer`, paging `per_page` at a time from page 1 with `filters`;
/// checks each page's metadata on the way.
async fn page_through(router: &Router, filters: &str, per_page: usize) -> Vec<Value> {
    let mut seen = Vec::new();
    for page in 1.. {
        let (status, body) = get(
            router,
            &format!("/v1/transactions?{filters}&per_page={per_page}&page={page}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["metadata"]["has_previous"], page > 1);
        let items = body["data"].as_array().cloned().unwrap_or_default();
        let last = body["metadata"]["has_next"] == false;
        // Every page but the last is full, and the last is empty only when all are.
        if last {
            assert!(
                !items.is_empty() || page == 1,
                "page {page} of {filters} is empty"
            );
            assert!(items.len() <= per_page);
        } else {
            assert_eq!(items.len(), per_page, "page {page} of {filters}");
        }
        seen.extend(items);
        if last {
            return seen;
        }
        assert!(page < 1_000, "has_next never ends");
    }
    unreachable!()
}

#[tokio::test]
async fn the_customer_endpoints_answer_what_relations_of_says() {
    let router = router();
    for (index, relations) in all().iter().enumerate() {
        let id = customer_id(index);
        for (path, message, items, metadata) in [
            (
                format!("/v1/accounts/customers/accounts/{id}"),
                "accounts found",
                &relations.accounts,
                false,
            ),
            (
                format!("/v1/cards/customer/{id}"),
                "cards",
                &relations.cards,
                false,
            ),
            (
                format!("/v1/wallets/customers/{id}"),
                "wallets found",
                &relations.wallets,
                true,
            ),
        ] {
            let (status, body) = get(&router, &path).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body["success"], true);
            assert_eq!(body["message"], message);
            // An empty list is null, as a Go nil slice is.
            let expected = if items.is_empty() {
                Value::Null
            } else {
                Value::Array(items.clone())
            };
            assert_eq!(body["data"], expected, "{path}");
            assert_eq!(body.get("metadata").is_some(), metadata, "{path}");
        }
    }
    let (_, wallets) = get(
        &router,
        &format!("/v1/wallets/customers/{}", customer_id(0)),
    )
    .await;
    assert_eq!(
        wallets["metadata"],
        serde_json::json!({"has_next": false, "has_previous": false})
    );
}

#[tokio::test]
async fn two_per_page_visit_every_transaction_once_newest_first() {
    let router = router();
    // The first customer, and one with two accounts whose histories interleave.
    for index in [0, 3] {
        let expected = relations_of(index).unwrap().transactions;
        let seen = page_through(&router, &format!("customer_id={}", customer_id(index)), 2).await;
        assert_eq!(seen, expected);
        let times: Vec<&str> = seen.iter().map(|t| text(&t["created_at"])).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    }
    let id = customer_id(0);
    let count = relations_of(0).unwrap().transactions.len();
    let past_the_end = format!(
        "/v1/transactions?customer_id={id}&per_page=2&page={}",
        count / 2 + 2
    );
    let (status, body) = get(&router, &past_the_end).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"], Value::Null);
    assert_eq!(body["metadata"]["has_next"], false);
    assert_eq!(body["metadata"]["has_previous"], true);
}

#[tokio::test]
async fn per_page_defaults_to_twenty_and_is_held_to_one_to_a_hundred() {
    let router = router();
    let id = customer_id(0);
    let total = relations_of(0).unwrap().transactions.len();
    assert!(total > 20);
    for (query, expected) in [
        ("", 20),
        ("&per_page=0", 1),
        ("&per_page=-3", 1),
        ("&per_page=1000", total),
        ("&page=0", 20),
    ] {
        let (status, body) = get(
            &router,
            &format!("/v1/transactions?customer_id={id}{query}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(body["data"].as_array().unwrap().len(), expected, "{query}");
        assert_eq!(body["metadata"]["has_next"], expected < total, "{query}");
        assert_eq!(body["metadata"]["has_previous"], false, "{query}");
    }
}

#[tokio::test]
async fn every_filter_is_honoured() {
    let router = router();
    // Customer 3 has two accounts, credits and debits, failed and pending transactions.
    let relations = relations_of(3).unwrap();
    let id = customer_id(3);
    let second = text(&relations.accounts[1]["id"]);
    let cases: [(String, &Admits<'_>); 6] = [
        (format!("customer_id={id}&account_id={second}"), &|t| {
            t["account_id"] == second
        }),
        (format!("account_id={second}"), &|t| {
            t["account_id"] == second
        }),
        (format!("customer_id={id}&drcr=CR"), &|t| t["drcr"] == "CR"),
        (format!("customer_id={id}&drcr=DR"), &|t| t["drcr"] == "DR"),
        (format!("customer_id={id}&status=failed"), &|t| {
            t["status"] == "failed"
        }),
        (
            format!("customer_id={id}&status=pending&drcr=DR&unknown=1"),
            &|t| t["status"] == "pending" && t["drcr"] == "DR",
        ),
    ];
    for (filters, admits) in cases {
        let expected: Vec<Value> = relations
            .transactions
            .iter()
            .filter(|t| admits(t))
            .cloned()
            .collect();
        let seen = page_through(&router, &filters, 3).await;
        assert_eq!(seen, expected, "{filters}");
    }
    assert!(
        !page_through(&router, &format!("customer_id={id}&status=failed"), 3)
            .await
            .is_empty()
    );

    // Another customer's account, an unknown customer, a value no record has: nothing.
    let elsewhere = text(&relations_of(0).unwrap().accounts[0]["id"]).to_owned();
    for filters in [
        format!("customer_id={id}&account_id={elsewhere}"),
        "customer_id=ffffffffffffffffffffffff".to_owned(),
        "account_id=ffffffffffffffffffffffff".to_owned(),
        format!("customer_id={id}&drcr=XX"),
    ] {
        let (status, body) = get(&router, &format!("/v1/transactions?{filters}")).await;
        assert_eq!(status, StatusCode::OK, "{filters}");
        assert_eq!(body["data"], Value::Null, "{filters}");
        assert_eq!(body["metadata"]["has_next"], false, "{filters}");
    }
}

#[tokio::test]
async fn malformed_ids_are_400_and_unknown_ones_404() {
    use super::ids::{self, Kind};
    let router = router();
    let first = relations_of(0).unwrap();
    // Ids that carry the first customer's index and the place of a record it has, but not
    // that record's time or noise: they decode, and name nothing.
    let near_miss = ids::object_id(Kind::Account, 1_600_000_000, 0, 0);
    let wrong_reference = ids::reference(0x1234_5678, 0, 0, 0);
    let wallet_number = text(&first.wallets[0]["account_number"]);
    let cases = [
        ("/v1/accounts/customers/accounts/not-an-id".to_owned(), 400),
        (
            "/v1/accounts/customers/accounts/ffffffffffffffffffffffff".to_owned(),
            404,
        ),
        ("/v1/cards/customer/63b1d64cf0409e75a5412a0".to_owned(), 400),
        (
            "/v1/cards/customer/ffffffffffffffffffffffff".to_owned(),
            404,
        ),
        (
            "/v1/wallets/customers/63b1d64cf0409e75a5412a0z".to_owned(),
            400,
        ),
        (
            "/v1/wallets/customers/ffffffffffffffffffffffff".to_owned(),
            404,
        ),
        ("/v1/accounts/xyz".to_owned(), 400),
        ("/v1/accounts/ffffffffffffffffffffffff".to_owned(), 404),
        (format!("/v1/accounts/{}", customer_id(0)), 404),
        (format!("/v1/accounts/{near_miss}"), 404),
        ("/v1/accounts/number/12345".to_owned(), 400),
        ("/v1/accounts/number/12345abcde".to_owned(), 400),
        ("/v1/accounts/number/0000000000".to_owned(), 404),
        (format!("/v1/accounts/number/{wallet_number}"), 404),
        ("/v1/transactions/reference/nope".to_owned(), 404),
        (format!("/v1/transactions/reference/{wrong_reference}"), 404),
        ("/v1/transactions?customer_id=xyz".to_owned(), 400),
        ("/v1/transactions?account_id=63b1d64c".to_owned(), 400),
        (
            format!(
                "/v1/transactions?customer_id={}&per_page=ten",
                customer_id(0)
            ),
            400,
        ),
        (
            format!("/v1/transactions?customer_id={}&page=1.5", customer_id(0)),
            400,
        ),
    ];
    for (path, expected) in cases {
        let (status, body) = get(&router, &path).await;
        assert_eq!(status.as_u16(), expected, "{path}");
        assert_eq!(body["success"], false, "{path}");
        assert!(body["message"].is_string(), "{path}");
    }
    let (_, body) = get(&router, "/v1/cards/customer/ffffffffffffffffffffffff").await;
    assert_eq!(body["message"], "customer not found");
}

#[tokio::test]
async fn every_account_and_transaction_is_found_by_its_id_number_and_reference() {
    let router = router();
    for relations in all() {
        for account in &relations.accounts {
            for path in [
                format!("/v1/accounts/{}", text(&account["id"])),
                format!("/v1/accounts/number/{}", text(&account["account_number"])),
            ] {
                let (status, body) = get(&router, &path).await;
                assert_eq!(status, StatusCode::OK, "{path}");
                assert_eq!(body["message"], "account found");
                assert_eq!(body["data"], *account, "{path}");
            }
        }
        for t in &relations.transactions {
            let path = format!("/v1/transactions/reference/{}", text(&t["reference"]));
            let (status, body) = get(&router, &path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(body["message"], "transaction found");
            assert_eq!(body["data"], *t);
        }
    }
}

#[tokio::test]
async fn no_card_carries_a_number_cvv_pin_or_kyc_detail() {
    fn keys(value: &Value, into: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    into.push(key.to_lowercase());
                    keys(inner, into);
                }
            }
            Value::Array(items) => items.iter().for_each(|item| keys(item, into)),
            _ => {}
        }
    }
    let router = router();
    let mut found = Vec::new();
    for index in 0..CUSTOMER_COUNT {
        let (_, body) = get(
            &router,
            &format!("/v1/cards/customer/{}", customer_id(index)),
        )
        .await;
        keys(&body["data"], &mut found);
    }
    assert!(
        found.iter().any(|k| k == "expiry_year"),
        "cards were checked"
    );
    for secret in ["number", "pan", "cvv", "cvv2", "pin", "kyc_detail"] {
        assert!(!found.iter().any(|k| k == secret), "{secret}");
    }
}

#[tokio::test]
async fn money_is_whole_kobo_and_kyc_tiers_are_strings() {
    let relations = relations_of(0).unwrap();
    let account = &relations.accounts[0];
    assert!(account["balance"].is_u64());
    assert!(account["kyc_tier"].is_string());
    assert_eq!(account["customer"], customers()[0]);
    for t in &relations.transactions {
        for key in [
            "amount",
            "fee",
            "previous_account_balance",
            "current_account_balance",
        ] {
            assert!(t[key].is_u64(), "{key}: {t}");
        }
    }
    // On the wire too: no float, no exponent.
    let router = router();
    let (_, body) = get(&router, &format!("/v1/accounts/{}", text(&account["id"]))).await;
    let balance = account["balance"].as_u64().unwrap();
    assert!(
        body.to_string()
            .contains(&format!("\"balance\":{balance},"))
    );
}

#[tokio::test]
async fn the_new_routes_want_a_bearer_and_carry_blocs_headers() {
    let router = router();
    let path = format!("/v1/accounts/customers/accounts/{}", customer_id(0));
    let anonymous = Request::get(&path).body(Body::empty()).unwrap();
    let response = router.clone().oneshot(anonymous).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let request = Request::get(&path)
        .header(header::AUTHORIZATION, "Bearer sk_test_x")
        .body(Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-resource"], "application/json");
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
}

#[tokio::test]
async fn the_whole_ledger_is_listed_in_the_default_sandbox_only() {
    let total: usize = all().iter().map(|r| r.transactions.len()).sum();
    let seen = page_through(&router(), "", 100).await;
    assert_eq!(seen.len(), total);
    let times: Vec<&str> = seen.iter().map(|t| text(&t["created_at"])).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");

    let large = router_with(SandboxOptions {
        customers: 1_000,
        ..SandboxOptions::default()
    });
    let (status, _) = get(&large, "/v1/transactions").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_large_sandbox_derives_its_last_customers_records() {
    let count = 20_000;
    let router = router_with(SandboxOptions {
        customers: count,
        ..SandboxOptions::default()
    });
    let last = generate(count).pop().unwrap();
    let id = text(&last["id"]);
    let (status, accounts) = get(&router, &format!("/v1/accounts/customers/accounts/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let account = &accounts["data"][0];
    assert_eq!(account["customer"], last);
    for path in [
        format!("/v1/accounts/{}", text(&account["id"])),
        format!("/v1/accounts/number/{}", text(&account["account_number"])),
    ] {
        let (status, body) = get(&router, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body["data"], *account);
    }
    let seen = page_through(&router, &format!("customer_id={id}"), 7).await;
    assert_eq!(
        seen.first().unwrap()["current_account_balance"],
        account["balance"]
    );
    let (status, one) = get(
        &router,
        &format!("/v1/transactions/reference/{}", text(&seen[0]["reference"])),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["data"], seen[0]);
    // The default sandbox's first customer is the same in a large one.
    let (_, first) = get(&router, &format!("/v1/cards/customer/{}", customer_id(0))).await;
    assert_eq!(first["data"], Value::Array(relations_of(0).unwrap().cards));
}

#[tokio::test]
async fn with_live_updates_related_records_were_updated_when_served() {
    let router = router_with(SandboxOptions {
        live_updates: true,
        ..SandboxOptions::default()
    });
    let (_, body) = get(
        &router,
        &format!("/v1/accounts/customers/accounts/{}", customer_id(0)),
    )
    .await;
    let account = &body["data"][0];
    let stamp = |v: &Value| text(v).parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let age = chrono::Utc::now() - stamp(&account["updated_at"]);
    assert!(age.num_seconds() < 2, "{age}");
    assert_eq!(account["customer"]["updated_at"], account["updated_at"]);
    // Only `updated_at` moves.
    let mut unchanged = account.clone();
    let quoted = &relations_of(0).unwrap().accounts[0];
    unchanged["updated_at"] = quoted["updated_at"].clone();
    unchanged["customer"]["updated_at"] = quoted["customer"]["updated_at"].clone();
    assert_eq!(unchanged, *quoted);
}
