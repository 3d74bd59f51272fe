//! Apollo Client 3, as a frontend runs it, over responses with field errors
//! (tests/conformance/apollo.mjs): every requested field present, `null` where it failed, no
//! "Missing field" report, and the cache answers the query again; a customer page's failed
//! relations likewise, its records normalised by id. Needs Node.js.

use bloc_graphql::{
    auth::{AnonymousAccess, Scope, Scopes},
    server,
    state::AppState,
};
use std::time::Duration;

use serde_json::json;
use url::Url;
use wiremock::{
    Mock, MockServer,
    matchers::{method, path},
};

use crate::{
    helpers::config,
    mocks::{
        bloc_error, card, customer, id, list_envelope, mount_customer, mount_path, page_envelope,
        transaction,
    },
};

#[tokio::test(flavor = "multi_thread")]
async fn apollo_client_gets_null_for_failed_fields_and_reports_none_missing() {
    let dir = crate::differential::conformance_dir();
    let bloc = MockServer::start().await;
    mount_customer(&bloc, customer(&id(1)), 1).await;
    let mut drifted = customer(&id(2));
    drifted["kyc_tier"] = json!("T2");
    drifted["status"] = json!("suspended");
    mount_customer(&bloc, drifted, 1).await;

    let c = id(1);
    Mock::given(method("GET"))
        .and(path(format!("/v1/accounts/customers/accounts/{c}")))
        .respond_with(bloc_error(500, "internal error"))
        .mount(&bloc)
        .await;
    let cards = list_envelope(json!([card(&id(0xc1), &c)]));
    mount_path(
        &bloc,
        &format!("/cards/customer/{c}"),
        cards,
        Duration::ZERO,
        1,
    )
    .await;
    let mut unreadable = transaction(2, &c, &id(0xa1), "DR");
    unreadable["amount"] = json!("lots");
    let page = page_envelope(
        json!([transaction(1, &c, &id(0xa1), "CR"), unreadable]),
        false,
    );
    mount_path(&bloc, "/transactions", page, Duration::ZERO, 1).await;

    let mut config = config(Url::parse(&format!("{}/v1", bloc.uri())).unwrap());
    config.auth.anonymous = Some(AnonymousAccess {
        scopes: Scopes::from_iter([Scope::Read, Scope::Finance]),
        rate: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn(server::serve(listener, AppState::new(config).unwrap()));

    let output = tokio::process::Command::new("node")
        .arg("apollo.mjs")
        .arg(format!("http://{addr}/graphql"))
        .args([id(1), id(2)])
        .current_dir(&dir)
        .output()
        .await
        .expect("node is needed for the Apollo Client test");
    serving.abort();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("apollo client: 3 passed, 0 failed"),
        "{stdout}"
    );
}
