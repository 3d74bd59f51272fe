//! Differential testing against graphql-js (tests/conformance/differential.mjs): the facade
//! and the reference executor run the same corpus over the same Bloc data and failures (a
//! customer's accounts, cards, wallets and transactions included), and must agree on `data`
//! (key order included) and on the errors' paths, messages and codes.
//! Each query runs twice (the second run may take the direct executor, and must give the
//! same bytes) and once inside a batch.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use bloc_graphql::auth::{AnonymousAccess, Scope, Scopes};
use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path, query_param},
};

use crate::{
    helpers::{TestApp, plain, spawn_app_with},
    mocks::{
        account, bloc_error, card, envelope, id, list_envelope, page_envelope, transaction, wallet,
    },
};

/// Generated queries per run, on top of the hand-written ones.
const GENERATED: usize = 400;

pub fn conformance_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    if !dir.join("node_modules/graphql").exists() {
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&dir)
            .status()
            .expect("npm is needed for the differential test");
        assert!(status.success(), "npm ci failed in tests/conformance");
    }
    dir
}

fn fixture() -> Vec<Value> {
    let text = include_str!("fixtures/sandbox_customers.json");
    serde_json::from_str(text).unwrap()
}

/// The ids the corpus uses, by kind: the sandbox's four customers, one whose values drifted
/// out of Bloc's contract, one Bloc fails on, one whose body is not JSON, one Bloc does not
/// know. The five Bloc knows have accounts, cards, wallets and transactions (see
/// [`mount_relations`]).
fn kinds() -> Value {
    let customers = fixture();
    json!({
        "good": customers[1]["id"], "good2": customers[0]["id"],
        "good3": customers[2]["id"], "good4": customers[3]["id"],
        "drifted": "0000000000000000000000d1", "fails": "0000000000000000000000f1",
        "badjson": "0000000000000000000000b1", "unknown": "000000000000000000000404",
    })
}

/// A sandbox record with values the facade cannot read: a tier, status and date that do not
/// parse, an address that is not an object, sync data that is not a record.
fn drifted(id: &str) -> Value {
    let mut record = fixture()[1].clone();
    record["id"] = json!(id);
    record["kyc_tier"] = json!("gold");
    record["status"] = json!("suspended-ish");
    record["created_at"] = json!("last tuesday");
    record["address"] = json!("12 Marina, Lagos");
    record["SyncData"] = json!(42);
    record
}

async fn mount_bloc(app: &TestApp, list_fails: bool) {
    let kinds = kinds();
    let id = |k: &str| kinds[k].as_str().unwrap().to_owned();
    let mut records = fixture();
    records.push(drifted(&id("drifted")));
    for record in &records {
        Mock::given(method("GET"))
            .and(path(format!(
                "/v1/customers/{}",
                record["id"].as_str().unwrap()
            )))
            .respond_with(ResponseTemplate::new(200).set_body_json(envelope(record.clone())))
            .mount(&app.bloc)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{}", id("fails"))))
        .respond_with(bloc_error(500, "internal error"))
        .mount(&app.bloc)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{}", id("badjson"))))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"success": true, "data": {"#))
        .mount(&app.bloc)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{}", id("unknown"))))
        .respond_with(bloc_error(404, "customer not found"))
        .mount(&app.bloc)
        .await;
    let list = if list_fails {
        bloc_error(503, "unavailable")
    } else {
        ResponseTemplate::new(200).set_body_json(list_envelope(Value::Array(records)))
    };
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(list)
        .mount(&app.bloc)
        .await;
    mount_relations(app).await;
}

/// `record` with `changes` applied (a `null` change removes the key).
fn with(mut record: Value, changes: Value) -> Value {
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            record.as_object_mut().unwrap().remove(key);
        } else {
            record[key] = value.clone();
        }
    }
    record
}

/// What a relation endpoint answers: a list (`null` is Bloc's empty one), or a failure.
enum Answer {
    List(Value),
    Fails(ResponseTemplate),
}

impl Answer {
    /// The response, a list inside `envelope`.
    fn response(self, envelope: impl FnOnce(Value) -> Value) -> ResponseTemplate {
        match self {
            Answer::List(items) => ResponseTemplate::new(200).set_body_json(envelope(items)),
            Answer::Fails(response) => response,
        }
    }
}

