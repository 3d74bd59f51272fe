//! Differential testing against graphql-js (tests/conformance/differential.mjs): the facade
//! and the reference executor run the same corpus over the same Bloc data and failures, and
//! must agree on `data` (key order included) and on the errors' paths, messages and codes.
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
    matchers::{method, path},
};

use crate::{
    helpers::{TestApp, plain, spawn_app_with},
    mocks::{bloc_error, envelope, list_envelope},
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
/// know.
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
    let request = json!({ "kinds": kinds(), "seed": seed, "count": GENERATED });
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
}
