//! The real binary: configuration errors, `--help`, sandbox mode over a real socket, graceful
//! shutdown, and no secret in the logs.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc::Receiver,
    time::Duration,
};

use serde_json::{Value, json};
use wiremock::{Mock, MockServer, matchers::method};

use crate::{
    helpers::{TEST_KEY, free_port},
    mocks::bloc_error,
};

const BIN: &str = env!("CARGO_BIN_EXE_bloc-graphql");
/// Client input that must never be logged.
const SECRET_ID: &str = "5eed5eed5eed5eed5eed5eed";
const PHONE: &str = "08031234567";
const VARIABLE_ID: &str = "7e577e577e577e577e577e57";

/// A command with none of the service's variables inherited from the test environment.
fn command() -> Command {
    let mut command = Command::new(BIN);
    for var in [
        "BLOC_SECRET_KEY",
        "BLOC_API_URL",
        "LISTEN_ADDR",
        "BLOC_SANDBOX",
        "RUST_LOG",
        "REDIS_URL",
    ] {
        command.env_remove(var);
    }
    command
}

/// Starts the binary and waits for the log line that carries the listening URL. Returns the
/// running child, the URL (without `/graphql`), and every stderr line so far and to come.
fn start(mut command: Command) -> (Running, String, Receiver<String>) {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    let (replay, lines) = std::sync::mpsc::channel();
    let url = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("binary exited before listening");
        replay.send(line.clone()).unwrap();
        if let Some(at) = line.find("http://") {
            let url: String = line[at..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '"')
                .collect();
            break url
                .trim_end_matches('/')
                .trim_end_matches("/graphql")
                .to_owned();
        }
    };
    std::thread::spawn(move || rx.iter().for_each(|line| drop(replay.send(line))));
    (Running(child), url, lines)
}

/// A started binary, killed if the test ends (or fails) before stopping it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn terminate(mut running: Running) -> std::process::ExitStatus {
    let child = &mut running.0;
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    panic!("did not stop within 5 s of SIGTERM");
}

/// The start-up banner: log lines up to and including its last one (`upstream: ...`).
fn banner(lines: &Receiver<String>) -> String {
    let mut banner = Vec::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(5)) {
        let last = line.contains("upstream: rate");
        banner.push(line);
        if last {
            break;
        }
    }
    banner.join("\n")
}

async fn graphql(url: &str, query: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[test]
fn without_a_key_or_sandbox_it_exits_non_zero_with_one_clear_line() {
    let output = command().output().unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("BLOC_SECRET_KEY") && lines[0].contains("--sandbox"),
        "{stderr}"
    );
}

#[test]
fn a_live_server_with_no_way_for_clients_to_authenticate_refuses_to_start() {
    let output = command().env("BLOC_SECRET_KEY", TEST_KEY).output().unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--clients") && stderr.contains("--allow-anonymous"),
        "{stderr}"
    );
    assert!(!stderr.contains(TEST_KEY));
}

