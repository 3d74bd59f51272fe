//! The freshness contract and the budget economy, end to end against a mock Bloc: records
//! are aged by moving tokio's clock (never by waiting), and what is checked is what Bloc
//! received and what clients were answered.

use std::time::Duration;

use bloc_graphql::config::Resilience;
use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path},
};

use crate::{
    helpers::{TestApp, codes, spawn_app_with},
    mocks::{bloc_error, customer, envelope, id, list_envelope, mount_customer},
};

/// Moves the clock the facade ages records by (tokio's) without waiting for it.
async fn age_by(duration: Duration) {
    tokio::time::pause();
    tokio::time::advance(duration).await;
    tokio::time::resume();
}

fn lookup(n: u32) -> Value {
    json!({ "query": format!(r#"{{ customer(id: "{}") {{ id name }} }}"#, id(n)) })
}

async fn calls(app: &TestApp, wanted: &str) -> usize {
    app.upstream_paths()
        .await
        .iter()
        .filter(|p| *p == wanted)
        .count()
}

fn one(n: u32) -> String {
    format!("/v1/customers/{}", id(n))
}

const LIST: &str = "/v1/customers";

/// Waits (in real time, bounded) until Bloc has received `count` calls to `wanted`, for
/// background refreshes; then a moment more, so that an extra call would show too.
async fn settle(app: &TestApp, wanted: &str, count: usize) {
    for _ in 0..100 {
        if calls(app, wanted).await >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Bloc answers customer `n`, as often as asked (the tests count what it received).
async fn serve(app: &TestApp, n: u32) {
    Mock::given(method("GET"))
        .and(path(one(n)))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(customer(&id(n)))))
        .mount(&app.bloc)
        .await;
}

/// The defaults: 5 s fresh, 30 s bound, 500 calls a minute.
async fn app() -> TestApp {
    spawn_app_with(|c| c.resilience = Resilience::default()).await
}

#[tokio::test]
async fn a_stale_record_is_served_at_once_and_refreshed_once() {
    let app = app().await;
    serve(&app, 1).await;
    let fresh = app.post(&lookup(1), &[]).await.json();
    assert!(fresh["extensions"].get("stale").is_none(), "{fresh}");

    age_by(Duration::from_secs(12)).await;
    let body = lookup(1);
    let answers = futures::future::join_all((0..20).map(|_| app.post(&body, &[]))).await;

    for answer in &answers {
        let answer = answer.json();
        assert_eq!(answer["data"]["customer"]["id"], id(1), "{answer}");
        assert_eq!(answer["extensions"]["stale"], true);
        // Whole seconds, rounded up, counted from when the call was sent: 12 and the
        // call's own few milliseconds.
        assert_eq!(answer["extensions"]["age"], 13, "{answer}");
    }
    settle(&app, &one(1), 2).await;
    assert_eq!(
        calls(&app, &one(1)).await,
        2,
        "twenty stale answers, one refresh"
    );
    let refreshed = app.post(&lookup(1), &[]).await.json();
    assert!(
        refreshed["extensions"].get("stale").is_none(),
        "{refreshed}"
    );
    assert_eq!(calls(&app, &one(1)).await, 2);
}

#[tokio::test]
async fn past_the_bound_a_record_is_fetched_again_or_its_field_errors() {
    let app = app().await;
    Mock::given(method("GET"))
        .and(path(one(1)))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(customer(&id(1)))))
        .up_to_n_times(2)
        .mount(&app.bloc)
        .await;
    Mock::given(method("GET"))
        .respond_with(bloc_error(500, "down"))
        .mount(&app.bloc)
        .await;
    app.post(&lookup(1), &[]).await;

    // One past the bound: fetched before answering, so the answer is fresh.
    age_by(Duration::from_secs(31)).await;
    let refetched = app.post(&lookup(1), &[]).await.json();
    assert_eq!(refetched["data"]["customer"]["id"], id(1));
    assert!(
        refetched["extensions"].get("stale").is_none(),
        "{refetched}"
    );
    assert_eq!(calls(&app, &one(1)).await, 2);

    // Past the bound again, and Bloc fails: an error, not the 31-second-old record.
    age_by(Duration::from_secs(31)).await;
    let failed = app.post(&lookup(1), &[]).await.json();
    assert_eq!(failed["data"]["customer"], Value::Null, "{failed}");
    assert_eq!(codes(&failed), ["UPSTREAM_UNAVAILABLE"]);
}

#[tokio::test]
async fn a_clients_max_age_tightens_the_bound_for_its_request_only() {
    let app = app().await;
    serve(&app, 1).await;
    app.post(&lookup(1), &[]).await;
    age_by(Duration::from_secs(3)).await;

    let relaxed = app
        .post(&lookup(1), &[("cache-control", "max-age=10")])
        .await
        .json();
    assert!(
        relaxed["extensions"].get("stale").is_none(),
        "3 s old is fresh"
    );
    assert_eq!(calls(&app, &one(1)).await, 1);

    let strict = app
        .post(&lookup(1), &[("cache-control", "public, max-age=2")])
        .await
        .json();
    assert!(strict["extensions"].get("stale").is_none(), "{strict}");
    assert_eq!(
        calls(&app, &one(1)).await,
        2,
        "3 s old is too old for max-age=2"
    );

    app.post(&lookup(1), &[("cache-control", "no-cache")]).await;
    assert_eq!(calls(&app, &one(1)).await, 3, "no-cache is max-age=0");

    // A client cannot loosen the service's bound.
    age_by(Duration::from_secs(31)).await;
    app.post(&lookup(1), &[("cache-control", "max-age=3600")])
        .await;
    assert_eq!(calls(&app, &one(1)).await, 4);
}

fn records(count: u32) -> Value {
    Value::Array((0..count).map(|n| customer(&id(n))).collect())
}

fn lookups(ids: std::ops::Range<u32>) -> Value {
    let fields: Vec<String> = ids
        .map(|n| format!(r#"c{n}: customer(id: "{}") {{ id }}"#, id(n)))
        .collect();
    json!({ "query": format!("{{ {} }}", fields.join(" ")) })
}

/// Measures a single call and the list once, then ages every record past its freshness and
/// asks for five of them: what does the refresh buy?
async fn refresh_five(list_delay: Duration) -> TestApp {
    let app = app().await;
    Mock::given(method("GET"))
        .and(path(LIST))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(list_envelope(records(20)))
                .set_delay(list_delay),
        )
        .mount(&app.bloc)
        .await;
    for n in 0..20 {
        serve(&app, n).await;
    }
    // A single call (id 19), then the list: both measured, every record cached.
    app.post(&lookup(19), &[]).await;
    let listed = app
        .post(&json!({ "query": "{ customers(limit: 20) { id } }" }), &[])
        .await
        .json();
    assert!(listed.get("errors").is_none(), "{listed}");

    age_by(Duration::from_secs(6)).await;
    let stale = app.post(&lookups(0..5), &[]).await.json();
    assert_eq!(stale["extensions"]["stale"], true, "{stale}");
    app
}

#[tokio::test]
async fn a_refresh_buys_the_whole_list_when_it_costs_less_than_the_records_wanted() {
    // The list answers about as fast as one record: one call instead of five.
    let app = refresh_five(Duration::ZERO).await;
    settle(&app, LIST, 2).await;

    assert_eq!(calls(&app, LIST).await, 2, "the list, refreshed once");
    for n in 0..5 {
        assert_eq!(calls(&app, &one(n)).await, 0, "customer {n}");
    }
}

#[tokio::test]
async fn a_refresh_buys_single_records_when_the_list_costs_more_than_they_do() {
    // The list takes 400 ms, a record about a millisecond: five records are cheaper alone.
    let app = refresh_five(Duration::from_millis(400)).await;
    settle(&app, &one(4), 1).await;

    assert_eq!(calls(&app, LIST).await, 1, "not listed again");
    for n in 0..5 {
        assert_eq!(calls(&app, &one(n)).await, 1, "customer {n}");
    }
}

#[tokio::test]
async fn misses_that_would_queue_for_the_budget_are_bought_with_one_list_call() {
    // A burst of 4: the fifth distinct miss could not start now.
    let app = spawn_app_with(|c| {
        c.resilience = Resilience {
            burst: 4,
            ..Resilience::default()
        }
    })
    .await;
    Mock::given(method("GET"))
        .and(path(LIST))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(list_envelope(records(20)))
                .set_delay(Duration::from_millis(50)),
        )
        .expect(1)
        .mount(&app.bloc)
        .await;
    for n in 0..20 {
        Mock::given(method("GET"))
            .and(path(one(n)))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(envelope(customer(&id(n))))
                    .set_delay(Duration::from_millis(50)),
            )
            .mount(&app.bloc)
            .await;
    }

    let answer = app.post(&lookups(0..20), &[]).await.json();

    assert!(answer.get("errors").is_none(), "{answer}");
    for n in 0..20 {
        assert_eq!(answer["data"][format!("c{n}")]["id"], id(n));
    }
    let singles = app
        .upstream_paths()
        .await
        .iter()
        .filter(|p| p.starts_with("/v1/customers/"))
        .count();
    assert!(
        singles <= 4,
        "the burst's worth of single calls, then the list: {singles}"
    );
}

