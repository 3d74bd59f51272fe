//! Many replicas, one Bloc budget: three replicas in this process, each its own app state
//! (its own gateway, cache, scheduler and Redis connection), against one mock Bloc and a real
//! `redis-server` started on a free port for each test.

use std::{
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{body::Body, http::Request};
use bloc_graphql::{config::Config, state::AppState};
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;
use wiremock::{Mock, MockServer, Request as Received, ResponseTemplate, matchers::method};

use crate::{
    helpers::{codes, config, free_port, metric, send, wait_until},
    mocks::{customer, envelope},
};

/// The password the test Redis asks for: it must never appear in logs or errors.
pub const REDIS_PASSWORD: &str = "s3cret-redis-pw";

/// A test CA (`ca.crt`) and a certificate for `localhost` it signed (`server.crt`,
/// `server.key`), made with openssl in `dir`.
pub fn test_certificates(dir: &std::path::Path) {
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl must be installed for the TLS Redis test (.ci/run installs it)");
        assert!(status.success(), "openssl {args:?}");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-subj",
        "/CN=bloc-graphql test CA",
        "-days",
        "2",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
}

/// A `redis-server` for one test, stopped when dropped.
pub struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn start_on(port: u16) -> Self {
        Self::spawn(port, &["--port", &port.to_string()])
    }

    /// A Redis that speaks only TLS, with the certificate and key in `dir` (see
    /// [`test_certificates`]). Its URL: `rediss://:PASSWORD@localhost:PORT/0`.
    pub fn start_tls(dir: &std::path::Path) -> Self {
        let port = free_port();
        let file = |name: &str| dir.join(name).to_str().unwrap().to_owned();
        Self::spawn(
            port,
            &[
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--tls-cert-file",
                &file("server.crt"),
                "--tls-key-file",
                &file("server.key"),
                "--tls-ca-cert-file",
                &file("ca.crt"),
                "--tls-auth-clients",
                "no",
            ],
        )
    }

    fn spawn(port: u16, listen: &[&str]) -> Self {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1"])
            .args(listen)
            .args(["--save", "", "--appendonly", "no"])
            .args(["--requirepass", REDIS_PASSWORD])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "redis-server must be installed for these tests (Debian: apt-get install \
                 redis-server; .ci/run installs it)",
            );
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port }
    }

    pub fn url(&self) -> String {
        format!("redis://:{REDIS_PASSWORD}@127.0.0.1:{}/0", self.port)
    }

    pub fn tls_url(&self) -> String {
        format!("rediss://:{REDIS_PASSWORD}@localhost:{}/0", self.port)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Every key and value Redis holds, for checking what it can read.
    async fn dump(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let client = redis::Client::open(self.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut connection)
            .await
            .unwrap();
        let mut all = Vec::new();
        for key in keys {
            let kind: String = redis::cmd("TYPE")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .unwrap();
            let value: Vec<u8> = match kind.as_str() {
                "string" => redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut connection)
                    .await
                    .unwrap(),
                _ => {
                    let members: Vec<Vec<u8>> = redis::cmd("ZRANGE")
                        .arg(&key)
                        .arg(0)
                        .arg(-1)
                        .query_async(&mut connection)
                        .await
                        .unwrap();
                    members.concat()
                }
            };
            all.push((key, value));
        }
        all
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Three replicas over one mock Bloc and one Redis.
struct Cluster {
    replicas: Vec<AppState>,
    bloc: MockServer,
}

async fn cluster(redis: &Redis, adjust: impl Fn(&mut Config)) -> Cluster {
    let bloc = MockServer::start().await;
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let mut config = config(Url::parse(&format!("{}/v1", bloc.uri())).unwrap());
        config.shared.redis_url = Some(SecretString::from(redis.url()));
        // Generous for a loaded test machine: the outage test sets its own.
        config.shared.timeout = Duration::from_millis(500);
        adjust(&mut config);
        replicas.push(AppState::new(config).unwrap());
    }
    let cluster = Cluster { replicas, bloc };
    for replica in &cluster.replicas {
        wait_until("Redis up with three live replicas", || async {
            let redis = &status(replica).await["redis"];
            redis["state"] == "up" && redis["live_replicas"] == 3
        })
        .await;
    }
    cluster
}

