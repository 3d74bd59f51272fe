//! The binary's subcommands: serve the facade (with or without the built-in sandbox), run
//! the sandbox alone, `client add`, `check` and `healthcheck`. `main.rs` only parses the
//! command line and calls [`run`].

use std::process::ExitCode;

use anyhow::Context;
use secrecy::SecretString;
use tokio::net::TcpListener;

use crate::{
    auth::{KeysStatus, Scope, generate_key, sha256_hex},
    bloc::{BlocClient, CallOptions, Error as BlocError},
    cli::{Cli, ClientAddArgs, ClientCommand, Command, HealthcheckArgs, secret_key_from_env},
    config::Config,
    sandbox, server,
    state::AppState,
    telemetry,
};

/// Runs what the command line asks for: the facade (the default), the sandbox alone, `client
/// add`, `check` or `healthcheck`. Logging is set up first; the exit code says how it went.
pub async fn run(cli: Cli) -> ExitCode {
    let _telemetry = match telemetry::init(&cli.log, cli.log_format, cli.otlp_endpoint.as_deref()) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    match &cli.command {
        Some(Command::Healthcheck(args)) => return healthcheck(args, cli.listen_addr).await,
        Some(Command::Check) => return check(&cli).await,
        _ => {}
    }
    match serve(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// The facade, the sandbox alone, or `client add`.
async fn serve(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Sandbox(args)) = &cli.command {
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let options = sandbox::SandboxOptions {
            latency: std::time::Duration::from_millis(args.latency_ms),
            customers: usize::try_from(args.customers).unwrap_or(usize::MAX),
            live_updates: args.live_updates,
        };
        let sandbox = sandbox::start_with(listener, options)?;
        tracing::info!(
            "Bloc sandbox serving {} fake customers{} at {}",
            options.customers,
            if options.live_updates {
                ", updated as they are served,"
            } else {
                ""
            },
            sandbox.base_url
        );
        server::shutdown_signal().await;
        return Ok(());
    }
    if let Some(Command::Client(ClientCommand::Add(args))) = &cli.command {
        print_new_client(args);
        return Ok(());
    }

    // The sandbox must outlive the server, so it is held here.
    let (config, _sandbox) = configure(&cli).await?;
    let listener = TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen_addr))?;
    let addr = listener.local_addr()?;
    for line in config.banner(addr) {
        tracing::info!("{line}");
    }
    let state = AppState::new(config).map_err(anyhow::Error::msg)?;
    server::serve(listener, state).await?;
    Ok(())
}

/// The facade's configuration, with the built-in sandbox started when asked for (the caller
/// keeps it alive as long as the configuration is used).
async fn configure(cli: &Cli) -> anyhow::Result<(Config, Option<sandbox::RunningSandbox>)> {
    if cli.sandbox {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let sandbox = sandbox::start(listener)?;
        let key = SecretString::from(sandbox::SANDBOX_KEY);
        let config = cli.config(sandbox.base_url.clone(), key);
        Ok((config.map_err(anyhow::Error::msg)?, Some(sandbox)))
    } else {
        let key = secret_key_from_env().context(
            "no Bloc secret key: set BLOC_SECRET_KEY, or pass --sandbox to try the built-in sandbox",
        )?;
        let config = cli.config(cli.bloc_api_url.clone(), key);
        Ok((config.map_err(anyhow::Error::msg)?, None))
    }
}

/// An id no customer has: asking for it proves the key without reading anyone's data.
const PROBE_ID: &str = "bloc-graphql-check";

