//! Client authentication, scopes and the PII policy. Each rejection is checked to make no
//! upstream call.

use axum::http::StatusCode;
use bloc_graphql::auth::{
    AnonymousAccess, AuthConfig, ClientEntry, JwtConfig, JwtVerifier, Scope, Scopes,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, client_entry, codes, pem, spawn_app_with},
    mocks::{customer, id, mount_customer, mount_list},
};

const READER_KEY: &str = "bgq_1111111111111111111111111111111111111111111111111111111111111111";
const PII_KEY: &str = "bgq_2222222222222222222222222222222222222222222222222222222222222222";
const JWT_SECRET: &str = "test-hs256-secret-that-is-long-enough-for-hs256";

fn client(id: &str, key: &str, scopes: &str) -> ClientEntry {
    client_entry(id, key, Scopes::parse_list(scopes).unwrap(), None)
}

fn locked_down() -> AuthConfig {
    AuthConfig {
        clients: vec![
            client("web", READER_KEY, "customers:read"),
            client("backoffice", PII_KEY, "customers:read,customers:pii"),
        ],
        jwt: Some(JwtVerifier::new(JwtConfig {
            key: DecodingKey::from_secret(JWT_SECRET.as_bytes()),
            algorithm: Algorithm::HS256,
            issuer: "https://id.example.ng".into(),
            audience: "bloc-graphql".into(),
            scopes_claim: "scope".into(),
            rate: None,
        })),
        anonymous: None,
    }
}