async fn query(replica: &AppState, query: &str) -> (u16, Value) {
    query_with(replica, query, &[]).await
}

async fn query_with(replica: &AppState, query: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = Request::post("/graphql").header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Body::from(json!({ "query": query }).to_string()))
        .unwrap();
    let reply = send(replica, request).await;
    (
        reply.status.as_u16(),
        serde_json::from_str(&reply.text).unwrap(),
    )
}

async fn status(replica: &AppState) -> Value {
    let reply = send(
        replica,
        Request::get("/status").body(Body::empty()).unwrap(),
    )
    .await;
    serde_json::from_str(&reply.text).unwrap()
}

/// Mounts one answer for every GET: `answer(request, n)` for the n-th call (from 0). Returns
/// the count of calls Bloc received.
async fn mount_counting(
    bloc: &MockServer,
    answer: impl Fn(&Received, usize) -> ResponseTemplate + Send + Sync + 'static,
) -> Arc<AtomicUsize> {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    Mock::given(method("GET"))
        .respond_with(move |request: &Received| {
            answer(request, counted.fetch_add(1, Ordering::SeqCst))
        })
        .mount(bloc)
        .await;
    calls
}

/// Answers any customer lookup with a record for the id asked for (and counts the calls).
async fn mount_any_customer(bloc: &MockServer, delay: Duration) -> Arc<AtomicUsize> {
    mount_counting(bloc, move |request, _| {
        match request.url.path().strip_prefix("/v1/customers/") {
            Some(id) if !id.is_empty() => ResponseTemplate::new(200)
                .set_body_json(envelope(customer(id)))
                .set_delay(delay),
            // The list (the planner may buy it for many misses): none of the ids asked for,
            // so singles it is.
            _ => ResponseTemplate::new(200)
                .set_body_json(envelope(json!([])))
                .set_delay(delay),
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_fetched_through_one_replica_is_served_by_the_others_without_a_bloc_call() {
    let redis = Redis::start();
    let cluster = cluster(&redis, |_| {}).await;
    let calls = mount_any_customer(&cluster.bloc, Duration::ZERO).await;
    let id = "64f0c1d2e3a4b5c6d7e8f901";
    let wanted = format!(r#"{{ customer(id: "{id}") {{ id first_name bvn phone_number }} }}"#);

    let (_, first) = query(&cluster.replicas[0], &wanted).await;
    assert_eq!(first["data"]["customer"]["id"], id, "{first}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    for replica in &cluster.replicas[1..] {
        let (_, answer) = query(replica, &wanted).await;
        assert_eq!(answer["data"], first["data"], "the same record");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the others asked Redis, not Bloc"
    );
    for replica in &cluster.replicas[1..] {
        assert_eq!(
            metric(replica, "bloc_shared_cache_hits_total").await,
            Some(1.0)
        );
    }

    // What Redis holds is unreadable without the Bloc key: no id, BVN or phone number, in
    // keys or values.
    let record = customer(id);
    let secrets = [
        id.to_owned(),
        record["bvn"].as_str().unwrap().to_owned(),
        record["phone_number"].as_str().unwrap().to_owned(),
        record["first_name"].as_str().unwrap().to_owned(),
    ];
    let dump = redis.dump().await;
    assert!(
        dump.len() >= 3,
        "the record, the budget, the heartbeats: {}",
        dump.len()
    );
    for (key, value) in &dump {
        for secret in &secrets {
            let needle = secret.as_bytes();
            assert!(
                !key.windows(needle.len()).any(|w| w == needle),
                "{secret} in a key"
            );
            assert!(
                !value.windows(needle.len()).any(|w| w == needle),
                "{secret} in a value"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_and_the_customers_it_brings_are_shared_too() {
    let redis = Redis::start();
    let cluster = cluster(&redis, |_| {}).await;
    let ids: Vec<String> = (0..3)
        .map(|n| format!("64f0c1d2e3a4b5c6d7e8f91{n}"))
        .collect();
    let records = Value::Array(ids.iter().map(|id| customer(id)).collect());
    let calls = mount_counting(&cluster.bloc, move |_, _| {
        ResponseTemplate::new(200).set_body_json(envelope(records.clone()))
    })
    .await;
    let list = "{ customers(limit: 3) { id first_name } }";
    let (_, first) = query(&cluster.replicas[0], list).await;
    assert_eq!(
        first["data"]["customers"][2]["id"],
        ids[2].as_str(),
        "{first}"
    );
    let (_, again) = query(&cluster.replicas[1], list).await;
    assert_eq!(again["data"], first["data"]);
    // The list's customers are shared under their own keys, in the background.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let one = format!(r#"{{ customer(id: "{}") {{ id first_name }} }}"#, ids[1]);
    let (_, single) = query(&cluster.replicas[2], &one).await;
    assert_eq!(single["data"]["customer"], first["data"]["customers"][1]);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one list call for the three replicas"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_whose_copies_go_stale_together_refresh_once() {
    let redis = Redis::start();
    let cluster = cluster(&redis, |config| {
        config.resilience.cache_ttl = Duration::from_millis(800);
    })
    .await;
    let records = Value::Array(vec![customer("64f0c1d2e3a4b5c6d7e8f920")]);
    let calls = mount_counting(&cluster.bloc, move |_, _| {
        ResponseTemplate::new(200)
            .set_body_json(envelope(records.clone()))
            .set_delay(Duration::from_millis(200))
    })
    .await;
    let list = "{ customer_count }";
    for replica in &cluster.replicas {
        assert_eq!(query(replica, list).await.1["data"]["customer_count"], 1);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    // All three serve their stale copy at once and queue a refresh.
    let answers =
        futures::future::join_all(cluster.replicas.iter().map(|replica| query(replica, list)))
            .await;
    for (_, answer) in &answers {
        assert_eq!(answer["extensions"]["stale"], true, "{answer}");
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "one refresh for the three replicas"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_bloc_does_not_know_is_asked_for_once_for_every_replica() {
    let redis = Redis::start();
    let cluster = cluster(&redis, |_| {}).await;
    let calls = mount_counting(&cluster.bloc, |_, _| ResponseTemplate::new(404)).await;
    let wanted = r#"{ customer(id: "nobody") { id } }"#;
    for replica in &cluster.replicas {
        let (_, answer) = query(replica, wanted).await;
        assert_eq!(answer["data"]["customer"], Value::Null, "{answer}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the not-found answer is shared too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_in_flight_on_one_replica_is_awaited_by_the_others() {
    let redis = Redis::start();
    let cluster = cluster(&redis, |_| {}).await;
    let calls = mount_any_customer(&cluster.bloc, Duration::from_millis(400)).await;
    let wanted = r#"{ customer(id: "64f0c1d2e3a4b5c6d7e8f902") { id } }"#;
    // The first replica takes the lease; the other two come while its call is out, the
    // third asking for no cached answer (the call in flight is as fresh as its own would be).
    let first = query(&cluster.replicas[0], wanted);
    let others = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let no_cache = [("cache-control", "no-cache")];
        futures::future::join(
            query(&cluster.replicas[1], wanted),
            query_with(&cluster.replicas[2], wanted, &no_cache),
        )
        .await
    };
    let (first, (second, third)) = futures::future::join(first, others).await;
    let answers = [first, second, third];
    for (status, answer) in &answers {
        assert_eq!(*status, 200);
        assert_eq!(
            answer["data"]["customer"]["id"], "64f0c1d2e3a4b5c6d7e8f902",
            "{answer}"
        );
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one replica fetched, two waited on its lease"
    );
    let waits = [
        metric(&cluster.replicas[0], "bloc_lease_waits_total").await,
        metric(&cluster.replicas[1], "bloc_lease_waits_total").await,
        metric(&cluster.replicas[2], "bloc_lease_waits_total").await,
    ];
    let waited: f64 = waits.iter().map(|w| w.unwrap_or(0.0)).sum();
    assert_eq!(waited, 2.0, "{waits:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_lease_holders_call_fails_the_others_fetch_for_themselves_at_once() {
    let redis = Redis::start();
    let cluster = cluster(&redis, |config| {
        config.resilience.max_retries = 0;
        // Waiting out the lease's bound would outlast every request.
        config.bloc.call_timeout = Duration::from_secs(5);
        config.limits.request_timeout = Duration::from_secs(2);
    })
    .await;
    let calls = mount_counting(&cluster.bloc, |request, n| {
        if n == 0 {
            return ResponseTemplate::new(503).set_delay(Duration::from_millis(300));
        }
        let id = request.url.path().rsplit('/').next().unwrap_or_default();
        ResponseTemplate::new(200).set_body_json(envelope(customer(id)))
    })
    .await;
    let wanted = r#"{ customer(id: "64f0c1d2e3a4b5c6d7e8f904") { id } }"#;
    let first = query(&cluster.replicas[0], wanted);
    let others = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        futures::future::join(
            query(&cluster.replicas[1], wanted),
            query(&cluster.replicas[2], wanted),
        )
        .await
    };
    let ((_, failed), ((_, second), (_, third))) = futures::future::join(first, others).await;
    assert_eq!(codes(&failed), ["UPSTREAM_UNAVAILABLE"], "{failed}");
    for answer in [second, third] {
        assert_eq!(
            answer["data"]["customer"]["id"], "64f0c1d2e3a4b5c6d7e8f904",
            "{answer}"
        );
    }
    assert!(calls.load(Ordering::SeqCst) <= 3);
}

/// Sends one-customer queries for ids never asked before, from `connections` tasks per
/// replica, until `until`; returns the answers' error codes.
async fn distinct_load(cluster: &Cluster, connections: usize, until: Instant) -> Vec<String> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for replica in &cluster.replicas {
        for _ in 0..connections {
            let replica = replica.clone();
            let next = next.clone();
            tasks.push(tokio::spawn(async move {
                let mut seen = Vec::new();
                while Instant::now() < until {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let wanted = format!(r#"{{ customer(id: "c{n:07}") {{ id }} }}"#);
                    let (status, answer) = query(&replica, &wanted).await;
                    assert!(status < 500, "no 5xx: {status} {answer}");
                    seen.extend(codes(&answer));
                }
                seen
            }));
        }
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

/// 120 calls a minute with bursts of 10, for the whole cluster; requests give up after 1 s.
fn small_budget(config: &mut Config) {
    config.resilience.rate_per_minute = 120;
    config.resilience.burst = 10;
    config.limits.request_timeout = Duration::from_secs(1);
}

/// The most calls a budget of `rate` a minute with bursts of `burst` allows in `elapsed`
/// (the bucket earns the rate less the burst, on top of the burst: see `bucket.rs`).
fn allowed(rate: u32, burst: u32, elapsed: Duration) -> usize {
    let earned = f64::from(rate - burst) * elapsed.as_secs_f64() / 60.0;
    burst as usize + earned.ceil() as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_rate_holds_across_three_replicas() {
    let redis = Redis::start();
    let cluster = cluster(&redis, small_budget).await;
    let calls = mount_any_customer(&cluster.bloc, Duration::from_millis(5)).await;
    let started = Instant::now();
    let codes = distinct_load(&cluster, 4, started + Duration::from_secs(4)).await;
    let elapsed = started.elapsed();
    let made = calls.load(Ordering::SeqCst);
    let limit = allowed(120, 10, elapsed);
    // Each replica alone would allow the whole budget: three times the limit.
    assert!(
        made <= limit,
        "{made} calls in {elapsed:?}, the budget allows {limit}"
    );
    assert!(made >= 10, "the load used the budget: {made} calls");
    let refused = codes
        .iter()
        .filter(|c| *c == "UPSTREAM_RATE_LIMITED")
        .count();
    assert!(refused > 0, "the rest was refused, not queued forever");
    assert_only_budget_codes(&codes);
}

/// The codes a request over budget may get: refused at once, or its deadline passed while it
/// waited for a call another request started. Nothing else (no INTERNAL, no bad response).
fn assert_only_budget_codes(codes: &[String]) {
    let other: Vec<&String> = codes
        .iter()
        .filter(|c| !matches!(c.as_str(), "UPSTREAM_RATE_LIMITED" | "UPSTREAM_UNAVAILABLE"))
        .take(5)
        .collect();
    assert!(other.is_empty(), "unexpected codes: {other:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_load_degrades_to_local_shares_and_recovers_without_a_burst() {
    let mut redis = Redis::start();
    let cluster = cluster(&redis, |config| {
        // 300 a minute with bursts of 30: a third each while Redis is down, one token every
        // 0.67 s (a share slower than one a second would refuse every call, as it should).
        small_budget(config);
        config.resilience.rate_per_minute = 300;
        config.resilience.burst = 30;
        config.shared.timeout = Duration::from_millis(50);
    })
    .await;
    let calls = mount_any_customer(&cluster.bloc, Duration::from_millis(5)).await;
    let hot = r#"{ customer(id: "64f0c1d2e3a4b5c6d7e8f903") { id first_name } }"#;
    for replica in &cluster.replicas {
        assert_eq!(query(replica, hot).await.0, 200);
    }
    for replica in &cluster.replicas {
        assert_eq!(status(replica).await["redis"]["live_replicas"], 3);
    }
    let started = Instant::now();
    let first = distinct_load(&cluster, 2, started + Duration::from_secs(1)).await;

    redis.stop();
    let during = distinct_load(&cluster, 2, Instant::now() + Duration::from_secs(3)).await;
    for replica in &cluster.replicas {
        assert_eq!(status(replica).await["redis"]["state"], "down");
        assert_eq!(metric(replica, "redis_up").await, Some(0.0));
        // Many failed operations, one transition (and one warning) per replica.
        assert_eq!(
            metric(replica, "redis_transitions_total{to=\"down\"}").await,
            Some(1.0)
        );
        // The hot record is still served, from the replica's own cache.
        let (status, answer) = query(replica, hot).await;
        assert_eq!(status, 200);
        assert_eq!(answer["data"]["customer"]["id"], "64f0c1d2e3a4b5c6d7e8f903");
    }
    let shares: f64 = {
        let mut sum = 0.0;
        for replica in &cluster.replicas {
            sum += metric(replica, "bloc_local_share_calls_total")
                .await
                .unwrap_or(0.0);
        }
        sum
    };
    assert!(shares >= 1.0, "calls were paid from the local shares");

    let _redis = Redis::start_on(redis.port);
    for replica in &cluster.replicas {
        wait_until("Redis up again", || async {
            status(replica).await["redis"]["state"] == "up"
        })
        .await;
        assert_eq!(
            metric(replica, "redis_transitions_total{to=\"up\"}").await,
            Some(1.0)
        );
    }
    let after = distinct_load(&cluster, 2, Instant::now() + Duration::from_secs(2)).await;
    let elapsed = started.elapsed();
    let made = calls.load(Ordering::SeqCst);
    // The three warm-up calls came before `started`: at most one each (the first fetched,
    // the others read Redis).
    let limit = allowed(300, 30, elapsed) + 3;
    assert!(
        made <= limit,
        "{made} calls in {elapsed:?}, the budget allows {limit}"
    );
    let all: Vec<String> = first.into_iter().chain(during).chain(after).collect();
    assert_only_budget_codes(&all);
}

#[test]
fn the_redis_password_is_never_shown() {
    use clap::Parser;
    let parse = |url: &str| {
        let cli = bloc_graphql::cli::Cli::try_parse_from([
            "bloc-graphql",
            "--allow-anonymous",
            "--redis-url",
            url,
        ])
        .unwrap();
        let config = cli.config(
            Url::parse("http://127.0.0.1:1/v1").unwrap(),
            SecretString::from("sk_test_x"),
        );
        (format!("{cli:?}"), config)
    };
    let (debug, config) = parse(&format!("redis://:{REDIS_PASSWORD}@10.0.0.1:6379/0"));
    assert!(!debug.contains(REDIS_PASSWORD), "{debug}");
    let config = config.unwrap();
    assert!(!format!("{config:?}").contains(REDIS_PASSWORD));
    let banner = config.banner("127.0.0.1:8080".parse().unwrap()).join("\n");
    assert!(
        banner.contains("shared: budget and cache on Redis"),
        "{banner}"
    );
    assert!(!banner.contains(REDIS_PASSWORD));

    let (_, refused) = parse(&format!("http://:{REDIS_PASSWORD}@10.0.0.1:6379"));
    let error = refused.unwrap_err();
    assert!(error.contains("redis://"), "{error}");
    assert!(!error.contains(REDIS_PASSWORD), "{error}");

    // A Redis URL the client library cannot read: refused when the state is built, without
    // echoing it.
    let (_, config) = parse(&format!("redis://:{REDIS_PASSWORD}@10.0.0.1:99999999/0"));
    let error = AppState::new(config.unwrap()).err().expect("refused");
    assert!(error.contains("REDIS_URL"), "{error}");
    assert!(!error.contains(REDIS_PASSWORD), "{error}");
}
