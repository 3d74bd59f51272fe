//! Direct execution against async-graphql's: the first run of a query text is always
//! async-graphql's (it validates the operation), a repeat runs directly (fragments, lists,
//! conditions and variables included), and the two must give the same bytes. Anything direct
//! execution does not render must fall back to async-graphql without another Bloc call.

use crate::{
    helpers::{TestApp, codes, config, plain, spawn_app, spawn_app_with},
    mocks::{bloc_error, customer, id, mount_customer, mount_status, tier0_customer},
};
use async_graphql::parser::{parse_schema, types::TypeSystemDefinition};
use bloc_graphql::{
    auth::{AnonymousAccess, Scopes},
    sandbox,
    state::AppState,
};
use serde_json::json;

/// Operations run so far by each executor: (direct, async-graphql).
fn executions(app: &TestApp) -> (u64, u64) {
    let metrics = app.state.metrics();
    (
        metrics.executed_directly.get(),
        metrics.executed_by_async_graphql.get(),
    )
}

/// Sends `query` twice; returns both response texts and which executor ran the second.
async fn twice(app: &TestApp, query: &str) -> (String, String, &'static str) {
    let body = json!({ "query": query });
    let first = app.post(&body, &[]).await;
    let before = executions(app);
    let second = app.post(&body, &[]).await;
    let after = executions(app);
    assert_eq!(first.status, second.status);
    let executor = match (after.0 - before.0, after.1 - before.1) {
        (1, 0) => "direct",
        (0, 1) => "async_graphql",
        other => panic!("one operation, counted {other:?}"),
    };
    (first.text, second.text, executor)
}

/// Every field of `Customer`, `Address` and `SyncData` in the committed SDL, with
/// `__typename` at each level: a field added to the schema is covered here without edits.
fn every_field() -> String {
    let sdl = parse_schema(bloc_graphql::graphql::sdl()).unwrap();
    let fields_of = |name: &str| -> Vec<(String, String)> {
        sdl.definitions
            .iter()
            .find_map(|definition| match definition {
                TypeSystemDefinition::Type(ty) if ty.node.name.node == name => Some(ty),
                _ => None,
            })
            .map(|ty| match &ty.node.kind {
                async_graphql::parser::types::TypeKind::Object(object) => object
                    .fields
                    .iter()
                    .map(|f| (f.node.name.node.to_string(), f.node.ty.node.to_string()))
                    .collect(),
                _ => panic!("{name} is not an object type"),
            })
            .unwrap_or_else(|| panic!("{name} not in the schema"))
    };
    let mut selection = vec!["__typename".to_owned()];
    for (field, ty) in fields_of("Customer") {
        // The relations reach other Bloc endpoints and run on async-graphql.
        if ["accounts", "cards", "wallets", "transactions"].contains(&field.as_str()) {
            continue;
        }
        let nested = ty.trim_end_matches('!');
        if nested == "Address" || nested == "SyncData" {
            let inner: Vec<String> = fields_of(nested).into_iter().map(|(f, _)| f).collect();
            selection.push(format!("{field} {{ __typename {} }}", inner.join(" ")));
        } else {
            selection.push(field);
        }
    }
    assert!(selection.len() > 25, "{selection:?}");
    selection.join(" ")
}

