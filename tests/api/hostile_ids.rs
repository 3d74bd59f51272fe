//! Hostile customer ids: whatever a client sends as an id, Bloc sees either nothing or
//! exactly `GET /v1/customers/{that id, percent-encoded as one path segment}`. Dot segments,
//! slashes, query and fragment markers, backslashes, percent-encodings and control characters
//! (which URL parsers drop, turning `.\t.` into `..`) must not reach any other path.

use serde_json::{Value, json};
use wiremock::{Mock, matchers::method};

use crate::{
    helpers::{TestApp, codes, spawn_app},
    mocks::bloc_error,
};

/// A Bloc that knows no customer, so every lookup it gets is answered (404: `null`).
async fn app() -> TestApp {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .respond_with(bloc_error(404, "customer not found"))
        .mount(&app.bloc)
        .await;
    app
}

/// The four ways an id reaches a resolver: `customer` and `customers_by_id`, each with the id
/// as a literal and as a variable.
fn requests(id: &str) -> Vec<Value> {
    let literal = serde_json::to_string(id).unwrap();
    vec![
        json!({ "query": format!("{{ customer(id: {literal}) {{ id }} }}") }),
        json!({
            "query": "query ($id: ID!) { customer(id: $id) { id } }",
            "variables": { "id": id },
        }),
        json!({ "query": format!("{{ customers_by_id(ids: [{literal}]) {{ id }} }}") }),
        json!({
            "query": "query ($ids: [ID!]!) { customers_by_id(ids: $ids) { id } }",
            "variables": { "ids": [id] },
        }),
    ]
}

/// `%XX` decoded; `None` when the result is not UTF-8 or an escape is malformed.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Sends `id` every way, each request twice (the second run may take the direct executor),
/// and returns the error codes of each response and the paths Bloc received for them.
async fn send(app: &TestApp, id: &str) -> (Vec<Vec<String>>, Vec<String>) {
    let before = app.upstream_paths().await.len();
    let mut errors = Vec::new();
    for body in requests(id) {
        let first = app.post(&body, &[]).await;
        let second = app.post(&body, &[]).await;
        assert_eq!(
            first.text, second.text,
            "{id:?}: both executor paths answer alike"
        );
        errors.push(codes(&first.json()));
    }
    let paths = app.upstream_paths().await.split_off(before);
    (errors, paths)
}

/// Every path is `/v1/customers/` plus one segment that decodes to `id` itself.
fn assert_only_its_own_path(id: &str, paths: &[String]) {
    for path in paths {
        let segment = path.strip_prefix("/v1/customers/");
        let decoded = segment.and_then(percent_decode);
        assert!(
            segment.is_some_and(|s| !s.is_empty() && !s.contains('/'))
                && decoded.as_deref() == Some(id)
                && !matches!(decoded.as_deref(), Some("." | "..")),
            "id {id:?} reached Bloc as {path:?}"
        );
    }
}

#[tokio::test]
async fn ids_with_control_characters_are_rejected_without_calling_bloc() {
    let app = app().await;
    let controls = (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32);

    for control in controls {
        for id in [
            format!(".{control}."),
            format!(".{control}"),
            format!("{control}"),
            format!("6410612c7f1b4b36103f872a{control}"),
        ] {
            let (errors, paths) = send(&app, &id).await;
            assert!(paths.is_empty(), "{id:?} reached Bloc as {paths:?}");
            for codes in errors {
                assert_eq!(codes, ["BAD_USER_INPUT"], "{id:?}");
            }
        }
    }
}

#[tokio::test]
async fn no_id_reaches_bloc_as_anything_but_its_own_customer_path_segment() {
    let app = app().await;
    let hostile = [
        ".",
        "..",
        "...",
        ". .",
        ".\t.",
        ".\t",
        "\t..",
        ".\n.",
        ".\r.",
        "..\u{0}",
        "%2e",
        "%2e%2e",
        "%2E%2E",
        ".%2e",
        "%2e.",
        "%252e%252e",
        "a/b",
        "/",
        "//",
        "a/../b",
        "../customers",
        "..%2f..",
        "%2f",
        "a?b",
        "?",
        "#",
        "a#b",
        "a%3Fb",
        "a%23b",
        "\\",
        "..\\..",
        "a\\b",
        "%5c",
        "\u{ff0e}\u{ff0e}",
        "\u{2024}\u{2024}",
        "\u{3002}",
        "\u{fe52}",
        " ",
        " . ",
        "a b",
        "+",
        "%",
        "%%",
        "%zz",
        "%0",
        "\u{200b}.\u{200b}.",
        "\u{feff}..",
        "\u{2028}",
        "\u{85}..",
        ";",
        "a;b",
        "..;",
        "@",
        ":",
        "a:b",
        "customers",
        "v1",
        "&",
        "=",
        "'",
        "\"",
        "<>",
        "{}",
        "|",
        "^",
        "`",
        "[]",
        "é",
        "🙂",
        "\u{fffd}",
        "6410612c7f1b4b36103f872a",
    ];

    for id in hostile {
        let (_, paths) = send(&app, id).await;
        assert_only_its_own_path(id, &paths);
    }
}

#[tokio::test]
async fn random_ids_reach_bloc_only_as_themselves_in_one_path_segment() {
    let app = app().await;
    // Characters that mean something to URL parsers, and some that look like them.
    let alphabet: Vec<char> = "./\\%2eEfF?#;:@ a\t\n\r\u{0}\u{7f}\u{85}\u{ff0e}\u{2024}\u{200b}é"
        .chars()
        .collect();
    // A fixed linear congruential generator: the same ids on every run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |bound: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize % bound
    };

    for _ in 0..150 {
        let len = 1 + next(6);
        let id: String = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
        let (errors, paths) = send(&app, &id).await;
        assert_only_its_own_path(&id, &paths);
        if id.chars().any(char::is_control) {
            assert!(paths.is_empty(), "{id:?} reached Bloc as {paths:?}");
            assert!(errors.iter().all(|c| c == &["BAD_USER_INPUT"]), "{id:?}");
        }
    }
}
