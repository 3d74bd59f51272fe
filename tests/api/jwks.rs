//! Client JWTs verified with the identity provider's published keys (JWKS): a key picked by
//! the token's `kid`, fetched again when a token names an unknown one (at most once per
//! interval, one fetch in flight) and on a schedule. The provider is a wiremock server whose
//! published set the tests change as a provider rotating its keys would.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use aws_lc_rs::{
    encoding::AsDer,
    rsa::{KeyPair as RsaKeyPair, KeySize},
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair},
};
use axum::http::StatusCode;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use bloc_graphql::auth::{AuthConfig, JwksConfig, JwtVerifier, Scopes, random_hex};
use futures::future::join_all;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, jwk::Jwk};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

use crate::helpers::{TestApp, client_entry, codes, metric, pem, send, spawn_app_with};

const ISSUER: &str = "https://id.example.ng";
const AUDIENCE: &str = "bloc-graphql";
const OPS_KEY: &str = "bgq_4444444444444444444444444444444444444444444444444444444444444444";

/// A key the provider signs with, and its public half as a JWK.
struct SigningKey {
    kid: String,
    algorithm: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

impl SigningKey {
    fn rsa(kid: &str) -> Self {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
        let encoding =
            EncodingKey::from_rsa_pem(pem("PRIVATE KEY", pkcs8.as_ref()).as_bytes()).unwrap();
        Self::new(kid, Algorithm::RS256, encoding)
    }

    fn ec(kid: &str) -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let encoding = EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref());
        Self::new(kid, Algorithm::ES256, encoding)
    }

    fn new(kid: &str, algorithm: Algorithm, encoding: EncodingKey) -> Self {
        let mut jwk =
            serde_json::to_value(Jwk::from_encoding_key(&encoding, algorithm).unwrap()).unwrap();
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        Self {
            kid: kid.to_owned(),
            algorithm,
            encoding,
            jwk,
        }
    }

    /// A valid token naming this key.
    fn token(&self) -> String {
        self.token_as(Some(&self.kid))
    }

    /// A valid token signed with this key, naming `kid` (or none).
    fn token_as(&self, kid: Option<&str>) -> String {
        let header = Header {
            kid: kid.map(str::to_owned),
            ..Header::new(self.algorithm)
        };
        encode(&header, &claims(), &self.encoding).unwrap()
    }
}

fn claims() -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({
        "sub": "user-7", "iss": ISSUER, "aud": AUDIENCE,
        "exp": now + 600, "nbf": now - 10, "scope": "customers:read"
    })
}

/// The identity provider: answers every request with what it publishes now.
struct Provider {
    server: MockServer,
    answer: Arc<Mutex<ResponseTemplate>>,
}

struct Published(Arc<Mutex<ResponseTemplate>>);

impl Respond for Published {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.0.lock().unwrap().clone()
    }
}

impl Provider {
    async fn start(keys: &[&SigningKey]) -> Self {
        let server = MockServer::start().await;
        let answer = Arc::new(Mutex::new(ResponseTemplate::new(503)));
        Mock::given(any())
            .respond_with(Published(answer.clone()))
            .mount(&server)
            .await;
        let provider = Self { server, answer };
        provider.publish(keys);
        provider
    }

    fn publish(&self, keys: &[&SigningKey]) {
        let keys: Vec<&Value> = keys.iter().map(|key| &key.jwk).collect();
        self.answer(ResponseTemplate::new(200).set_body_json(json!({ "keys": keys })));
    }

    fn answer(&self, template: ResponseTemplate) {
        *self.answer.lock().unwrap() = template;
    }

    fn config(&self) -> JwksConfig {
        JwksConfig::new(
            format!("{}/.well-known/jwks.json", self.server.uri())
                .parse()
                .unwrap(),
        )
    }

    /// How many times the facade fetched the keys.
    async fn fetches(&self) -> usize {
        self.server.received_requests().await.unwrap().len()
    }
}

/// A facade verifying JWTs with the provider's keys; API-key client `ops` shows it serving.
async fn facade(jwks: JwksConfig) -> TestApp {
    let jwt = JwtVerifier::from_jwks(jwks, ISSUER, AUDIENCE, "scope", None).unwrap();
    spawn_app_with(move |config| {
        config.auth = AuthConfig {
            clients: vec![client_entry("ops", OPS_KEY, Scopes::all(), None)],
            jwt: Some(jwt),
            anonymous: None,
        }
    })
    .await
}

