//! Apollo Client 3, as a frontend runs it, over responses with field errors
//! (tests/conformance/apollo.mjs): every requested field present, `null` where it failed, no
//! "Missing field" report, and the cache answers the query again. Needs Node.js.

use bloc_graphql::{
    auth::{AnonymousAccess, Scope, Scopes},
    server,
    state::AppState,
};
use serde_json::json;
use url::Url;
use wiremock::MockServer;

use crate::{
    helpers::config,
    mocks::{customer, id, mount_customer},
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

    let mut config = config(Url::parse(&format!("{}/v1", bloc.uri())).unwrap());
    config.auth.anonymous = Some(AnonymousAccess {
        scopes: Scopes::from_iter([Scope::Read]),
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
        stdout.contains("apollo client: 2 passed, 0 failed"),
        "{stdout}"
    );
}
