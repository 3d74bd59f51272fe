//! Per-request batching: each distinct id costs one upstream call, calls run concurrently,
//! failures stay with their own id, and the list primes later lookups.

use std::time::{Duration, Instant};

use serde_json::json;
use wiremock::ResponseTemplate;

use crate::{
    helpers::{codes, plain, spawn_app, spawn_app_with},
    mocks::{bloc_error, customer, envelope, id, mount_customer, mount_list, mount_status},
};

fn aliases(count: u32, distinct: u32) -> String {
    let fields: Vec<String> = (0..count)
        .map(|n| format!("c{n}: customer(id: \"{}\") {{ id name }}", id(n % distinct)))
        .collect();
    format!("{{ {} }}", fields.join(" "))
}

#[tokio::test]
async fn fifty_aliases_over_ten_ids_cost_ten_upstream_calls_in_one_batch() {
    let app = spawn_app().await;
    for n in 0..10 {
        mount_customer(&app.bloc, customer(&id(n)), 1).await;
    }

    let response = app.traced(&json!({ "query": aliases(50, 10) })).await;

    assert!(response.get("errors").is_none(), "{response}");
    for n in 0..50 {
        assert_eq!(response["data"][format!("c{n}")]["id"], id(n % 10));
    }
    assert_eq!(response["extensions"]["upstream"]["calls"], 10);
    assert_eq!(response["extensions"]["upstream"]["batches"], 1);
    assert_eq!(app.upstream_paths().await.len(), 10);
}

#[tokio::test]
async fn ids_nested_in_a_list_argument_join_the_same_batch_as_aliases() {
    let app = spawn_app().await;
    for n in 0..6 {
        mount_customer(&app.bloc, customer(&id(n)), 1).await;
    }
    let ids: Vec<String> = [0, 1, 2, 1, 0, 3].iter().map(|n| id(*n)).collect();
    let query = format!(
        r#"query($ids: [ID!]!) {{ many: customers_by_id(ids: $ids) {{ id }}
           x: customer(id: "{}") {{ id }} y: customer(id: "{}") {{ id }} }}"#,
        id(4),
        id(5)
    );

    let response = app
        .traced(&json!({ "query": query, "variables": { "ids": ids } }))
        .await;

    let got: Vec<&str> = response["data"]["many"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, ids);
    assert_eq!(response["data"]["y"]["id"], id(5));
    assert_eq!(response["extensions"]["upstream"]["calls"], 6);
    assert_eq!(response["extensions"]["upstream"]["batches"], 1);
}

#[tokio::test]
async fn a_batched_request_fetches_each_repeated_id_once() {
    let app = spawn_app().await;
    for n in 0..4 {
        mount_customer(&app.bloc, customer(&id(n)), 1).await;
    }
    let op = |ids: &[u32]| {
        let fields: Vec<String> = ids
            .iter()
            .enumerate()
            .map(|(i, n)| format!("f{i}: customer(id: \"{}\") {{ name }}", id(*n)))
            .collect();
        json!({ "query": format!("{{ {} }}", fields.join(" ")) })
    };
    let batch = json!([op(&[0, 1]), op(&[1, 2, 2]), op(&[3, 0, 1])]);

    let reply = app.post(&batch, &[]).await;

    let responses = reply.json();
    assert_eq!(responses.as_array().unwrap().len(), 3);
    assert_eq!(responses[2]["data"]["f0"]["name"], "Adaeze Okafor");
    assert_eq!(app.upstream_paths().await.len(), 4);
}

