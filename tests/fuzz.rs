//! Fuzzing the request path in `cargo test`: generated GraphQL-ish documents (nested fields,
//! aliases, fragments spreading each other, arguments of every kind, variables, directives,
//! random bytes) go through the whole path a client's text takes (text limits, parse,
//! operation limits, validation, response-shape plan, execution) over HTTP, as the server
//! runs it, against a wiremock Bloc. No case may panic, and none may allocate more than a
//! few MiB at its peak, whatever its text.
//!
//! Its own test binary, because it counts every allocation of the process: the tests here
//! run one at a time (a lock), so that the peak is their own.

// Test code may panic: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::{
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use axum::{body::Body, http::Request};
use bloc_graphql::{
    auth::{AnonymousAccess, AuthConfig, Scopes},
    config::{BlocConfig, Config, Exposure, Limits, Resilience},
    graphql::{Checked, DocumentCache, Operation, Policy, prepare},
    {server::app, state::AppState},
};
use http_body_util::BodyExt;
use peakmem_alloc::{INSTRUMENTED_SYSTEM, PeakMemAlloc, PeakMemAllocTrait};
use proptest::{
    prelude::*,
    test_runner::{Config as ProptestConfig, TestRunner},
};
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt;
use wiremock::MockServer;

#[global_allocator]
static ALLOCATOR: &PeakMemAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// Most a single case may allocate at its peak, over what was live before it.
const MAX_PEAK: usize = 16 << 20;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `{ ...Fn }` where `F0` names a customer and each `Fk` spreads `F(k-1)` twice.
fn doubling(n: usize) -> String {
    let mut doc = format!(r#"{{ ...F{n} }} fragment F0 on Query {{ customer(id: "a") {{ id }} }}"#);
    for k in 1..=n {
        doc.push_str(&format!(
            " fragment F{k} on Query {{ ...F{} ...F{} }}",
            k - 1,
            k - 1
        ));
    }
    doc
}

#[test]
fn a_fragment_bomb_naming_a_customer_is_refused_in_bounded_memory() {
    let _serial = one_at_a_time();
    let policy = Policy {
        documents: DocumentCache::new(256),
        limits: Default::default(),
        introspection: false,
    };
    // n = 18 doubled an id list 2^18 times (some 20 MB); n = 26 aborted the process.
    for n in [18, 26, 64] {
        let operation = Operation {
            query: doubling(n),
            ..Operation::default()
        };
        ALLOCATOR.reset_peak_memory();
        let checked = prepare(operation, &policy, false);
        let peak = ALLOCATOR.get_peak_memory();
        assert!(matches!(checked, Checked::Rejected(_)), "n = {n}");
        assert!(peak < 1 << 20, "n = {n}: {peak} bytes at the peak");
    }
}

/// A name from the schema, or not.
fn field_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "customer",
        "customers_by_id",
        "customers",
        "customer_count",
        "__typename",
        "__schema",
        "id",
        "name",
        "bvn",
        "kyc_tier",
        "status",
        "address",
        "city",
        "SyncData",
        "no_such_field",
    ])
}

/// An argument value: ints, strings, lists, variables, nulls, enums, objects.
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (0u32..300).prop_map(|n| n.to_string()),
        "[a-z0-9]{0,30}".prop_map(|s| format!("\"{s}\"")),
        Just("$v".to_owned()),
        Just("$ids".to_owned()),
        Just("$b".to_owned()),
        Just("null".to_owned()),
        Just("ACTIVE".to_owned()),
        Just("1.5".to_owned()),
        Just("true".to_owned()),
    ];
    leaf.prop_recursive(3, 40, 12, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..12).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec(inner, 0..3).prop_map(|v| {
                let fields: Vec<String> = v
                    .iter()
                    .enumerate()
                    .map(|(i, x)| format!("f{i}: {x}"))
                    .collect();
                format!("{{{}}}", fields.join(" "))
            }),
        ]
    })
}

fn arguments() -> impl Strategy<Value = String> {
    let argument = (
        prop::sample::select(vec!["id", "ids", "limit", "offset", "filter", "x"]),
        value(),
    )
        .prop_map(|(name, value)| format!("{name}: {value}"));
    prop::collection::vec(argument, 0..3).prop_map(|args| {
        if args.is_empty() {
            String::new()
        } else {
            format!("({})", args.join(", "))
        }
    })
}

fn directives() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "@skip(if: true)",
            "@skip(if: false)",
            "@include(if: $b)",
            "@include(if: false)",
            "@deprecated",
        ]),
        0..2,
    )
    .prop_map(|d| d.join(" "))
}

