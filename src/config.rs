//! Runtime configuration as one plain struct.
//!
//! Tests build [`Config`] as a literal; command-line and environment parsing lives in
//! [`crate::cli`] so that nothing here knows about clap.

use std::{net::SocketAddr, time::Duration};

use secrecy::SecretString;
use url::Url;

/// Everything the service needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address the HTTP server binds to.
    pub listen_addr: SocketAddr,
    /// How to reach Bloc.
    pub bloc: BlocConfig,
    /// Limits applied to every client request.
    pub limits: Limits,
    /// True when the upstream is the built-in sandbox (fake data).
    pub sandbox: bool,
}

/// How the facade talks to Bloc.
#[derive(Debug, Clone)]
pub struct BlocConfig {
    /// Base URL of Bloc's API, e.g. `https://api.blochq.io/v1`.
    pub api_url: Url,
    /// Bloc secret key. `SecretString`'s `Debug` prints a placeholder, never the key.
    pub secret_key: SecretString,
    /// Upper bound for one upstream call, connection included.
    pub call_timeout: Duration,
    /// Upper bound for opening a connection to Bloc.
    pub connect_timeout: Duration,
    /// Upstream calls one client request may have in flight at once.
    pub concurrency: usize,
}

/// Limits on client requests.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Operations allowed in one batched (JSON array) request.
    pub max_batch: usize,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Time after which a client request is answered with 504.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_batch: 10,
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(15),
        }
    }
}

impl BlocConfig {
    /// Defaults for everything but where Bloc is and the key.
    pub fn new(api_url: Url, secret_key: SecretString) -> Self {
        Self {
            api_url,
            secret_key,
            call_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            concurrency: 16,
        }
    }
}