#[tokio::test]
async fn ten_distinct_ids_are_fetched_concurrently() {
    let app = spawn_app().await;
    for n in 0..10 {
        let body = envelope(customer(&id(n)));
        let slow = ResponseTemplate::new(200)
            .set_body_json(body)
            .set_delay(Duration::from_millis(200));
        mount_status(&app.bloc, &id(n), slow).await;
    }

    let started = Instant::now();
    let response = app.query(&aliases(10, 10)).await;
    let elapsed = started.elapsed();

    assert!(response.get("errors").is_none(), "{response}");
    // One at a time would take 10 x 200 ms; concurrently it is about one round trip.
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

#[tokio::test]
async fn upstream_concurrency_caps_calls_in_flight() {
    let app = spawn_app_with(|c| c.bloc.concurrency = 2).await;
    for n in 0..6 {
        let slow = ResponseTemplate::new(200)
            .set_body_json(envelope(customer(&id(n))))
            .set_delay(Duration::from_millis(100));
        mount_status(&app.bloc, &id(n), slow).await;
    }

    let started = Instant::now();
    let response = app.query(&aliases(6, 6)).await;

    assert!(response.get("errors").is_none(), "{response}");
    // Six 100 ms calls, two at a time, need at least three rounds.
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn one_failing_id_leaves_its_batch_mates_intact() {
    // Injected failures, counted calls: nothing cached or retried.
    let app = spawn_app_with(|c| c.resilience = plain()).await;
    // Twice each: the query runs twice.
    mount_customer(&app.bloc, customer(&id(1)), 2).await;
    mount_status(&app.bloc, &id(2), bloc_error(500, "internal")).await;
    mount_status(
        &app.bloc,
        &id(3),
        ResponseTemplate::new(200).set_body_string("{not json"),
    )
    .await;
    mount_customer(&app.bloc, customer(&id(4)), 2).await;
    let query = format!(
        r#"{{ a: customer(id: "{}") {{ id }} b: customer(id: "{}") {{ id }}
              c: customer(id: "{}") {{ id }} d: customer(id: "{}") {{ id }} }}"#,
        id(1),
        id(2),
        id(3),
        id(4)
    );

    let response = app.query_twice(&query).await;

    assert_eq!(
        response["data"],
        json!({ "a": { "id": id(1) }, "b": null, "c": null, "d": { "id": id(4) } })
    );
    let errors = response["errors"].as_array().unwrap();
    let at = |key: &str| errors.iter().find(|e| e["path"] == json!([key])).unwrap();
    assert_eq!(at("b")["extensions"]["code"], "UPSTREAM_UNAVAILABLE");
    assert_eq!(at("c")["extensions"]["code"], "UPSTREAM_BAD_RESPONSE");
    assert_eq!(codes(&response).len(), 2);
}

#[tokio::test]
async fn customers_from_the_list_answer_later_lookups_without_a_call() {
    // The request's own loader, not the shared cache, answers the lookup.
    let app = spawn_app_with(|c| c.resilience = plain()).await;
    mount_list(&app.bloc, json!([customer(&id(1)), customer(&id(2))]), 1).await;
    mount_customer(&app.bloc, customer(&id(2)), 0).await;
    let query = format!(
        r#"{{ customers {{ id }} one: customer(id: "{}") {{ name }} }}"#,
        id(2)
    );

    let response = app.traced(&json!({ "query": query })).await;

    assert_eq!(response["data"]["one"]["name"], "Adaeze Okafor");
    assert_eq!(response["extensions"]["upstream"]["calls"], 1);
}

#[tokio::test]
async fn ids_asked_for_after_a_batch_has_run_form_a_new_batch() {
    let app = spawn_app().await;
    mount_customer(&app.bloc, customer(&id(1)), 1).await;
    mount_list(&app.bloc, json!([customer(&id(2))]), 1).await;
    mount_customer(&app.bloc, customer(&id(3)), 1).await;
    // `a` is asked for at once; `b` waits for the list (it might be in it), and is asked
    // for only when the list is in: a later pass of the executor, so a second batch.
    let query = format!(
        r#"{{ a: customer(id: "{}") {{ id }} customers {{ id }} b: customer(id: "{}") {{ id }} }}"#,
        id(1),
        id(3)
    );

    let response = app.traced(&json!({ "query": query })).await;

    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(response["data"]["b"]["id"], id(3));
    assert_eq!(response["extensions"]["upstream"]["calls"], 3);
    assert_eq!(response["extensions"]["upstream"]["batches"], 2);
}

#[tokio::test]
async fn the_list_primes_lookups_in_other_operations_of_a_batch() {
    // The request's own loader, not the shared cache, answers the lookup.
    let app = spawn_app_with(|c| c.resilience = plain()).await;
    mount_list(&app.bloc, json!([customer(&id(7))]), 1).await;
    mount_customer(&app.bloc, customer(&id(7)), 0).await;
    let lookup = format!(r#"{{ customer(id: "{}") {{ id }} }}"#, id(7));
    let batch = json!([{ "query": "{ customer_count }" }, { "query": lookup }]);

    let responses = app.post(&batch, &[]).await.json();

    assert_eq!(responses[0]["data"]["customer_count"], 1);
    assert_eq!(responses[1]["data"]["customer"]["id"], id(7));
    assert_eq!(app.upstream_paths().await, vec!["/v1/customers".to_owned()]);
}

#[tokio::test]
async fn separate_http_requests_do_not_share_a_loader() {
    // Counts calls per request: the shared cache would answer the second.
    let app = spawn_app_with(|c| c.resilience = plain()).await;
    mount_customer(&app.bloc, customer(&id(1)), 2).await;
    let query = format!(r#"{{ customer(id: "{}") {{ id }} }}"#, id(1));

    app.query(&query).await;
    app.query(&query).await;

    assert_eq!(app.upstream_paths().await.len(), 2);
}
