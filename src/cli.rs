//! Command line and environment, parsed by clap into a [`Config`].

use std::{net::SocketAddr, time::Duration};

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use url::Url;

use crate::config::{BlocConfig, Config, Limits};

/// Name of the only setting that is never a flag: flags show up in `ps` and shell history.
pub const SECRET_KEY_ENV: &str = "BLOC_SECRET_KEY";

/// GraphQL facade over Bloc's customer API.
#[derive(Debug, Parser)]
#[command(
    name = "bloc-graphql",
    version,
    after_help = "The Bloc secret key is read from the environment variable BLOC_SECRET_KEY only \
                  (never a flag, never logged). Without it, pass --sandbox to run against the \
                  built-in sandbox."
)]
pub struct Cli {
    /// Run a subcommand instead of the facade.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Start the built-in Bloc sandbox on a free loopback port and serve its fake customers.
    #[arg(long, env = "BLOC_SANDBOX")]
    pub sandbox: bool,

    /// Address to serve GraphQL on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen_addr: SocketAddr,

    /// Base URL of Bloc's API (ignored with --sandbox).
    #[arg(long, env = "BLOC_API_URL", default_value = "https://api.blochq.io/v1")]
    pub bloc_api_url: Url,

    /// Upstream calls one client request may have in flight at once.
    #[arg(long, env = "UPSTREAM_CONCURRENCY", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub upstream_concurrency: u16,

    /// Timeout for one call to Bloc, in milliseconds.
    #[arg(long, env = "UPSTREAM_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub upstream_timeout_ms: u64,

    /// Timeout for opening a connection to Bloc, in milliseconds.
    #[arg(long, env = "UPSTREAM_CONNECT_TIMEOUT_MS", default_value_t = 3_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub upstream_connect_timeout_ms: u64,

    /// Time after which a client request is answered 504, in milliseconds.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 15_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,

    /// Operations allowed in one batched (JSON array) request.
    #[arg(long, env = "MAX_BATCH_OPERATIONS", default_value_t = 10,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub max_batch: u16,

    /// Largest request body accepted, in bytes (larger bodies get 413).
    #[arg(long, env = "BODY_LIMIT_BYTES", default_value_t = 65_536,
          value_parser = clap::value_parser!(u32).range(1024..))]
    pub body_limit: u32,

    /// Log filter in tracing's EnvFilter syntax, e.g. `info` or `bloc_graphql=debug`.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log: String,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the built-in Bloc sandbox alone (a fake Bloc REST API for frontend teams and tests).
    Sandbox(SandboxArgs),
}

/// Options of `bloc-graphql sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address the sandbox listens on; it serves Bloc's API under `/v1`.
    #[arg(long, env = "SANDBOX_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
}

impl Cli {
    /// Builds the facade's configuration for the given upstream.
    pub fn config(&self, api_url: Url, secret_key: SecretString) -> Config {
        Config {
            listen_addr: self.listen_addr,
            bloc: BlocConfig {
                api_url,
                secret_key,
                call_timeout: Duration::from_millis(self.upstream_timeout_ms),
                connect_timeout: Duration::from_millis(self.upstream_connect_timeout_ms),
                concurrency: usize::from(self.upstream_concurrency),
            },
            limits: Limits {
                max_batch: usize::from(self.max_batch),
                body_limit: self.body_limit as usize,
                request_timeout: Duration::from_millis(self.request_timeout_ms),
            },
            sandbox: self.sandbox,
        }
    }
}

/// Reads the Bloc key from the environment; an empty value counts as unset.
pub fn secret_key_from_env() -> Option<SecretString> {
    std::env::var(SECRET_KEY_ENV)
        .ok()
        .filter(|key| !key.trim().is_empty())
        .map(SecretString::from)
}
