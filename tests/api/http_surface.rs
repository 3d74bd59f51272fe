//! The HTTP surface: routes, GraphQL-over-HTTP status codes and media types, limits.

use std::{net::SocketAddr, time::Duration};

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use bloc_graphql::{config::ConnectionLimits, server::serve_until};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::oneshot,
};
use wiremock::{Mock, ResponseTemplate, matchers::method};

use crate::{
    helpers::{TestApp, codes, send, spawn_app, spawn_app_with},
    mocks::{customer, envelope, id, mount_customer},
};

const GQL: &str = "application/graphql-response+json";

fn get(uri: &str, accept: &str) -> Request<Body> {
    Request::get(uri)
        .header("accept", accept)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn healthz_answers_ok_without_calling_bloc() {
    let app = spawn_app().await;

    let reply = send(
        &app.state,
        Request::get("/healthz").body(Body::empty()).unwrap(),
    )
    .await;

    assert_eq!((reply.status, reply.text.as_str()), (StatusCode::OK, "ok"));
    assert!(app.upstream_paths().await.is_empty());
}

#[tokio::test]
async fn readiness_is_the_replicas_own_state_and_status_says_how_bloc_is() {
    let app = spawn_app().await;
    let get_text = |uri: &'static str| {
        let state = app.state.clone();
        async move { send(&state, Request::get(uri).body(Body::empty()).unwrap()).await }
    };

    let ready = get_text("/readyz").await;
    let status = get_text("/status").await;
    assert_eq!(
        (ready.status, ready.text.as_str()),
        (StatusCode::OK, "ready\n")
    );
    assert_eq!(
        status.json(),
        json!({ "ready": true, "shutting_down": false, "version": env!("CARGO_PKG_VERSION"),
                "bloc": { "circuit": "closed" }, "redis": null })
    );

    // A stop signal: the server stops taking connections and the replica is no longer ready.
    let (addr, stop, served) = serve_with(|_| {}).await;
    TcpStream::connect(addr).await.unwrap();
    drop(stop);
    tokio::time::timeout(PATIENCE, async {
        while !served.state.draining() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the signal marks the replica as draining");
    let draining = send(
        &served.state,
        Request::get("/readyz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(draining.status, StatusCode::SERVICE_UNAVAILABLE);
    let status = send(
        &served.state,
        Request::get("/status").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status.json()["shutting_down"], true);
    assert!(app.upstream_paths().await.is_empty(), "no Bloc call");
}

#[tokio::test]
async fn graphiql_is_served_at_the_root_and_to_browsers_at_graphql() {
    let app = spawn_app().await;
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    for uri in ["/", "/graphql"] {
        let reply = send(&app.state, get(uri, browser)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(
            reply.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(reply.text.contains("graphiql"), "{uri}");
        assert!(reply.text.contains("src=\"/graphiql.js\""), "{uri}");
    }
}

#[tokio::test]
async fn get_runs_queries_and_answers_in_the_accepted_media_type() {
    let app = spawn_app().await;
    // Once: the second request is answered from the shared cache.
    mount_customer(&app.bloc, customer(&id(1)), 1).await;
    let uri = format!(
        "/graphql?query=%7Bcustomer(id%3A%22{}%22)%7Bname%7D%7D",
        id(1)
    );

    let json_reply = send(&app.state, get(&uri, "*/*")).await;
    let gql_reply = send(&app.state, get(&uri, GQL)).await;

    assert_eq!(json_reply.status, StatusCode::OK);
    assert_eq!(
        json_reply.headers["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(
        json_reply.json()["data"]["customer"]["name"],
        "Adaeze Okafor"
    );
    assert_eq!(
        gql_reply.headers["content-type"],
        "application/graphql-response+json; charset=utf-8"
    );
    assert_eq!(gql_reply.headers["cache-control"], "no-store");
}

#[tokio::test]
async fn get_never_runs_a_mutation() {
    let app = spawn_app().await;

    let reply = send(&app.state, get("/graphql?query=mutation%7Bx%7D", GQL)).await;

    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers["allow"], "POST");
}

#[tokio::test]
async fn request_errors_are_400_with_graphql_response_json_and_200_with_json() {
    let app = spawn_app().await;
    let cases = [
        ("{ customer(", "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", "GRAPHQL_VALIDATION_FAILED"),
    ];

    for (query, code) in cases {
        let body = json!({ "query": query });
        let strict = app.post(&body, &[("accept", GQL)]).await;
        let legacy = app.post(&body, &[("accept", "application/json")]).await;

        assert_eq!(strict.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(codes(&strict.json()), [code]);
        assert!(strict.json().get("data").is_none(), "{}", strict.text);
        assert_eq!(legacy.status, StatusCode::OK, "{query}");
        assert_eq!(codes(&legacy.json()), [code]);
    }
}

#[tokio::test]
async fn malformed_http_requests_are_400_and_say_why() {
    let app = spawn_app().await;
    let post = |body: &'static str| {
        Request::post("/graphql")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap()
    };

    for (body, says) in [
        ("{not json", "not valid JSON"),
        (r#"{"query": 1}"#, "`query` must be a string"),
        (
            r#"{"query": "{a}", "variables": []}"#,
            "`variables` must be a JSON object",
        ),
        ("[]", "at least one operation"),
        ("42", "must be a JSON object"),
    ] {
        let reply = send(&app.state, post(body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(reply.text.contains(says), "{body}: {}", reply.text);
        assert_eq!(codes(&reply.json()), ["BAD_REQUEST"]);
    }
}

#[tokio::test]
async fn bodies_that_are_not_json_are_415_and_unacceptable_accepts_are_406() {
    let app = spawn_app().await;
    let form = Request::post("/graphql")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("query={__typename}"))
        .unwrap();
    let latin1 = Request::post("/graphql")
        .header("content-type", "application/json; charset=latin1")
        .body(Body::from(r#"{"query":"{__typename}"}"#))
        .unwrap();
    let xml = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("accept", "application/xml")
        .body(Body::from(r#"{"query":"{__typename}"}"#))
        .unwrap();

    assert_eq!(
        send(&app.state, form).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        send(&app.state, latin1).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        send(&app.state, xml).await.status,
        StatusCode::NOT_ACCEPTABLE
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = spawn_app().await;
    let padding = " ".repeat(64 * 1024);
    let body = json!({ "query": format!("{{ __typename {padding} }}") });

    let reply = app.post(&body, &[]).await;

    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_batch_answers_an_array_in_order_and_is_capped_at_ten() {
    let app = spawn_app().await;
    let op = |n: usize| json!({ "query": format!("{{ n{n}: __typename }}") });

    let ten: Vec<_> = (0..10).map(op).collect();
    let reply = app.post(&json!(ten), &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    let answers = reply.json();
    for n in 0..10 {
        assert_eq!(answers[n]["data"][format!("n{n}")], "Query");
    }

    let eleven: Vec<_> = (0..11).map(op).collect();
    let reply = app.post(&json!(eleven), &[]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(codes(&reply.json()), ["BATCH_TOO_LARGE"]);
    assert!(
        reply.text.contains("at most 10 operations"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn a_request_is_answered_by_its_deadline_even_when_bloc_is_slower() {
    let app = spawn_app_with(|c| {
        c.limits.request_timeout = Duration::from_millis(300);
        c.bloc.call_timeout = Duration::from_secs(120);
    })
    .await;
    let slow = ResponseTemplate::new(200)
        .set_body_json(envelope(customer(&id(1))))
        .set_delay(Duration::from_secs(60));
    Mock::given(method("GET"))
        .respond_with(slow)
        .mount(&app.bloc)
        .await;
    let query = format!(
        r#"{{ customer(id: "{}") {{ id }} now: __typename }}"#,
        id(1)
    );

    let started = std::time::Instant::now();
    let reply = app.post(&json!({ "query": query }), &[]).await;

    // Orders of magnitude apart: a 300 ms deadline, a one-minute Bloc and a two-minute call
    // timeout. Only the deadline can have ended this request within 30 s.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(codes(&reply.json()), ["UPSTREAM_UNAVAILABLE"]);
    assert_eq!(
        reply.json()["data"]["now"],
        "Query",
        "the rest of the answer is intact"
    );
}

#[tokio::test]
async fn upstream_trace_is_only_reported_when_asked_for() {
    let app = spawn_app().await;
    let body = json!({ "query": "{ __typename }" });

    let plain = app.post(&body, &[]).await.json();
    let traced = app.traced(&body).await;

    assert!(plain.get("extensions").is_none(), "{plain}");
    assert_eq!(traced["extensions"]["upstream"]["calls"], 0);
}

/// The real server on a free port with these connection limits, until the sender is dropped.
async fn serve_with(
    adjust: impl FnOnce(&mut ConnectionLimits),
) -> (SocketAddr, oneshot::Sender<()>, TestApp) {
    let app = spawn_app_with(|c| adjust(&mut c.limits.connections)).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve_until(listener, app.state.clone(), async move {
        let _ = stopped.await;
    }));
    (addr, stop, app)
}

/// Far longer than any timeout these tests configure, far shorter than "forever".
const PATIENCE: Duration = Duration::from_secs(10);

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n";

/// Reads until the server closes the connection; `None` if it is still open after PATIENCE.
async fn closed_by_server(stream: &mut TcpStream) -> Option<()> {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(PATIENCE, async {
        // A 408 or the like may come first; the connection must end after it.
        while let Ok(1..) = stream.read(&mut buf).await {}
    })
    .await
    .ok()
}

/// Sends `GET /healthz` and reads its whole answer (`ok`), keeping the connection open.
async fn healthz(stream: &mut TcpStream) -> String {
    stream.write_all(HEALTHZ).await.unwrap();
    read_answer(stream).await
}

async fn read_answer(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with(b"\r\n\r\nok") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "closed mid-answer: {:?}",
            String::from_utf8_lossy(&answer)
        );
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(answer).unwrap()
}

#[tokio::test]
async fn a_client_trickling_half_its_headers_is_disconnected_after_the_header_timeout() {
    let (addr, _stop, _app) = serve_with(|c| {
        c.header_read_timeout = Duration::from_millis(200);
        c.idle_timeout = Duration::from_secs(600);
    })
    .await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /graphql HTTP/1.1\r\nhost: test\r\n")
        .await
        .unwrap();

    // One more header byte every 50 ms: never idle, never done.
    let (mut reader, mut writer) = stream.split();
    let trickle = async {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if writer.write_all(b"x").await.is_err() {
                return;
            }
        }
    };
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(PATIENCE, async {
        tokio::select! {
            () = trickle => {}
            () = async { while let Ok(1..) = reader.read(&mut buf).await {} } => {}
        }
    })
    .await;

    assert!(closed.is_ok(), "still open after {PATIENCE:?}");
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_idle_timeout() {
    let (addr, _stop, _app) = serve_with(|c| {
        c.header_read_timeout = Duration::from_secs(600);
        c.idle_timeout = Duration::from_millis(200);
    })
    .await;

    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut served = TcpStream::connect(addr).await.unwrap();
    let answer = healthz(&mut served).await;

    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        closed_by_server(&mut silent).await.is_some(),
        "a connection that never sent a byte is still open"
    );
    assert!(
        closed_by_server(&mut served).await.is_some(),
        "a kept-alive connection is still open"
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes_while_the_others_are_served() {
    let (addr, _stop, _app) = serve_with(|c| {
        c.max_connections = 2;
        c.header_read_timeout = Duration::from_secs(600);
        c.idle_timeout = Duration::from_secs(600);
    })
    .await;
    // Two kept-alive connections take both slots (each answered, so each was accepted).
    let mut first = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    healthz(&mut first).await;
    healthz(&mut second).await;

    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(HEALTHZ).await.unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut byte)).await;
    assert!(
        early.is_err(),
        "a third connection was served beyond the cap"
    );

    // The connections holding the slots are still served.
    assert!(healthz(&mut second).await.starts_with("HTTP/1.1 200"));

    drop(first);
    let answer = tokio::time::timeout(PATIENCE, read_answer(&mut third))
        .await
        .expect("the waiting connection is served once a slot frees");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