#[test]
fn client_add_prints_a_key_once_and_a_clients_file_entry_that_accepts_it() {
    let output = command()
        .args([
            "client",
            "add",
            "ios-app",
            "--scopes",
            "customers:read,customers:pii,finance:read",
            "--rate",
            "120",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let key = stdout
        .split_whitespace()
        .find(|w| w.starts_with("bgq_"))
        .unwrap()
        .to_owned();
    assert_eq!(key.len(), 4 + 64);
    assert_eq!(stdout.matches(&key).count(), 1, "the key is printed once");
    let entry = &stdout[stdout.find("[[clients]]").unwrap()..];
    assert!(!entry.contains(&key), "the file entry holds only the hash");

    let dir = std::env::temp_dir().join(format!("bloc-graphql-clients-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("clients.toml");
    std::fs::write(&file, entry).unwrap();
    let clients = bloc_graphql::auth::load_clients(&file).unwrap();
    let auth = bloc_graphql::auth::AuthConfig {
        clients,
        ..Default::default()
    };
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {key}").parse().unwrap());
    let principal = auth.authenticate(&headers).unwrap();
    assert_eq!(principal.id, "ios-app");
    assert!(principal.scopes.contains(bloc_graphql::auth::Scope::Pii));
    assert!(
        principal
            .scopes
            .contains(bloc_graphql::auth::Scope::Finance)
    );
    assert!(entry.contains(r#"scopes = ["customers:read", "customers:pii", "finance:read"]"#));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn help_documents_every_setting_with_its_env_name_and_default() {
    let output = command().arg("--help").output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();

    for expected in [
        "--sandbox",
        "--listen-addr",
        "[env: LISTEN_ADDR=]",
        "[default: 127.0.0.1:8080]",
        "--bloc-api-url",
        "[env: BLOC_API_URL=]",
        "[default: https://api.blochq.io/v1]",
        "--upstream-concurrency",
        "[env: UPSTREAM_CONCURRENCY=]",
        "[default: 16]",
        "--max-batch",
        "[env: MAX_BATCH_OPERATIONS=]",
        "[default: 10]",
        "--body-limit",
        "[default: 65536]",
        "--request-timeout-ms",
        "--header-read-timeout-ms",
        "[env: HEADER_READ_TIMEOUT_MS=]",
        "[default: 10000]",
        "--idle-timeout-ms",
        "[env: IDLE_TIMEOUT_MS=]",
        "[default: 60000]",
        "--max-connections",
        "[env: MAX_CONNECTIONS=]",
        "[default: 512]",
        "--redis-url",
        // The value itself is never shown, even when set.
        "[env: REDIS_URL]",
        "--redis-timeout-ms",
        "[env: REDIS_TIMEOUT_MS=]",
        "[default: 20]",
        "BLOC_SECRET_KEY",
    ] {
        assert!(
            help.contains(expected),
            "{expected} missing from --help:\n{help}"
        );
    }
    assert!(
        !help.contains("--bloc-secret-key"),
        "the key must never be a flag"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sandbox_mode_serves_graphiql_and_fake_customers_then_stops_cleanly() {
    let mut cmd = command();
    cmd.args(["--sandbox", "--listen-addr", "127.0.0.1:0"]);
    let (child, url, lines) = start(cmd);

    let startup = banner(&lines);
    let version = concat!(
        "bloc-graphql ",
        env!("CARGO_PKG_VERSION"),
        " serving GraphQL at"
    );
    for expected in [version, "mode: sandbox", "limits: deadline 10000 ms"] {
        assert!(startup.contains(expected), "{expected} not in:\n{startup}");
    }
    let page = reqwest::Client::new()
        .get(format!("{url}/"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("graphiql"));
    let response = graphql(&url, "{ customer_count customers(limit: 1) { name } }").await;
    assert_eq!(response["data"]["customer_count"], 60);

    assert!(terminate(child).success());
}

#[tokio::test(flavor = "multi_thread")]
async fn neither_the_key_nor_client_input_reaches_the_logs_even_at_trace_level() {
    let bloc = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(bloc_error(401, "bad key"))
        .mount(&bloc)
        .await;
    let mut cmd = command();
    cmd.env("BLOC_SECRET_KEY", TEST_KEY)
        .env("BLOC_API_URL", format!("{}/v1", bloc.uri()))
        .env("RUST_LOG", "trace")
        .args(["--allow-anonymous", "--listen-addr", "127.0.0.1:0"]);
    let (child, url, rx) = start(cmd);

    let response = graphql(
        &url,
        r#"{ customer(id: "6410612c7f1b4b36103f872a") { bvn } }"#,
    )
    .await;
    assert_eq!(
        response["errors"][0]["extensions"]["code"],
        "UPSTREAM_UNAUTHORIZED"
    );
    // Client input in a GET query string (an id, a search for a phone number) stays out too.
    let get = format!(
        "{url}/graphql?query=%7Bcustomer(id%3A%22{SECRET_ID}%22)%7Bname%7D%20customers(filter%3A%7Bsearch%3A%22{PHONE}%22%7D)%7Bname%7D%7D"
    );
    assert_eq!(reqwest::get(get).await.unwrap().status(), 200);
    // Variables are client input too.
    let with_variables = reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .json(&json!({
            "query": "query Lookup($id: ID!) { customer(id: $id) { name } }",
            "operationName": "Lookup",
            "variables": { "id": VARIABLE_ID },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(with_variables.status(), 200);
    assert!(terminate(child).success());

    let logs: Vec<String> = rx.try_iter().collect();
    let logs = logs.join("\n");
    assert!(
        logs.contains("Bloc rejected the secret key"),
        "the misconfiguration is logged loudly"
    );
    assert!(!logs.contains(TEST_KEY), "key leaked into logs");
    assert!(
        !logs.contains(&TEST_KEY[8..24]),
        "part of the key leaked into logs"
    );
    assert!(
        logs.contains("/graphql"),
        "requests are logged at trace level"
    );
    let request_lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("graphql request"))
        .collect();
    assert_eq!(
        request_lines.len(),
        3,
        "one line per GraphQL request:\n{logs}"
    );
    let lookup = request_lines.iter().find(|l| l.contains("Lookup")).unwrap();
    assert!(
        lookup.contains("client=anonymous") && lookup.contains("upstream_calls=1"),
        "{lookup}"
    );
    for pii in [SECRET_ID, PHONE, VARIABLE_ID, "6410612c7f1b4b36103f872a"] {
        assert!(!logs.contains(pii), "{pii} leaked into logs");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_shares_through_a_tls_redis_and_never_logs_its_password() {
    use crate::replicas::{REDIS_PASSWORD, Redis, test_certificates};
    let dir = std::env::temp_dir().join(format!("bloc-graphql-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    test_certificates(&dir);
    let redis = Redis::start_tls(&dir);

    let mut cmd = command();
    cmd.args(["--sandbox", "--listen-addr", "127.0.0.1:0"])
        .env("REDIS_URL", redis.tls_url())
        // The test CA, the way a team trusts a managed Redis's private CA (rustls reads the
        // system's roots, or this file).
        .env("SSL_CERT_FILE", dir.join("ca.crt"))
        .env("RUST_LOG", "trace");
    let (child, url, lines) = start(cmd);
    let startup = banner(&lines);
    assert!(
        startup.contains("shared: budget and cache on Redis"),
        "{startup}"
    );

    let get = |path: &str| {
        let url = format!("{url}{path}");
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    let mut state = Value::Null;
    for _ in 0..100 {
        let status: Value = serde_json::from_str(&get("/status").await).unwrap();
        state = status["redis"]["state"].clone();
        if state == "up" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state, "up", "the replica reached Redis over TLS");
    let response = graphql(&url, "{ customers(limit: 1) { name } }").await;
    assert!(response.get("errors").is_none(), "{response}");
    let metrics = get("/metrics").await;
    assert!(metrics.contains("redis_up 1"), "{metrics}");

    assert!(terminate(child).success());
    let logged: Vec<String> = lines.try_iter().collect();
    let all = format!("{startup}\n{}", logged.join("\n"));
    assert!(
        !all.contains(REDIS_PASSWORD),
        "the Redis password was logged"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sandbox_subcommand_serves_bloc_alone() {
    let mut cmd = command();
    cmd.args(["sandbox", "--listen", "127.0.0.1:0"]);
    let (child, base, lines) = start(cmd);
    assert!(
        base.ends_with("/v1"),
        "{:?}",
        lines.try_iter().collect::<Vec<_>>()
    );

    let client = reqwest::Client::new();
    let list: Value = client
        .get(format!("{base}/customers"))
        .bearer_auth("sk_test_frontend")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let anonymous = client
        .get(format!("{base}/customers"))
        .send()
        .await
        .unwrap();

    assert_eq!(list["success"], true);
    assert_eq!(list["data"].as_array().unwrap().len(), 60);
    assert_eq!(anonymous.status(), 401);
    assert!(terminate(child).success());
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_a_slow_request_lets_it_finish_and_logs_are_json_on_request() {
    let bloc = MockServer::start().await;
    let slow = wiremock::ResponseTemplate::new(200)
        .set_body_json(crate::mocks::envelope(crate::mocks::customer(
            &crate::mocks::id(1),
        )))
        .set_delay(Duration::from_secs(2));
    Mock::given(method("GET"))
        .respond_with(slow)
        .mount(&bloc)
        .await;
    let mut cmd = command();
    cmd.env("BLOC_SECRET_KEY", TEST_KEY)
        .env("BLOC_API_URL", format!("{}/v1", bloc.uri()))
        .args([
            "--allow-anonymous",
            "--log-format",
            "json",
            "--listen-addr",
            "127.0.0.1:0",
        ]);
    let (child, url, rx) = start(cmd);
    let first: Value = serde_json::from_str(&rx.recv().unwrap()).expect("log lines are JSON");
    assert!(first["fields"]["message"].as_str().unwrap().contains(&url));

    let query = format!(
        r#"query Slow {{ customer(id: "{}") {{ id }} }}"#,
        crate::mocks::id(1)
    );
    let in_flight = tokio::spawn({
        let url = url.clone();
        async move { graphql(&url, &query).await }
    });
    // SIGTERM once the request is in flight: Bloc has it and has not answered yet.
    for _ in 0..1_000 {
        if !bloc.received_requests().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!in_flight.is_finished(), "the request ended before SIGTERM");
    let status = terminate(child);
    let response = in_flight.await.unwrap();

    assert!(status.success(), "exit {status:?}");
    assert_eq!(
        response["data"]["customer"]["id"],
        crate::mocks::id(1),
        "{response}"
    );
    let lines: Vec<Value> = rx
        .try_iter()
        .map(|l| serde_json::from_str(&l).expect("log lines are JSON"))
        .collect();
    let request = lines
        .iter()
        .find(|l| l["fields"]["message"] == "graphql request")
        .expect("the request was logged");
    assert_eq!(request["fields"]["operations"], r#"["Slow"]"#);
    assert_eq!(
        request["span"]["id"].as_str().map(str::len),
        Some(32),
        "{request}"
    );
}

/// Runs only in builds with the `otel` feature (`.ci/run` runs it).
#[cfg(feature = "otel")]
#[tokio::test(flavor = "multi_thread")]
async fn spans_are_exported_over_otlp_without_pii() {
    let collector = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&collector)
        .await;
    let bloc = MockServer::start().await;
    let record = crate::mocks::customer(VARIABLE_ID);
    Mock::given(method("GET"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(crate::mocks::envelope(record)),
        )
        .mount(&bloc)
        .await;
    let mut cmd = command();
    cmd.env("BLOC_SECRET_KEY", TEST_KEY)
        .env("BLOC_API_URL", format!("{}/v1", bloc.uri()))
        .args(["--allow-anonymous", "--listen-addr", "127.0.0.1:0"])
        .args(["--otlp-endpoint", &format!("{}/v1/traces", collector.uri())]);
    let (child, url, _) = start(cmd);

    let query = format!(r#"{{ customer(id: "{VARIABLE_ID}") {{ name }} }}"#);
    let response = graphql(&url, &query).await;
    assert_eq!(response["data"]["customer"]["name"], "Adaeze Okafor");
    assert!(terminate(child).success());

    let exports = collector.received_requests().await.unwrap();
    assert!(!exports.is_empty(), "no spans exported");
    let body: Vec<u8> = exports.iter().flat_map(|r| r.body.clone()).collect();
    let contains = |needle: &str| body.windows(needle.len()).any(|w| w == needle.as_bytes());
    for span in ["request", "loader_batch", "bloc_call"] {
        assert!(contains(span), "span {span} missing");
    }
    assert!(!contains(VARIABLE_ID), "a customer id reached the trace");
    assert!(!contains("Adaeze"), "customer data reached the trace");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_startup_banner_tells_a_test_key_from_a_live_one_without_showing_it() {
    let bloc = MockServer::start().await;
    for (key, kind) in [(TEST_KEY, "with a test key"), (LIVE_KEY, "with a live key")] {
        let mut cmd = command();
        cmd.env("BLOC_SECRET_KEY", key)
            .env("BLOC_API_URL", format!("{}/v1", bloc.uri()))
            .args(["--allow-anonymous", "--listen-addr", "127.0.0.1:0"]);
        let (child, url, lines) = start(cmd);
        let logs = banner(&lines);
        // Once it answers, its SIGTERM handler is in place.
        let health = reqwest::get(format!("{url}/healthz")).await.unwrap();
        assert_eq!(health.status(), 200);
        assert!(terminate(child).success());

        assert!(logs.contains("mode: live, Bloc at"), "{logs}");
        assert!(logs.contains(kind), "{kind} not in:\n{logs}");
        assert!(!logs.contains(&key[8..]), "the key leaked:\n{logs}");
    }
}

const LIVE_KEY: &str = "sk_live_0123456789abcdef0123456789abcdef";

/// Runs `bloc-graphql check` against `bloc` with `key`: exit code and stdout.
fn check(bloc: &str, key: Option<&str>) -> (Option<i32>, String) {
    let mut cmd = command();
    cmd.env("BLOC_API_URL", format!("{bloc}/v1"))
        .args(["--allow-anonymous", "check"]);
    if let Some(key) = key {
        cmd.env("BLOC_SECRET_KEY", key);
    }
    let output = cmd.output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    (output.status.code(), stdout)
}

#[tokio::test(flavor = "multi_thread")]
async fn losing_redis_and_getting_it_back_logs_one_warning_each() {
    use crate::replicas::Redis;
    let mut redis = Redis::start();
    let mut cmd = command();
    cmd.args(["--sandbox", "--listen-addr", "127.0.0.1:0"])
        .env("REDIS_URL", redis.url());
    let (child, url, lines) = start(cmd);
    let state = |wanted: &'static str| {
        let url = url.clone();
        async move {
            for _ in 0..100 {
                let status: Value = reqwest::get(format!("{url}/status"))
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if status["redis"]["state"] == wanted {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("Redis never {wanted}");
        }
    };
    state("up").await;
    redis.stop();
    // Requests keep coming while Redis is gone: each would have been a warning.
    for n in 0..20 {
        let query = format!(r#"{{ customer(id: "63b1d64cf0409e75a5412a{n:02}") {{ id }} }}"#);
        let response = graphql(&url, &query).await;
        assert!(response.get("data").is_some(), "{response}");
    }
    state("down").await;
    let _redis = Redis::start_on(redis.port());
    state("up").await;
    for n in 0..5 {
        graphql(
            &url,
            &format!(r#"{{ customer(id: "63b1d64cf0409e75a5412b{n:02}") {{ id }} }}"#),
        )
        .await;
    }
    assert!(terminate(child).success());
    let logged: Vec<String> = lines.try_iter().collect();
    let count = |needle: &str| logged.iter().filter(|l| l.contains(needle)).count();
    assert_eq!(count("Redis is unreachable or slow"), 1, "{logged:#?}");
    assert_eq!(count("are shared again"), 1, "{logged:#?}");
}

#[test]
fn check_reports_whether_redis_answers() {
    let redis = crate::replicas::Redis::start();
    let run = |url: &str| {
        let output = command()
            .args(["--sandbox", "check"])
            .env("REDIS_URL", url)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8(output.stdout).unwrap(),
        )
    };
    let (code, stdout) = run(&redis.url());
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("redis: reachable (1 live replica)"),
        "{stdout}"
    );

    let closed = redis.url().replace(&redis.port().to_string(), "1");
    let (code, stdout) = run(&closed);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("redis: NOT REACHABLE"), "{stdout}");
    assert!(
        !stdout.contains(crate::replicas::REDIS_PASSWORD),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_proves_the_key_with_one_call_that_reads_no_customer() {
    let bloc = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(bloc_error(404, "customer not found"))
        .mount(&bloc)
        .await;

    let (code, stdout) = check(&bloc.uri(), Some(LIVE_KEY));

    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("live key") && stdout.contains("key accepted"),
        "{stdout}"
    );
    assert!(stdout.ends_with("verdict: ready\n"), "{stdout}");
    let requests = bloc.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.path(), "/v1/customers/bloc-graphql-check");
    assert!(!stdout.contains(&LIVE_KEY[8..]));
}

#[tokio::test(flavor = "multi_thread")]
async fn check_fails_clearly_when_bloc_refuses_the_key_or_cannot_be_reached() {
    let bloc = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(bloc_error(401, "invalid key"))
        .mount(&bloc)
        .await;

    let (refused, refused_out) = check(&bloc.uri(), Some(LIVE_KEY));
    // Port 9 (discard) on loopback: nothing listens there.
    let (unreachable, unreachable_out) = check("http://127.0.0.1:9", Some(TEST_KEY));
    let (unconfigured, unconfigured_out) = check(&bloc.uri(), None);

    assert_eq!(refused, Some(1), "{refused_out}");
    assert!(refused_out.contains("KEY REFUSED"), "{refused_out}");
    assert_eq!(unreachable, Some(1), "{unreachable_out}");
    assert!(
        unreachable_out.contains("NOT REACHABLE"),
        "{unreachable_out}"
    );
    assert_eq!(unconfigured, Some(2), "{unconfigured_out}");
    assert!(
        unconfigured_out.contains("BLOC_SECRET_KEY"),
        "{unconfigured_out}"
    );
    for out in [&refused_out, &unreachable_out, &unconfigured_out] {
        assert!(out.ends_with("verdict: not ready\n"), "{out}");
        assert!(!out.contains(&LIVE_KEY[8..]) && !out.contains(&TEST_KEY[8..]));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_exits_zero_only_while_the_server_is_healthy() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = command();
    cmd.args(["--sandbox", "--listen-addr", &listen]);
    let (child, _url, _lines) = start(cmd);
    let healthcheck = || {
        command()
            .env("LISTEN_ADDR", &listen)
            .arg("healthcheck")
            .output()
            .unwrap()
    };

    let healthy = healthcheck();
    assert!(terminate(child).success());
    let gone = healthcheck();

    assert!(healthy.status.success(), "{healthy:?}");
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("unhealthy"));
}