async fn app_with(auth: AuthConfig) -> TestApp {
    spawn_app_with(move |c| c.auth = auth).await
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn lookup() -> Value {
    json!({ "query": format!(r#"{{ customer(id: "{}") {{ name bvn phone_number date_of_birth kyc_tier }} }}"#, id(1)) })
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn jwt(claims: Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

fn good_claims() -> Value {
    json!({
        "sub": "user-42", "iss": "https://id.example.ng", "aud": "bloc-graphql",
        "exp": now() + 600, "nbf": now() - 10, "scope": "openid customers:read"
    })
}

#[tokio::test]
async fn no_credentials_is_401_unauthenticated_without_an_upstream_call() {
    let app = app_with(locked_down()).await;

    let reply = app.post(&lookup(), &[]).await;

    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.headers["www-authenticate"], "Bearer");
    assert_eq!(codes(&reply.json()), ["UNAUTHENTICATED"]);
    assert!(app.upstream_paths().await.is_empty());
}

#[tokio::test]
async fn unknown_keys_wrong_schemes_and_duplicate_headers_are_401() {
    let app = app_with(locked_down()).await;
    let other_deployments_key =
        "bgq_3333333333333333333333333333333333333333333333333333333333333333";

    for auth in [
        bearer(other_deployments_key),
        bearer("bgq_short"),
        bearer(&READER_KEY.to_uppercase()),
        format!("Basic {READER_KEY}"),
        "Bearer".into(),
    ] {
        let reply = app.post(&lookup(), &[("authorization", &auth)]).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{auth}");
        assert_eq!(codes(&reply.json()), ["UNAUTHENTICATED"]);
    }
    let twice = app
        .post(
            &lookup(),
            &[
                ("authorization", &bearer(READER_KEY)),
                ("authorization", &bearer(PII_KEY)),
            ],
        )
        .await;
    assert_eq!(twice.status, StatusCode::UNAUTHORIZED);
    assert!(app.upstream_paths().await.is_empty());
}

#[tokio::test]
async fn pii_fields_without_the_pii_scope_are_null_and_forbidden() {
    let app = app_with(locked_down()).await;
    mount_customer(&app.bloc, customer(&id(1)), 1).await;

    let reply = app
        .post(&lookup(), &[("authorization", &bearer(READER_KEY))])
        .await;
    // Its second run may take the direct executor, which hands a missing scope to
    // async-graphql: the same bytes.
    let again = app
        .post(&lookup(), &[("authorization", &bearer(READER_KEY))])
        .await;

    let response = reply.json();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(again.text, reply.text);
    assert_eq!(
        response["data"],
        json!({ "customer": {
            "name": "Adaeze Okafor", "bvn": null, "phone_number": null,
            "date_of_birth": null, "kyc_tier": 1,
        } })
    );
    for pii in ["bvn", "phone_number", "date_of_birth"] {
        let error = response["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"] == json!(["customer", pii]))
            .unwrap_or_else(|| panic!("no error for {pii}: {response}"));
        assert_eq!(error["extensions"]["code"], "FORBIDDEN");
    }
    for secret in ["22403240419", "08033225577", "1994-06-22"] {
        assert!(!reply.text.contains(secret), "{secret} leaked");
    }
}

#[tokio::test]
async fn the_pii_scope_sees_pii() {
    let app = app_with(locked_down()).await;
    mount_customer(&app.bloc, customer(&id(1)), 1).await;

    let response = app
        .post(&lookup(), &[("authorization", &bearer(PII_KEY))])
        .await
        .json();

    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(response["data"]["customer"]["bvn"], "22403240419");
}

#[tokio::test]
async fn search_reaches_phone_and_email_only_with_the_pii_scope() {
    let app = app_with(locked_down()).await;
    // Once: the second caller's search is answered from the shared cache.
    mount_list(&app.bloc, json!([customer(&id(1))]), 1).await;
    let query = json!({ "query": r#"{ customers(filter: { search: "0803322" }) { id } }"# });

    let reader = app
        .post(&query, &[("authorization", &bearer(READER_KEY))])
        .await
        .json();
    let pii = app
        .post(&query, &[("authorization", &bearer(PII_KEY))])
        .await
        .json();

    assert_eq!(reader["data"]["customers"], json!([]));
    assert_eq!(pii["data"]["customers"][0]["id"], id(1));
}

#[tokio::test]
async fn a_valid_jwt_gets_the_scopes_in_its_claim() {
    let app = app_with(locked_down()).await;
    mount_customer(&app.bloc, customer(&id(1)), 1).await;

    let response = app
        .post(
            &lookup(),
            &[("authorization", &bearer(&jwt(good_claims())))],
        )
        .await
        .json();

    assert_eq!(response["data"]["customer"]["name"], "Adaeze Okafor");
    assert_eq!(codes(&response), ["FORBIDDEN", "FORBIDDEN", "FORBIDDEN"]);
}

#[tokio::test]
async fn a_jwt_reads_money_fields_only_with_finance_read_in_its_claim() {
    let app = app_with(locked_down()).await;
    let c = id(1);
    mount_customer(&app.bloc, customer(&c), 1).await;
    crate::mocks::mount_path(
        &app.bloc,
        &format!("/cards/customer/{c}"),
        crate::mocks::list_envelope(json!([crate::mocks::card(&id(0xc1), &c)])),
        std::time::Duration::ZERO,
        1,
    )
    .await;
    let query =
        json!({ "query": format!(r#"{{ customer(id: "{c}") {{ name cards {{ brand }} }} }}"#) });
    let mut claims = good_claims();
    claims["scope"] = json!("customers:read finance:read");
    let finance = bearer(&jwt(claims));
    let reader = bearer(&jwt(good_claims()));

    let allowed = app
        .post(&query, &[("authorization", &finance)])
        .await
        .json();
    let refused = app.post(&query, &[("authorization", &reader)]).await.json();

    assert_eq!(
        allowed["data"]["customer"]["cards"],
        json!([{ "brand": "Verve" }]),
        "{allowed}"
    );
    assert_eq!(refused["data"]["customer"]["cards"], Value::Null);
    assert_eq!(codes(&refused), ["FORBIDDEN"]);
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

#[tokio::test]
async fn wrong_expired_early_foreign_and_unsigned_jwts_are_401() {
    let app = app_with(locked_down()).await;
    let with = |patch: Value| {
        let mut claims = good_claims();
        claims
            .as_object_mut()
            .unwrap()
            .extend(patch.as_object().unwrap().clone());
        jwt(claims)
    };
    let other_secret = encode(
        &Header::new(Algorithm::HS256),
        &good_claims(),
        &EncodingKey::from_secret(b"someone-else's-secret-of-decent-length!!"),
    )
    .unwrap();
    let unsigned = format!(
        "{}.{}.",
        base64url(br#"{"alg":"none","typ":"JWT"}"#),
        base64url(good_claims().to_string().as_bytes())
    );

    for (why, token) in [
        ("expired", with(json!({ "exp": now() - 3600 }))),
        ("not yet valid", with(json!({ "nbf": now() + 3600 }))),
        ("wrong audience", with(json!({ "aud": "another-api" }))),
        (
            "wrong issuer",
            with(json!({ "iss": "https://evil.example" })),
        ),
        ("signed by someone else", other_secret),
        ("alg none", unsigned),
        ("garbage", "eyJhbGciOi.not.a.jwt".into()),
    ] {
        let reply = app
            .post(&lookup(), &[("authorization", &bearer(&token))])
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{why}");
        assert_eq!(codes(&reply.json()), ["UNAUTHENTICATED"], "{why}");
    }
    assert!(app.upstream_paths().await.is_empty());
}

#[tokio::test]
async fn anonymous_access_gets_only_the_configured_scopes() {
    let auth = AuthConfig {
        anonymous: Some(AnonymousAccess {
            scopes: Scopes::parse_list("customers:read").unwrap(),
            rate: None,
        }),
        ..locked_down()
    };
    let app = app_with(auth).await;
    mount_customer(&app.bloc, customer(&id(1)), 1).await;

    let response = app.post(&lookup(), &[]).await.json();
    let bad_token = app
        .post(&lookup(), &[("authorization", "Bearer bgq_nope")])
        .await;

    assert_eq!(
        response["data"],
        json!({ "customer": {
            "name": "Adaeze Okafor", "bvn": null, "phone_number": null,
            "date_of_birth": null, "kyc_tier": 1,
        } })
    );
    // A bad credential never falls back to anonymous.
    assert_eq!(bad_token.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_caller_without_the_read_scope_reads_nothing() {
    let auth = AuthConfig {
        anonymous: Some(AnonymousAccess {
            scopes: Scopes::default(),
            rate: None,
        }),
        ..AuthConfig::default()
    };
    let app = app_with(auth).await;

    let response = app
        .post(&json!({ "query": "{ customer_count }" }), &[])
        .await
        .json();

    assert_eq!(codes(&response), ["FORBIDDEN"]);
    assert!(app.upstream_paths().await.is_empty());
    assert!(!Scopes::default().contains(Scope::Read));
}

#[test]
fn every_pii_field_says_so_in_the_schema() {
    let sdl = bloc_graphql::graphql::sdl();
    for field in [
        "bvn",
        "phone_number",
        "email",
        "date_of_birth",
        "place_of_birth",
        "image_url",
        "means_of_identity_url",
        "identity_url",
    ] {
        let at = sdl
            .find(&format!("\t{field}: "))
            .unwrap_or_else(|| panic!("{field} missing"));
        let description = &sdl[sdl[..at].rfind("\"\"\"\n\t").unwrap()..at];
        assert!(
            description.contains("needs the `customers:pii` scope"),
            "{field}: {description}"
        );
    }
}

#[tokio::test]
async fn an_es256_jwt_is_verified_with_a_pem_public_key_given_on_the_command_line() {
    use aws_lc_rs::{
        encoding::AsDer,
        signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair},
    };
    use clap::Parser;

    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let public_der = pair.public_key().as_der().unwrap();
    let dir = std::env::temp_dir().join(format!("bloc-graphql-es256-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("idp.pem");
    std::fs::write(&key_file, pem("PUBLIC KEY", public_der.as_ref())).unwrap();
    let cli = bloc_graphql::cli::Cli::try_parse_from([
        "bloc-graphql",
        "--jwt-public-key",
        key_file.to_str().unwrap(),
        "--jwt-algorithm",
        "es256",
        "--jwt-issuer",
        "https://id.example.ng",
        "--jwt-audience",
        "bloc-graphql",
    ])
    .unwrap();
    let bloc = wiremock::MockServer::start().await;
    let url = url::Url::parse(&format!("{}/v1", bloc.uri())).unwrap();
    let config = cli.config(url, "sk_test_x".to_owned().into()).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
    let app = TestApp {
        state: bloc_graphql::state::AppState::new(config).unwrap(),
        bloc,
    };
    let signing = EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref());
    let token = encode(&Header::new(Algorithm::ES256), &good_claims(), &signing).unwrap();
    let hs256_token = jwt(good_claims());

    let ok = app
        .post(
            &json!({ "query": "{ __typename }" }),
            &[("authorization", &bearer(&token))],
        )
        .await;
    let confused = app
        .post(
            &json!({ "query": "{ __typename }" }),
            &[("authorization", &bearer(&hs256_token))],
        )
        .await;

    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.json()["data"]["__typename"], "Query");
    // A token signed with another algorithm is refused, whatever its header says.
    assert_eq!(confused.status, StatusCode::UNAUTHORIZED);
}

const TRACE_KEY: &str = "bgq_3333333333333333333333333333333333333333333333333333333333333333";

/// `extensions` of a single response, or of each response of a batch.
fn trace_of(reply: &Value) -> Vec<Option<Value>> {
    let responses = reply
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![reply.clone()]);
    responses
        .iter()
        .map(|r| r.get("extensions").and_then(|e| e.get("upstream")).cloned())
        .collect()
}

#[tokio::test]
async fn the_upstream_trace_goes_only_to_callers_with_the_trace_scope() {
    let mut auth = locked_down();
    auth.clients
        .push(client("ops", TRACE_KEY, "customers:read,upstream:trace"));
    let app = app_with(auth).await;
    let mut claims = good_claims();
    claims["scope"] = json!("customers:read upstream:trace");
    let traced_jwt = jwt(claims);
    let single = json!({ "query": "{ __typename }" });
    let batch = json!([{ "query": "{ __typename }" }, { "query": "{ n: __typename }" }]);

    for body in [&single, &batch] {
        let ask = |key: &str| {
            let auth = bearer(key);
            let app = &app;
            async move {
                app.post(body, &[("authorization", &auth), ("x-upstream-trace", "1")])
                    .await
                    .json()
            }
        };
        let reader = ask(READER_KEY).await;
        let backoffice = ask(PII_KEY).await;
        let ops = ask(TRACE_KEY).await;
        let ops_jwt = ask(&traced_jwt).await;
        let unasked = app
            .post(body, &[("authorization", &bearer(TRACE_KEY))])
            .await
            .json();

        for refused in [&reader, &backoffice, &unasked] {
            assert!(trace_of(refused).iter().all(Option::is_none), "{refused}");
        }
        for traced in [&ops, &ops_jwt] {
            let traces = trace_of(traced);
            assert!(!traces.is_empty(), "{traced}");
            for trace in traces {
                assert_eq!(
                    trace.as_ref().map(|t| &t["calls"]),
                    Some(&json!(0)),
                    "{traced}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_sandbox_traces_every_caller_unasked() {
    let app = spawn_app_with(|c| {
        c.auth = locked_down();
        c.sandbox = true;
    })
    .await;

    let reply = app
        .post(
            &json!({ "query": "{ __typename }" }),
            &[("authorization", &bearer(READER_KEY))],
        )
        .await
        .json();

    assert_eq!(reply["extensions"]["upstream"]["calls"], 0, "{reply}");
}