/// The status of `{ __typename }` (no Bloc call) with this bearer token.
async fn status(app: &TestApp, token: &str) -> StatusCode {
    let reply = app
        .post(
            &json!({ "query": "{ __typename }" }),
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    if reply.status == StatusCode::UNAUTHORIZED {
        assert_eq!(codes(&reply.json()), ["UNAUTHENTICATED"]);
    }
    reply.status
}

/// Waits until `token` gets `expected`, for at most 5 s.
async fn eventually(app: &TestApp, token: &str, expected: StatusCode) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while status(app, token).await != expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still not {expected} after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_token_signed_by_a_published_key_is_accepted_with_the_flag_and_one_fetch() {
    use clap::Parser;

    let key = SigningKey::rsa("rsa-1");
    let provider = Provider::start(&[&key]).await;
    let cli = bloc_graphql::cli::Cli::try_parse_from([
        "bloc-graphql",
        "--jwt-jwks-url",
        provider.config().url.as_str(),
        "--jwt-issuer",
        ISSUER,
        "--jwt-audience",
        AUDIENCE,
    ])
    .unwrap();
    let bloc = MockServer::start().await;
    let url = url::Url::parse(&format!("{}/v1", bloc.uri())).unwrap();
    let config = cli.config(url, "sk_test_x".to_owned().into()).unwrap();
    assert!(config.auth.summary().contains("keys from http://127.0.0.1"));
    let app = TestApp {
        state: bloc_graphql::state::AppState::new(config).unwrap(),
        bloc,
    };

    let first = status(&app, &key.token()).await;
    let second = status(&app, &key.token()).await;
    let unsigned = status(&app, &format!("{}x", key.token())).await;

    assert_eq!((first, second), (StatusCode::OK, StatusCode::OK));
    assert_eq!(unsigned, StatusCode::UNAUTHORIZED);
    assert_eq!(
        provider.fetches().await,
        1,
        "fetched at start-up, then cached"
    );
}

#[tokio::test]
async fn a_token_without_kid_is_accepted_only_when_one_key_fits_its_algorithm() {
    let (rsa_1, rsa_2, mut ec) = (
        SigningKey::rsa("rsa-1"),
        SigningKey::rsa("rsa-2"),
        SigningKey::ec("ec-1"),
    );
    // Without `alg`, the key's type says it: EC P-256 verifies ES256.
    ec.jwk.as_object_mut().unwrap().remove("alg");
    let provider = Provider::start(&[&rsa_1, &rsa_2, &ec]).await;
    let app = facade(provider.config()).await;

    assert_eq!(status(&app, &ec.token_as(None)).await, StatusCode::OK);
    assert_eq!(status(&app, &ec.token()).await, StatusCode::OK);
    assert_eq!(
        status(&app, &rsa_1.token_as(None)).await,
        StatusCode::UNAUTHORIZED,
        "two RSA keys could verify it"
    );
    assert_eq!(status(&app, &rsa_2.token()).await, StatusCode::OK);
}

#[tokio::test]
async fn a_key_published_after_start_up_is_fetched_when_a_token_names_it() {
    let (old, new) = (SigningKey::rsa("2026-01"), SigningKey::rsa("2026-02"));
    let provider = Provider::start(&[&old]).await;
    let min_interval = Duration::from_millis(300);
    let app = facade(JwksConfig {
        min_interval,
        ..provider.config()
    })
    .await;
    assert_eq!(status(&app, &old.token()).await, StatusCode::OK);
    assert_eq!(provider.fetches().await, 1);

    // Named before the provider publishes it: fetched again, still unknown, refused.
    tokio::time::sleep(min_interval).await;
    assert_eq!(status(&app, &new.token()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(provider.fetches().await, 2);
    // The provider rotates; the next token naming the new key makes the facade fetch it.
    provider.publish(&[&old, &new]);
    tokio::time::sleep(min_interval).await;
    let rotated = status(&app, &new.token()).await;

    assert_eq!(rotated, StatusCode::OK);
    assert_eq!(provider.fetches().await, 3);
    assert_eq!(status(&app, &old.token()).await, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_the_keys_held_and_the_fetches_that_worked_and_failed() {
    let (first, second) = (SigningKey::rsa("2026-01"), SigningKey::ec("2026-02"));
    let provider = Provider::start(&[&first, &second]).await;
    let min_interval = Duration::from_millis(200);
    let app = facade(JwksConfig {
        min_interval,
        ..provider.config()
    })
    .await;
    assert_eq!(status(&app, &first.token()).await, StatusCode::OK);
    assert_eq!(
        metric(&app.state, "bloc_graphql_jwks_keys").await,
        Some(2.0)
    );
    let ok = "bloc_graphql_jwks_fetches_total{outcome=\"ok\"}";
    let failed = "bloc_graphql_jwks_fetches_total{outcome=\"failed\"}";
    assert_eq!(metric(&app.state, ok).await, Some(1.0));

    // The provider fails; a token naming an unknown key makes the facade try again.
    provider.answer(ResponseTemplate::new(503));
    tokio::time::sleep(min_interval).await;
    let unknown = SigningKey::rsa("2026-03");
    assert_eq!(
        status(&app, &unknown.token()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(metric(&app.state, failed).await, Some(1.0));
    assert_eq!(metric(&app.state, ok).await, Some(1.0));
    assert_eq!(
        metric(&app.state, "bloc_graphql_jwks_keys").await,
        Some(2.0),
        "the keys held are kept"
    );
}

#[tokio::test]
async fn a_burst_of_tokens_with_unknown_kids_costs_at_most_one_fetch() {
    let (published, other) = (SigningKey::ec("published"), SigningKey::ec("other"));
    let provider = Provider::start(&[&published]).await;
    let min_interval = Duration::from_secs(1);
    let app = facade(JwksConfig {
        min_interval,
        ..provider.config()
    })
    .await;
    assert_eq!(status(&app, &published.token()).await, StatusCode::OK);
    // A slow provider: the burst arrives while its one fetch is in flight.
    let keys = json!({ "keys": [published.jwk] });
    provider.answer(
        ResponseTemplate::new(200)
            .set_body_json(keys)
            .set_delay(Duration::from_millis(100)),
    );
    let burst = || {
        join_all((0..50).map(|_| {
            let token = other.token_as(Some(&random_hex(8)));
            let app = &app;
            async move { status(app, &token).await }
        }))
    };

    tokio::time::sleep(min_interval).await;
    let first = burst().await;
    let fetches_after_first = provider.fetches().await;
    let second = burst().await;

    assert!(first.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
    assert!(second.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
    assert_eq!(
        fetches_after_first, 2,
        "start-up, then one for 50 unknown kids"
    );
    assert_eq!(
        provider.fetches().await,
        2,
        "none again within the interval"
    );
    assert_eq!(status(&app, &published.token()).await, StatusCode::OK);
}

#[tokio::test]
async fn a_removed_key_stops_working_after_the_scheduled_refresh() {
    let (removed, kept) = (SigningKey::rsa("removed"), SigningKey::ec("kept"));
    let provider = Provider::start(&[&removed, &kept]).await;
    // Tokens naming unknown keys fetch nothing here: only the schedule can drop the key.
    let app = facade(JwksConfig {
        refresh: Duration::from_millis(200),
        min_interval: Duration::from_secs(60),
        ..provider.config()
    })
    .await;
    assert_eq!(status(&app, &removed.token()).await, StatusCode::OK);

    provider.publish(&[&kept]);
    eventually(&app, &removed.token(), StatusCode::UNAUTHORIZED).await;

    assert!(provider.fetches().await >= 2);
    assert_eq!(status(&app, &kept.token()).await, StatusCode::OK);
}

#[tokio::test]
async fn hs256_none_and_mismatched_algorithms_are_refused_against_a_jwks() {
    let (rsa, ec) = (SigningKey::rsa("rsa"), SigningKey::ec("ec"));
    let provider = Provider::start(&[&rsa, &ec]).await;
    // A symmetric key published by mistake must not become a way in.
    let shared = "a-secret-that-was-published-by-mistake-000000";
    let mut keys = vec![rsa.jwk.clone(), ec.jwk.clone()];
    keys.push(json!({ "kty": "oct", "kid": "shared", "alg": "HS256",
                      "k": URL_SAFE_NO_PAD.encode(shared) }));
    provider.answer(ResponseTemplate::new(200).set_body_json(json!({ "keys": keys })));
    let app = facade(provider.config()).await;
    let hs256 = |kid: &str, secret: &[u8]| {
        let header = Header {
            kid: Some(kid.to_owned()),
            ..Header::new(Algorithm::HS256)
        };
        encode(&header, &claims(), &EncodingKey::from_secret(secret)).unwrap()
    };
    // The classic confusion: the RSA key's public bytes used as an HMAC secret.
    let modulus = rsa.jwk["n"].as_str().unwrap().to_owned();
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"rsa"}"#),
        URL_SAFE_NO_PAD.encode(claims().to_string())
    );

    for (what, token) in [
        (
            "HS256 with the RSA modulus",
            hs256("rsa", modulus.as_bytes()),
        ),
        (
            "HS256 with the JWK",
            hs256("rsa", rsa.jwk.to_string().as_bytes()),
        ),
        (
            "HS256 with a published oct key",
            hs256("shared", shared.as_bytes()),
        ),
        ("alg none", none),
        ("RS256 naming the EC key", rsa.token_as(Some("ec"))),
        ("ES256 naming the RSA key", ec.token_as(Some("rsa"))),
    ] {
        assert_eq!(
            status(&app, &token).await,
            StatusCode::UNAUTHORIZED,
            "{what}"
        );
    }
    assert_eq!(status(&app, &rsa.token()).await, StatusCode::OK);
    assert_eq!(
        provider.fetches().await,
        1,
        "none of them asked for the keys again"
    );
}

#[tokio::test]
async fn a_jwks_down_at_start_up_refuses_jwts_and_the_service_stays_up() {
    let key = SigningKey::rsa("rsa");
    let provider = Provider::start(&[]).await;
    provider.answer(ResponseTemplate::new(503));
    let app = facade(JwksConfig {
        min_interval: Duration::from_millis(200),
        ..provider.config()
    })
    .await;

    let refused = status(&app, &key.token()).await;
    let ops = status(&app, OPS_KEY).await;
    let health = send(
        &app.state,
        axum::http::Request::get("/healthz")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;

    assert_eq!(refused, StatusCode::UNAUTHORIZED);
    assert_eq!(ops, StatusCode::OK);
    assert_eq!(health.status, StatusCode::OK);
    // Once the provider is back, its keys arrive (retried after the interval).
    provider.publish(&[&key]);
    eventually(&app, &key.token(), StatusCode::OK).await;
}

#[tokio::test]
async fn a_huge_malformed_or_empty_jwks_keeps_the_keys_held() {
    let key = SigningKey::ec("ec");
    let provider = Provider::start(&[&key]).await;
    // Fetched every 100 ms; tokens naming unknown keys fetch nothing more.
    let app = facade(JwksConfig {
        refresh: Duration::from_millis(100),
        min_interval: Duration::from_secs(60),
        ..provider.config()
    })
    .await;
    let jwt = app.state.config().auth.jwt.clone().unwrap();
    assert_eq!(status(&app, &key.token()).await, StatusCode::OK);
    let padding = "x".repeat(JwksConfig::BODY_LIMIT);
    let huge = json!({ "keys": [key.jwk], "padding": padding });

    for (error, bad) in [
        (
            "larger than",
            ResponseTemplate::new(200).set_body_json(huge),
        ),
        (
            "not a JWKS",
            ResponseTemplate::new(200).set_body_string(r#"{"keys": [{"kty": "RSA", "n": "#),
        ),
        (
            "not a JWKS",
            ResponseTemplate::new(200).set_body_string("<html>Service unavailable</html>"),
        ),
        (
            "no usable signing key",
            ResponseTemplate::new(200).set_body_json(json!({ "keys": [] })),
        ),
        (
            "no usable signing key",
            ResponseTemplate::new(200).set_body_json(json!({ "keys": [{ "kty": "RSA", "n": 7 }] })),
        ),
    ] {
        let before = provider.fetches().await;
        provider.answer(bad);
        // Fetches are one at a time, so the third from now starts after a bad one was read.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while provider.fetches().await < before + 3 {
            assert!(tokio::time::Instant::now() < deadline, "no scheduled fetch");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let held = jwt.keys_status().await.unwrap();

        assert!(held.error.as_deref().unwrap().contains(error), "{held:?}");
        assert_eq!(held.keys, 1);
        assert_eq!(status(&app, &key.token()).await, StatusCode::OK, "{error}");
    }
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let key = SigningKey::ec("ec");
    let elsewhere = Provider::start(&[&key]).await;
    let provider = Provider::start(&[]).await;
    provider.answer(
        ResponseTemplate::new(302).insert_header("location", elsewhere.config().url.as_str()),
    );
    let app = facade(provider.config()).await;

    assert_eq!(status(&app, &key.token()).await, StatusCode::UNAUTHORIZED);
    assert!(provider.fetches().await >= 1);
    assert_eq!(elsewhere.fetches().await, 0);
}

#[test]
fn the_jwks_url_is_https_and_the_only_jwt_key_source() {
    use clap::Parser;

    let config = |args: &[&str]| {
        let cli =
            bloc_graphql::cli::Cli::try_parse_from([&["bloc-graphql", "--sandbox"], args].concat())
                .unwrap();
        cli.config(
            "http://127.0.0.1:1/v1".parse().unwrap(),
            "sk_test_x".to_owned().into(),
        )
        .map(|_| ())
    };
    let claims = ["--jwt-issuer", ISSUER, "--jwt-audience", AUDIENCE];

    let cleartext = config(
        &[
            &["--jwt-jwks-url", "http://id.example.ng/jwks"],
            &claims[..],
        ]
        .concat(),
    );
    let both = config(
        &[
            &["--jwt-jwks-url", "https://id.example.ng/jwks"],
            &["--jwt-public-key", "/dev/null"],
            &claims[..],
        ]
        .concat(),
    );
    let no_claims = config(&["--jwt-jwks-url", "https://id.example.ng/jwks"]);

    assert!(cleartext.unwrap_err().contains("https://"));
    assert!(both.unwrap_err().contains("not several"));
    assert!(no_claims.unwrap_err().contains("--jwt-issuer"));
}

/// Runs `bloc-graphql check` with JWT keys from `jwks`: exit code and stdout.
fn check(bloc: &MockServer, jwks: &Provider) -> (Option<i32>, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_bloc-graphql"));
    for var in [
        "LISTEN_ADDR",
        "BLOC_SANDBOX",
        "RUST_LOG",
        "JWT_HS256_SECRET",
    ] {
        command.env_remove(var);
    }
    let output = command
        .env("BLOC_API_URL", format!("{}/v1", bloc.uri()))
        .env("BLOC_SECRET_KEY", crate::helpers::TEST_KEY)
        .env("JWT_JWKS_URL", jwks.config().url.as_str())
        .env("JWT_ISSUER", ISSUER)
        .env("JWT_AUDIENCE", AUDIENCE)
        .arg("check")
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn check_counts_the_published_keys_and_is_not_ready_without_them() {
    let key = SigningKey::ec("ec");
    let (up, down) = (Provider::start(&[&key]).await, Provider::start(&[]).await);
    down.answer(ResponseTemplate::new(503));
    let bloc = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({ "success": false, "message": "customer not found" })),
        )
        .mount(&bloc)
        .await;

    let (ready, ready_out) = check(&bloc, &up);
    let (not_ready, not_ready_out) = check(&bloc, &down);

    assert_eq!(ready, Some(0), "{ready_out}");
    assert!(ready_out.contains("jwks: 1 signing key\n"), "{ready_out}");
    assert!(ready_out.ends_with("verdict: ready\n"), "{ready_out}");
    assert_eq!(not_ready, Some(1), "{not_ready_out}");
    assert!(
        not_ready_out.contains("jwks: NOT FETCHED: the provider answered 503"),
        "{not_ready_out}"
    );
    assert!(
        not_ready_out.ends_with("verdict: not ready\n"),
        "{not_ready_out}"
    );
    assert_eq!(up.fetches().await, 1);
}
