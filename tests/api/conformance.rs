//! graphql-http's public GraphQL-over-HTTP audit (`auditServer`) against a real server:
//! 0 errors and 0 warnings. Needs Node.js; installs the audit's npm packages on first run.

use std::{path::Path, process::Command};

use bloc_graphql::{server, state::AppState};
use url::Url;

use crate::helpers::config;

#[tokio::test(flavor = "multi_thread")]
async fn graphql_http_audit_reports_no_errors_and_no_warnings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    if !dir.join("node_modules/graphql-http").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&dir)
            .status()
            .expect("npm is needed for the conformance audit");
        assert!(status.success(), "npm ci failed in tests/conformance");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The audit queries `__typename` and `__type(name:)` only: no upstream is needed, but
    // introspection must be on (as in the sandbox; production servers turn it off).
    let mut config = config(Url::parse("http://127.0.0.1:9/v1").unwrap());
    config.exposure.introspection = true;
    let state = AppState::new(config).unwrap();
    let serving = tokio::spawn(server::serve(listener, state));

    let output = tokio::process::Command::new("node")
        .arg("audit.mjs")
        .arg(format!("http://{addr}/graphql"))
        .current_dir(&dir)
        .output()
        .await
        .expect("node is needed for the conformance audit");
    serving.abort();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "audit failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" 0 errors, 0 warnings"), "{stdout}");
}
