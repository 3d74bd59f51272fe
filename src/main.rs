//! `bloc-graphql`: parse configuration, start logging, build the app, serve until stopped.

use std::{io::IsTerminal, process::ExitCode};

use anyhow::Context;
use bloc_graphql::{
    cli::{Cli, Command, secret_key_from_env},
    sandbox,
    server::{self, AppState},
};
use clap::Parser;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&cli.log).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
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
        let sandbox = sandbox::start(listener)?;
        tracing::info!(
            "Bloc sandbox serving {} fake customers at {}",
            sandbox::CUSTOMER_COUNT,
            sandbox.base_url
        );
        server::shutdown_signal().await;
        return Ok(());
    }

    // The sandbox must outlive the server, so it is held here.
    let (config, _sandbox) = if cli.sandbox {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let sandbox = sandbox::start(listener)?;
        let key = SecretString::from(sandbox::SANDBOX_KEY);
        (cli.config(sandbox.base_url.clone(), key), Some(sandbox))
    } else {
        let key = secret_key_from_env().context(
            "no Bloc secret key: set BLOC_SECRET_KEY, or pass --sandbox to try the built-in sandbox",
        )?;
        (cli.config(cli.bloc_api_url.clone(), key), None)
    };

    let listener = TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen_addr))?;
    let addr = listener.local_addr()?;
    if config.sandbox {
        tracing::info!(
            "sandbox mode is on (fake customers, no Bloc account needed): open http://{addr}/ for GraphiQL"
        );
    } else {
        tracing::info!("serving GraphQL at http://{addr}/graphql (GraphiQL at http://{addr}/)");
    }
    let state = AppState::new(config)?;
    server::serve(listener, state).await?;
    Ok(())
}