/// Each customer's accounts, cards, wallets and transactions, in that order: several items,
/// Bloc's `null` for none, values that drifted out of Bloc's contract (a balance "lots", an
/// account status "Dormant", a transaction without its non-null `reference`), records too
/// broken to read (reported as dropped), and endpoints that fail or answer non-JSON.
fn relations(kind: &str, c: &str) -> [Answer; 4] {
    use Answer::{Fails, List};
    // Record ids (and transaction references) differ from one customer to the next.
    let base = match kind {
        "good" => 0x100,
        "good2" => 0x200,
        "good3" => 0x300,
        "good4" => 0x400,
        _ => 0xd00,
    };
    let n = |k: u32| id(base + k);
    let other = kinds()["good2"].as_str().unwrap().to_owned();
    let tx = |k: u32, drcr: &str| transaction(base + k, c, &n(1), drcr);
    let not_json = || ResponseTemplate::new(200).set_body_string(r#"{"success": true, "data": ["#);
    match kind {
        "good" => [
            List(json!([
                account(&n(1), c, "9000000101", json!(5_000_000_000_i64)),
                with(
                    account(&n(2), c, "9000000102", json!(-1205)),
                    json!({ "status": "Frozen", "alias": "", "updated_at": "2023-04-01T08:00:00+01:00" }),
                ),
                with(
                    account(&n(3), c, "9000000103", json!("0")),
                    json!({ "status": "closed", "kyc_tier": "3", "currency": null }),
                ),
            ])),
            List(json!([
                card(&n(0x11), c),
                with(
                    card(&n(0x12), c),
                    json!({ "status": "frozen", "brand": "MasterCard", "billing_address": {},
                            "expiry_month": "11", "updated_at": "0001-01-01T00:00:00Z" }),
                ),
            ])),
            List(json!([
                wallet(&n(0x21), c, "8000000101", json!(250_000)),
                with(
                    wallet(&n(0x22), c, "8000000102", json!(null)),
                    json!({ "currency": null, "status": "" }),
                ),
            ])),
            List(json!([
                tx(0x30, "CR"),
                with(
                    tx(0x31, "DR"),
                    json!({ "status": "pending", "fee": 5000, "amount": "2500000000" }),
                ),
                // Another customer's, which Bloc should not have sent: left out.
                transaction(base + 0x32, &other, &n(1), "CR"),
                with(
                    tx(0x33, "dr"),
                    json!({ "status": "failed", "narration": "" })
                ),
                with(
                    tx(0x34, "CR"),
                    json!({ "customer_detail": null, "account_id": "" })
                ),
                with(
                    tx(0x35, "DR"),
                    json!({ "payment_method": null, "amount": -100 })
                ),
            ])),
        ],
        "good2" => [
            List(Value::Null),
            Fails(bloc_error(500, "internal error")),
            List(json!([])),
            List(Value::Null),
        ],
        "good3" => [
            List(json!([account(&n(1), c, "9000000301", json!(700))])),
            List(Value::Null),
            List(json!([
                with(
                    wallet(&n(0x21), c, "8000000301", json!(12)),
                    json!({ "currency": 7 })
                ),
                wallet(&n(0x22), c, "8000000302", json!(99)),
            ])),
            List(json!([
                tx(0x30, "CR"),
                with(tx(0x31, "DR"), json!({ "reference": null })),
                tx(0x32, "CR"),
                with(tx(0x33, "DR"), json!({ "reference": "" })),
            ])),
        ],
        "good4" => [
            List(json!([
                42,
                { "name": "a record without an id" },
                account(&n(1), c, "9000000401", json!(1)),
            ])),
            List(json!([with(
                card(&n(0x11), c),
                json!({ "status": "lost", "expiry_month": "March", "billing_address": {} }),
            )])),
            Fails(bloc_error(503, "unavailable")),
            Fails(not_json()),
        ],
        _ => [
            List(json!([
                with(
                    account(&n(1), c, "9000000d01", json!("lots")),
                    json!({ "status": "Dormant" }),
                ),
                with(
                    account(&n(2), c, "9000000d02", json!(10)),
                    json!({ "kyc_tier": "gold", "created_at": "last tuesday" }),
                ),
            ])),
            List(json!([with(
                card(&n(0x11), c),
                json!({ "billing_address": "12 Marina, Lagos", "expiry_year": 2027.5 }),
            )])),
            List(json!([with(
                wallet(&n(0x21), c, "8000000d01", json!(1.5)),
                json!({ "created_at": "yesterday" }),
            )])),
            List(json!([
                tx(0x30, "CR"),
                with(tx(0x31, "DR"), json!({ "amount": "lots" })),
                with(
                    tx(0x32, "sideways"),
                    json!({ "fee": 0.5, "status": "reversed" })
                ),
            ])),
        ],
    }
}

/// The kinds of customer Bloc knows, whose relations are mounted (and probed).
const RELATED: [&str; 5] = ["good", "good2", "good3", "good4", "drifted"];

/// Mounts the relation endpoints of every customer Bloc knows.
async fn mount_relations(app: &TestApp) {
    let kinds = kinds();
    for kind in RELATED {
        let c = kinds[kind].as_str().unwrap();
        let [accounts, cards, wallets, transactions] = relations(kind, c);
        let endpoints = [
            (format!("/v1/accounts/customers/accounts/{c}"), accounts),
            (format!("/v1/cards/customer/{c}"), cards),
            (format!("/v1/wallets/customers/{c}"), wallets),
        ];
        for (at, answer) in endpoints {
            Mock::given(method("GET"))
                .and(path(at))
                .respond_with(answer.response(list_envelope))
                .mount(&app.bloc)
                .await;
        }
        // One page whatever the filter: the facade filters again.
        Mock::given(method("GET"))
            .and(path("/v1/transactions"))
            .and(query_param("customer_id", c))
            .and(query_param("per_page", "50"))
            .respond_with(transactions.response(|items| page_envelope(items, false)))
            .mount(&app.bloc)
            .await;
    }
}

fn body(case: &Value) -> Value {
    json!({
        "query": case["query"],
        "variables": case["variables"],
        "operationName": case["operationName"],
    })
}

/// Runs the probes and the corpus against `app` and returns the scenario for the comparison.
async fn scenario(name: &str, app: &TestApp, plan: &Value) -> Value {
    let mut probes = Vec::new();
    for probe in plan["probes"].as_array().unwrap() {
        let reply = app.post(&body(probe), &[]).await;
        probes.push(json!({ "key": probe["key"], "response": reply.json() }));
    }
    let corpus = plan["corpus"].as_array().unwrap();
    let mut runs = Vec::new();
    for chunk in corpus.chunks(4) {
        let batch: Vec<Value> = chunk.iter().map(body).collect();
        let reply = app.post(&Value::Array(batch), &[]).await;
        // Raw, so the comparison sees the keys in the order the facade wrote them.
        let batched: Vec<Box<serde_json::value::RawValue>> =
            serde_json::from_str(&reply.text).unwrap();
        for (case, in_batch) in chunk.iter().zip(batched) {
            let first = app.post(&body(case), &[]).await;
            let second = app.post(&body(case), &[]).await;
            assert_eq!(
                first.text, second.text,
                "a repeated query (its second run may be direct) gave other bytes: {}",
                case["query"]
            );
            runs.push(json!({
                "name": case["name"], "query": case["query"], "variables": case["variables"],
                "operationName": case["operationName"],
                "responses": { "single": first.text, "batched": in_batch.get() },
            }));
        }
    }
    json!({ "name": name, "probes": probes, "runs": runs })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_facade_gives_the_same_results_as_graphql_js_over_a_corpus_with_failures() {
    let dir = conformance_dir();
    let seed: u32 = std::env::var("DIFFERENTIAL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let kinds = kinds();
    let related: Vec<&Value> = RELATED.iter().map(|kind| &kinds[kind]).collect();
    let request = json!({ "kinds": kinds, "related": related, "seed": seed, "count": GENERATED });
    let output = std::process::Command::new("node")
        .args(["differential.mjs", "plan", &request.to_string()])
        .current_dir(&dir)
        .output()
        .expect("node is needed for the differential test");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();

    // Failures are injected and called again and again: no retries, and no breaker to
    // change the answers half-way; nothing cached, so both runs of a query meet Bloc.
    // Generous deadlines: a loaded test machine must not turn a slow answer into an
    // UPSTREAM_UNAVAILABLE that graphql-js never saw.
    let everything = spawn_app_with(|config| {
        config.resilience = plain();
        config.bloc.call_timeout = Duration::from_secs(20);
        config.limits.request_timeout = Duration::from_secs(60);
    })
    .await;
    mount_bloc(&everything, false).await;
    let reader = spawn_app_with(|config| {
        config.resilience = plain();
        config.bloc.call_timeout = Duration::from_secs(20);
        config.limits.request_timeout = Duration::from_secs(60);
        config.auth.anonymous = Some(AnonymousAccess {
            scopes: Scopes::from_iter([Scope::Read]),
            rate: None,
        });
    })
    .await;
    mount_bloc(&reader, true).await;
    let scenarios = vec![
        scenario("every scope", &everything, &plan).await,
        scenario("read scope only, list failing", &reader, &plan).await,
    ];

    let results = std::env::temp_dir().join(format!("differential-{}.json", std::process::id()));
    std::fs::write(&results, json!({ "scenarios": scenarios }).to_string()).unwrap();
    let output = std::process::Command::new("node")
        .args(["differential.mjs", "compare"])
        .arg(&results)
        .current_dir(&dir)
        .output()
        .expect("node runs the comparison");
    let _ = std::fs::remove_file(&results);
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains(" 0 mismatches"), "{report}");
    // What the corpus covered (shown with --nocapture).
    println!("{report}");
}