#[tokio::test]
async fn a_miss_whose_turn_would_come_after_its_deadline_is_refused_at_once() {
    // A call every half second and a burst of one; a 1-second deadline (0.8 s for Bloc
    // calls).
    let app = spawn_app_with(|c| {
        c.limits.request_timeout = Duration::from_secs(1);
        c.resilience = Resilience {
            rate_per_minute: 121,
            burst: 1,
            max_retries: 0,
            ..Resilience::default()
        }
    })
    .await;
    mount_customer(&app.bloc, customer(&id(1)), 1).await;
    mount_customer(&app.bloc, customer(&id(2)), 0).await;
    // A failing list takes the one token, and is not planned again for a while: single
    // calls only from here.
    Mock::given(method("GET"))
        .and(path(LIST))
        .respond_with(bloc_error(500, "no list today"))
        .expect(1)
        .mount(&app.bloc)
        .await;
    app.post(&json!({ "query": "{ customers { id } }" }), &[])
        .await;

    // Two misses at once: the first's turn is half a second away, the second's a second.
    let answer = app.post(&lookups(1..3), &[]).await.json();

    assert_eq!(answer["data"]["c1"]["id"], id(1), "{answer}");
    assert_eq!(answer["data"]["c2"], Value::Null);
    assert_eq!(codes(&answer), ["UPSTREAM_RATE_LIMITED"]);
    assert_eq!(
        answer["errors"][0]["extensions"]["retry_after"], 1,
        "{answer}"
    );
}