/// `bloc-graphql check`: builds the whole configuration as the server would, then makes one
/// Bloc call (`GET /customers/{PROBE_ID}`, which reads no customer), fetches the JWKS when
/// JWT keys come from one, and prints a verdict.
async fn check(cli: &Cli) -> ExitCode {
    // `configure` validates the flags; building the state checks what they name.
    let (config, _sandbox) = match configure(cli).await {
        Ok(configured) => configured,
        Err(error) => return not_ready(format!("configuration: INVALID: {error:#}"), 2),
    };
    // Everything the server would build from it (GraphiQL's local files included).
    let state = match AppState::new(config.clone()) {
        Ok(state) => state,
        Err(error) => return not_ready(format!("configuration: INVALID: {error}"), 2),
    };
    let client = match BlocClient::new(&config.bloc) {
        Ok(client) => client,
        Err(error) => return not_ready(format!("configuration: INVALID: {error}"), 2),
    };
    let mode = if config.sandbox { "sandbox" } else { "live" };
    println!(
        "configuration: ok ({mode}, Bloc at {}, {})",
        config.bloc.api_url,
        config.key_kind()
    );
    // The facade starts without its JWT keys (and refuses JWTs until they arrive); a deploy
    // pipeline should hear of it.
    let jwks = match &config.auth.jwt {
        Some(jwt) => jwt.keys_status().await,
        None => None,
    };
    let jwks_failed = match jwks {
        Some(KeysStatus {
            error: Some(error), ..
        }) => {
            println!("jwks: NOT FETCHED: {error}");
            true
        }
        Some(KeysStatus { keys, .. }) => {
            let plural = if keys == 1 { "" } else { "s" };
            println!("jwks: {keys} signing key{plural}");
            false
        }
        None => false,
    };
    // The facade serves without Redis (each replica alone, on its share of the budget); a
    // deploy pipeline should hear of it all the same.
    let redis_failed = match redis_status(&state).await {
        Some(("up", live)) => {
            let plural = if live == 1 { "" } else { "s" };
            println!("redis: reachable ({live} live replica{plural})");
            false
        }
        Some(_) => {
            println!(
                "redis: NOT REACHABLE (replicas would each work alone, on their share of the \
                 budget)"
            );
            true
        }
        None => false,
    };
    let options = CallOptions {
        timeout: Some(config.bloc.call_timeout),
        request_id: None,
    };
    let started = std::time::Instant::now();
    let outcome = client.customer(PROBE_ID, &options).await;
    let millis = started.elapsed().as_millis();
    match outcome {
        Ok(_) => {
            println!("bloc: key accepted ({millis} ms)");
            if jwks_failed {
                return not_ready("jwt: no keys to verify client JWTs with".into(), 1);
            }
            if redis_failed {
                return not_ready(
                    "redis: the budget and the cache would not be shared".into(),
                    1,
                );
            }
            println!("verdict: ready");
            ExitCode::SUCCESS
        }
        Err(error @ BlocError::Unauthorized { .. }) => {
            not_ready(format!("bloc: KEY REFUSED: {error}"), 1)
        }
        Err(error) => not_ready(format!("bloc: NOT REACHABLE: {error} ({millis} ms)"), 1),
    }
}

/// Redis's state once the first contact is over (`None` without `--redis-url`).
async fn redis_status(state: &AppState) -> Option<(&'static str, u32)> {
    for _ in 0..40 {
        match state.gateway().shared_state()? {
            ("connecting", _) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            known => return Some(known),
        }
    }
    state.gateway().shared_state()
}

/// Prints why `check` failed and its verdict, and gives its exit code.
fn not_ready(reason: String, code: u8) -> ExitCode {
    println!("{reason}");
    println!("verdict: not ready");
    ExitCode::from(code)
}

/// `bloc-graphql healthcheck`: exit 0 when `/healthz` answers 200.
async fn healthcheck(args: &HealthcheckArgs, listen: std::net::SocketAddr) -> ExitCode {
    let url = args.target(listen);
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(args.timeout_ms))
        .no_proxy()
        .build();
    let answer = match client {
        Ok(client) => client.get(&url).send().await,
        Err(error) => Err(error),
    };
    match answer {
        Ok(response) if response.status().is_success() => ExitCode::SUCCESS,
        Ok(response) => {
            eprintln!("unhealthy: {url} answered {}", response.status());
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("unhealthy: {url}: {}", error.without_url());
            ExitCode::from(1)
        }
    }
}

/// Prints a new key once, and the clients-file entry holding only its hash.
fn print_new_client(args: &ClientAddArgs) {
    let key = generate_key();
    let scopes: Vec<String> = Scope::ALL
        .into_iter()
        .filter(|s| args.scopes.contains(*s))
        .map(|s| format!("{:?}", s.name()))
        .collect();
    println!(
        "API key for {} (shown once; give it to the client, store it nowhere else):",
        args.name
    );
    println!();
    println!("    {key}");
    println!();
    println!("Add this to the clients file (--clients):");
    println!();
    println!("[[clients]]");
    println!("id = {:?}", args.name);
    println!("key_sha256 = \"{}\"", sha256_hex(&key));
    println!("scopes = [{}]", scopes.join(", "));
    if let Some(rate) = args.rate {
        println!("rate_per_minute = {rate}");
    }
}
