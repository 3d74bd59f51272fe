//! The project as its users meet it outside Rust: GraphiQL in a real browser, the typed
//! TypeScript client and the curl examples, and the deploy files. Each test runs the checking
//! script that lives next to what it checks, against the binary this build made.
//!
//! Needs Node.js and npm, Debian's `chromium` (`/usr/bin/chromium`, or `CHROMIUM`), `jq`,
//! and Python 3 with `venv`; npm and pip packages are installed on first run (`.ci/run`
//! installs the system packages). A separate test binary from `tests/api`, so its browsers and
//! compilers never share the machine with the timing-sensitive API tests; its tests also run
//! one at a time.

// Test code may panic: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::Mutex,
};

const BIN: &str = env!("CARGO_BIN_EXE_bloc-graphql");

/// One test at a time: each starts servers and a browser or compiler of its own.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `program` in the repository with `args`, failing the test with its output unless
/// it succeeds. Returns stdout.
fn run(program: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut command = Command::new(program);
    command.args(args).current_dir(root());
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{} {args:?} failed ({}):\n{stdout}\n{}",
        program.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn npm_ci(dir: &Path) {
    if !dir.join("node_modules").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(dir)
            .status()
            .expect("npm is needed");
        assert!(status.success(), "npm ci failed in {}", dir.display());
    }
}

#[test]
fn graphiql_runs_its_default_query_in_headless_chromium_from_local_assets() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "the browser test needs Debian's chromium at {chromium} (apt-get install chromium)"
    );
    let browser = root().join("tests/browser");
    npm_ci(&browser);
    let assets = root().join("target/graphiql-assets");
    run(
        &root().join("scripts/graphiql-assets"),
        &[assets.to_str().unwrap()],
        &[],
    );
    let screenshot: PathBuf = root().join("target/browser/graphiql.png");
    std::fs::create_dir_all(screenshot.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&screenshot);

    let stdout = run(
        Path::new("node"),
        &[
            "tests/browser/graphiql.mjs",
            BIN,
            assets.to_str().unwrap(),
            screenshot.to_str().unwrap(),
        ],
        &[("CHROMIUM", &chromium)],
    );

    assert!(
        stdout.contains("ok: GraphiQL ran the default query"),
        "{stdout}"
    );
    let png = std::fs::read(&screenshot).expect("the screenshot was saved");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "not a screenshot"
    );
}

#[test]
fn the_typescript_client_type_checks_and_runs_against_a_sandbox() {
    let stdout = run(
        &root().join("examples/typescript/check"),
        &[],
        &[("BLOC_GRAPHQL_BIN", BIN)],
    );

    assert!(stdout.contains("all checks passed"), "{stdout}");
}

#[test]
fn the_curl_examples_answer_as_documented() {
    let stdout = run(
        &root().join("examples/curl.sh"),
        &["--sandbox"],
        &[("BLOC_GRAPHQL_BIN", BIN)],
    );

    assert!(stdout.contains("all answers as expected"), "{stdout}");
}

#[test]
fn the_manifests_and_the_image_contract_check_out() {
    let stdout = run(
        &root().join("deploy/check"),
        &[],
        &[("BLOC_GRAPHQL_BIN", BIN)],
    );

    assert!(stdout.contains(" 0 failed"), "{stdout}");
}