#[tokio::test]
async fn every_field_of_every_sandbox_customer_runs_directly_with_async_graphqls_bytes() {
    let sandbox =
        sandbox::start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).unwrap();
    let app = TestApp {
        state: AppState::new(config(sandbox.base_url.clone())).unwrap(),
        bloc: wiremock::MockServer::start().await,
    };
    let fields = every_field();
    let ids: Vec<String> = sandbox::customers()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    // A few customers per query keeps the text within the document cache's 4 KiB.
    for (n, chunk) in ids.chunks(4).enumerate() {
        let mut roots: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| format!(r#"c{i}: customer(id: "{id}") {{ {fields} }}"#))
            .collect();
        // The same id again under another alias, an unknown id, and the root's typename.
        roots.push(format!(
            r#"again: customer(id: "{}") {{ kyc_tier name }}"#,
            chunk[0]
        ));
        roots.push(r#"nobody: customer(id: "ffffffffffffffffffffffff") { id }"#.to_owned());
        roots.push("__typename".to_owned());
        let query = format!("{{ {} }}", roots.join(" "));
        assert!(query.len() <= 4096, "query {n} is {} bytes", query.len());

        let (first, second, executor) = twice(&app, &query).await;
        assert_eq!(executor, "direct", "query {n}: {second}");
        assert_eq!(second, first, "query {n}");
        let data: serde_json::Value = serde_json::from_str(&second).unwrap();
        assert!(data.get("errors").is_none(), "{second}");
        assert_eq!(data["data"]["nobody"], json!(null));
    }
}

#[tokio::test]
async fn what_direct_execution_does_not_render_falls_back_without_another_bloc_call() {
    // Counts Bloc calls per request: nothing cached or retried between the two runs.
    let app = spawn_app_with(|c| c.resilience = plain()).await;
    let (good, bad, failing) = (id(1), id(2), id(3));
    let mut unreadable = customer(&bad);
    unreadable["kyc_tier"] = json!("platinum");
    // Each request fetches each id once, whichever executor answers it.
    mount_customer(&app.bloc, customer(&good), 4).await;
    mount_customer(&app.bloc, unreadable, 2).await;
    mount_status(&app.bloc, &failing, bloc_error(500, "internal error")).await;

    let cases = [
        // A value Bloc sent that does not parse: null plus an error at its path.
        format!(
            r#"{{ a: customer(id: "{good}") {{ name }} b: customer(id: "{bad}") {{ name kyc_tier }} }}"#
        ),
        // An id Bloc fails on.
        format!(
            r#"{{ a: customer(id: "{good}") {{ name }} b: customer(id: "{failing}") {{ name }} }}"#
        ),
    ];
    let mut expected_codes =
        vec![vec!["UPSTREAM_BAD_RESPONSE"], vec!["UPSTREAM_UNAVAILABLE"]].into_iter();
    for query in &cases {
        let (first, second, executor) = twice(&app, query).await;
        assert_eq!(executor, "async_graphql", "{query}");
        assert_eq!(second, first, "{query}");
        let reply: serde_json::Value = serde_json::from_str(&second).unwrap();
        assert_eq!(codes(&reply), expected_codes.next().unwrap(), "{second}");
    }
    // The failing id was asked for once per request (no retries configured).
    let failing_calls = app
        .upstream_paths()
        .await
        .iter()
        .filter(|p| p.ends_with(&failing))
        .count();
    assert_eq!(failing_calls, 2);
}

#[tokio::test]
async fn callers_without_a_scope_get_forbidden_from_async_graphql_and_what_they_may_see_directly() {
    let app = spawn_app_with(|config| {
        config.resilience = plain();
        config.auth.anonymous = Some(AnonymousAccess {
            scopes: Scopes::parse_list("customers:read").unwrap(),
            rate: None,
        });
    })
    .await;
    mount_customer(&app.bloc, customer(&id(1)), 4).await;

    let pii = format!(r#"{{ customer(id: "{}") {{ name bvn }} }}"#, id(1));
    let (first, second, executor) = twice(&app, &pii).await;
    assert_eq!(executor, "async_graphql");
    assert_eq!(second, first);
    let reply: serde_json::Value = serde_json::from_str(&second).unwrap();
    assert_eq!(codes(&reply), ["FORBIDDEN"], "{second}");
    assert_eq!(reply["data"]["customer"]["bvn"], json!(null));

    let open = format!(
        r#"{{ customer(id: "{}") {{ name kyc_tier address {{ city }} }} }}"#,
        id(1)
    );
    let (first, second, executor) = twice(&app, &open).await;
    assert_eq!(executor, "direct");
    assert_eq!(second, first);

    // Without even `customers:read`, the root field itself is refused.
    let nothing = spawn_app_with(|config| {
        config.auth.anonymous = Some(AnonymousAccess {
            scopes: Scopes::default(),
            rate: None,
        });
    })
    .await;
    let (first, second, executor) = twice(&nothing, &open).await;
    assert_eq!(executor, "async_graphql");
    assert_eq!(second, first);
    let reply: serde_json::Value = serde_json::from_str(&second).unwrap();
    assert_eq!(codes(&reply), ["FORBIDDEN"], "{second}");
}

#[tokio::test]
async fn a_name_given_for_an_anonymous_operation_is_refused_every_time() {
    let app = spawn_app().await;
    mount_customer(&app.bloc, customer(&id(1)), 0).await;
    let body = json!({
        "query": format!(r#"{{ customer(id: "{}") {{ name }} }}"#, id(1)),
        "operationName": "Named",
    });
    for _ in 0..2 {
        let reply = app.post(&body, &[]).await;
        assert!(
            reply.text.contains("Unknown operation named"),
            "{}",
            reply.text
        );
    }
    assert_eq!(executions(&app).0, 0);
}

#[tokio::test]
async fn ids_passed_as_variables_run_directly_and_other_values_fall_back() {
    let app = spawn_app_with(|c| c.resilience = plain()).await;
    // Each request that runs fetches each id it names once (a request missing a variable
    // does not run).
    mount_customer(&app.bloc, customer(&id(1)), 3).await;
    mount_customer(&app.bloc, tier0_customer(&id(2)), 5).await;
    let query = "query Pair($a: ID!, $b: ID!) {
        a: customer(id: $a) { name kyc_tier address { city } }
        b: customer(id: $b) { name kyc_tier address { city } } }";
    let run = |variables: serde_json::Value| {
        let app = &app;
        async move {
            let before = executions(app);
            let reply = app
                .post(&json!({ "query": query, "variables": variables }), &[])
                .await;
            let after = executions(app);
            let direct = after.0 - before.0 == 1;
            (reply.text, direct)
        }
    };

    let (first, direct) = run(json!({ "a": id(1), "b": id(2) })).await;
    assert!(!direct, "the first run validates on async-graphql");
    let (second, direct) = run(json!({ "a": id(1), "b": id(2) })).await;
    assert!(direct);
    assert_eq!(second, first);
    // Other values of the same variables run directly too, with their own data.
    let (swapped, direct) = run(json!({ "a": id(2), "b": id(1) })).await;
    assert!(direct);
    let (first, swapped): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&first).unwrap(),
        serde_json::from_str(&swapped).unwrap(),
    );
    assert_eq!(swapped["data"]["a"], first["data"]["b"]);
    assert_eq!(swapped["data"]["b"], first["data"]["a"]);
    assert_ne!(first["data"]["a"], first["data"]["b"]);

    // Values async-graphql must judge: a number (an `ID` accepts one), a missing variable (a
    // request error, before anything runs), an id the resolver rejects.
    for (variables, error) in [
        (json!({ "a": 7, "b": id(2) }), None),
        (
            json!({ "a": id(1) }),
            Some(r#"Variable \"$b\" of required type \"ID!\" was not provided."#),
        ),
        (json!({ "a": "", "b": id(2) }), Some("BAD_USER_INPUT")),
    ] {
        let (reply, direct) = run(variables.clone()).await;
        assert!(!direct, "{variables}");
        let errors = serde_json::from_str::<serde_json::Value>(&reply).unwrap()["errors"].clone();
        match error {
            None => assert!(errors.is_null(), "{variables}: {reply}"),
            Some(error) => assert!(errors.to_string().contains(error), "{variables}: {reply}"),
        }
    }
}

#[tokio::test]
async fn fragments_lists_conditions_and_filters_run_directly_with_async_graphqls_bytes() {
    let sandbox =
        sandbox::start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).unwrap();
    let app = TestApp {
        state: AppState::new(config(sandbox.base_url.clone())).unwrap(),
        bloc: wiremock::MockServer::start().await,
    };
    let ids: Vec<String> = sandbox::customers()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    let (a, b) = (&ids[0], &ids[1]);
    let cases = [
        (
            format!(
                r#"{{ customer(id: "{a}") {{ ...F address {{ ... on Address {{ city }} }} }} }}
                   fragment F on Customer {{ name kyc_tier address {{ street }} }}"#
            ),
            json!({}),
        ),
        (
            "query($v: Boolean!) { customers(limit: 20) { id name @include(if: $v) kyc_tier @skip(if: $v) } }"
                .to_owned(),
            json!({ "v": true }),
        ),
        (
            "query($v: Boolean!) { customers(limit: 20) { id name @include(if: $v) kyc_tier @skip(if: $v) } }"
                .to_owned(),
            json!({ "v": false }),
        ),
        (
            r#"{ customers(limit: 500, filter: { status: ACTIVE }) { id name email address { city } }
                 customer_count(filter: { kyc_tier: 1 }) }"#
                .to_owned(),
            json!({}),
        ),
        (
            format!(
                r#"{{ customers_by_id(ids: ["{a}", "{b}", "ffffffffffffffffffffffff", "{a}"]) {{ id name }} }}"#
            ),
            json!({}),
        ),
        (
            "query($f: CustomerFilter, $l: Int, $o: Int) { customers(limit: $l, offset: $o, filter: $f) { id } }"
                .to_owned(),
            json!({ "f": { "search": "a" }, "l": 5, "o": 2 }),
        ),
    ];
    for (query, variables) in &cases {
        let body = json!({ "query": query, "variables": variables });
        let first = app.post(&body, &[]).await;
        let before = executions(&app);
        let second = app.post(&body, &[]).await;
        let after = executions(&app);
        assert_eq!(
            (after.0 - before.0, after.1 - before.1),
            (1, 0),
            "{query}: {}",
            second.text
        );
        assert_eq!(second.text, first.text, "{query} {variables}");
        let reply = second.json();
        assert!(reply.get("errors").is_none(), "{}", second.text);
        assert!(reply["data"].as_object().is_some_and(|d| !d.is_empty()));
    }
}