#[tokio::test]
async fn a_twenty_thousand_customer_list_and_its_records_fit_the_default_cache() {
    let app = app().await;
    Mock::given(method("GET"))
        .and(path(LIST))
        .respond_with(ResponseTemplate::new(200).set_body_json(list_envelope(records(20_000))))
        .expect(1)
        .mount(&app.bloc)
        .await;
    let counted = app
        .post(&json!({ "query": "{ customer_count }" }), &[])
        .await
        .json();
    assert_eq!(counted["data"]["customer_count"], 20_000, "{counted}");

    // Every record the list brought is answered from the cache: no single call (the mock
    // would answer one with 404, and the field with null).
    for round in 0..4 {
        let fields: Vec<String> = (0..100)
            .map(|k| {
                let n = k * 200 + round * 50;
                format!(r#"c{n}: customer(id: "{}") {{ id }}"#, id(n))
            })
            .collect();
        let answer = app
            .post(
                &json!({ "query": format!("{{ {} }}", fields.join(" ")) }),
                &[],
            )
            .await
            .json();
        assert!(answer.get("errors").is_none(), "{answer}");
        for k in 0..100 {
            let n = k * 200 + round * 50;
            assert_eq!(answer["data"][format!("c{n}")]["id"], id(n), "customer {n}");
        }
    }
    // ...and the list itself, while fresh.
    let again = app
        .post(&json!({ "query": "{ customer_count }" }), &[])
        .await
        .json();
    assert_eq!(again["data"]["customer_count"], 20_000, "{again}");
    assert_eq!(app.upstream_paths().await, [LIST]);
}
