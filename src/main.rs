//! `bloc-graphql`: parse configuration, start logging, build the app, serve until stopped.

use std::process::ExitCode;

use anyhow::Context;
use bloc_graphql::{
    auth::{Scope, generate_key, sha256_hex},
    cli::{Cli, ClientAddArgs, ClientCommand, Command, secret_key_from_env},
    sandbox,
    server::{self, AppState},
    telemetry,
};
use clap::Parser;
use secrecy::SecretString;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let _telemetry = match telemetry::init(&cli.log, cli.log_format, cli.otlp_endpoint.as_deref()) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Sandbox(args)) = &cli.command {
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let latency = std::time::Duration::from_millis(args.latency_ms);
        let sandbox = sandbox::start_with_latency(listener, latency)?;
        tracing::info!(
            "Bloc sandbox serving {} fake customers at {}",
            sandbox::CUSTOMER_COUNT,
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
    let (config, _sandbox) = if cli.sandbox {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let sandbox = sandbox::start(listener)?;
        let key = SecretString::from(sandbox::SANDBOX_KEY);
        let config = cli.config(sandbox.base_url.clone(), key);
        (config.map_err(anyhow::Error::msg)?, Some(sandbox))
    } else {
        let key = secret_key_from_env().context(
            "no Bloc secret key: set BLOC_SECRET_KEY, or pass --sandbox to try the built-in sandbox",
        )?;
        let config = cli.config(cli.bloc_api_url.clone(), key);
        (config.map_err(anyhow::Error::msg)?, None)
    };

    let listener = TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen_addr))?;
    let addr = listener.local_addr()?;
    if config.sandbox {
        tracing::info!(
            "sandbox mode is on (fake customers, anonymous access with every scope, no Bloc account needed): open http://{addr}/ for GraphiQL"
        );
    } else {
        tracing::info!("serving GraphQL at http://{addr}/graphql (GraphiQL at http://{addr}/)");
    }
    let state = AppState::new(config)?;
    server::serve(listener, state).await?;
    Ok(())
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