/// A selection set over `fragments` fragment names.
fn selection_set(fragments: usize) -> impl Strategy<Value = String> {
    let spread = (0..fragments.max(1)).prop_map(move |k| {
        if fragments == 0 {
            "__typename".to_owned()
        } else {
            format!("...F{k}")
        }
    });
    let field = (
        prop::option::of("[a-z]{1,3}"),
        field_name(),
        arguments(),
        directives(),
    )
        .prop_map(|(alias, name, args, dirs)| {
            let alias = alias.map(|a| format!("{a}: ")).unwrap_or_default();
            format!("{alias}{name}{args} {dirs}")
        });
    let leaf = prop_oneof![4 => field, 1 => spread];
    leaf.prop_recursive(6, 60, 6, |inner| {
        (
            prop::option::of(field_name()),
            prop::collection::vec(inner, 1..6),
        )
            .prop_map(|(name, items)| match name {
                Some(name) => format!("{name} {{ {} }}", items.join(" ")),
                None => format!("... on Query {{ {} }}", items.join(" ")),
            })
    })
    .prop_map(|body| format!("{{ {body} }}"))
}

/// A whole document: an operation and fragments that spread each other (cycles too).
fn document() -> impl Strategy<Value = String> {
    (0usize..6).prop_flat_map(|fragments| {
        (
            selection_set(fragments),
            prop::collection::vec(selection_set(fragments), fragments),
            prop::sample::select(vec![
                "",
                "query Q",
                "query($v: ID, $ids: [ID!], $b: Boolean)",
                "mutation",
            ]),
        )
            .prop_map(|(operation, bodies, head)| {
                let fragments: Vec<String> = bodies
                    .iter()
                    .enumerate()
                    .map(|(k, body)| format!("fragment F{k} on Query {body}"))
                    .collect();
                format!("{head} {operation} {}", fragments.join(" "))
            })
    })
}

/// A document, sometimes damaged: bytes replaced, inserted, or the text cut short.
fn text() -> impl Strategy<Value = String> {
    let damaged = (
        document(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        prop::option::of(any::<prop::sample::Index>()),
    )
        .prop_map(|(doc, edits, cut)| {
            let mut bytes = doc.into_bytes();
            for (at, byte) in edits {
                if !bytes.is_empty() {
                    let at = at.index(bytes.len());
                    bytes.insert(at, byte);
                }
            }
            if let Some(cut) = cut
                && !bytes.is_empty()
            {
                bytes.truncate(cut.index(bytes.len()));
            }
            String::from_utf8_lossy(&bytes).into_owned()
        });
    prop_oneof![
        6 => document(),
        3 => damaged,
        1 => (1usize..40).prop_map(doubling),
        1 => prop::collection::vec(any::<char>(), 0..200).prop_map(|c| c.into_iter().collect()),
    ]
}

fn variables() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        any::<i64>().prop_map(Value::from),
        "[a-z0-9]{0,10}".prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    (
        scalar.clone(),
        prop::collection::vec(scalar, 0..120),
        any::<bool>(),
    )
        .prop_map(|(v, ids, b)| json!({ "v": v, "ids": ids, "b": b }))
}

fn config(bloc: &MockServer) -> Config {
    let url = format!("{}/v1", bloc.uri()).parse().unwrap();
    Config {
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        bloc: BlocConfig {
            call_timeout: Duration::from_secs(2),
            ..BlocConfig::new(url, SecretString::from("sk_test_fuzz"))
        },
        limits: Limits::default(),
        auth: AuthConfig {
            anonymous: Some(AnonymousAccess {
                scopes: Scopes::all(),
                rate: None,
            }),
            ..AuthConfig::default()
        },
        exposure: Exposure::default(),
        persisted: Default::default(),
        resilience: Resilience {
            max_retries: 0,
            ..Resilience::default()
        },
        shared: Default::default(),
        sandbox: false,
    }
}

#[test]
fn generated_documents_never_panic_and_stay_within_bounded_memory() {
    let _serial = one_at_a_time();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bloc = runtime.block_on(MockServer::start());
    let state = AppState::new(config(&bloc)).unwrap();
    // A few seconds in a debug build; PROPTEST_CASES runs more.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(120);
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });

    let outcome = runner.run(
        &(text(), variables(), any::<bool>()),
        |(query, variables, get)| {
            let body = json!({ "query": query, "variables": variables });
            let request = if get {
                let query: String = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("query", &query)
                    .append_pair("variables", &variables.to_string())
                    .finish();
                Request::get(format!("/graphql?{query}")).body(Body::empty())
            } else {
                Request::post("/graphql")
                    .header("content-type", "application/json")
                    .body(Body::from(body.to_string()))
            }
            .unwrap();
            ALLOCATOR.reset_peak_memory();
            let (status, bytes) = runtime.block_on(async {
                let response = app(state.clone()).oneshot(request).await.unwrap();
                let status = response.status();
                (
                    status,
                    response.into_body().collect().await.unwrap().to_bytes(),
                )
            });
            let peak = ALLOCATOR.get_peak_memory();
            prop_assert!(peak < MAX_PEAK, "{peak} bytes at the peak");
            prop_assert!(!status.is_server_error(), "{status}");
            let answer: Result<Value, _> = serde_json::from_slice(&bytes);
            prop_assert!(answer.is_ok(), "{status}: not JSON");
            Ok(())
        },
    );
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}
