//! How the facade talks to Bloc: where, with which key, and its defaults.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

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
    /// Largest Bloc response body read, in bytes; a larger one fails that call with
    /// `UPSTREAM_BAD_RESPONSE`. A single customer's body is held to at most
    /// `RECORD_BODY_LIMIT` or this, whichever is smaller.
    pub body_limit: usize,
}

/// Most bytes read for one customer record (`GET /customers/{id}`): a record is about 1 KB,
/// and many lookups can be in flight at once, each holding its body.
pub const RECORD_BODY_LIMIT: usize = 1024 * 1024;

impl BlocConfig {
    /// Default of [`BlocConfig::call_timeout`].
    pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default of [`BlocConfig::connect_timeout`].
    pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
    /// Default of [`BlocConfig::concurrency`].
    pub const CONCURRENCY: usize = 16;
    /// Default of [`BlocConfig::body_limit`]: 16 MiB. Bloc sends every customer in one list
    /// (it documents no paging), at about 1 KB a record, so 16 MiB holds some 16,000
    /// customers, as much as the Deployment's 128 MiB can take, since the body and the records
    /// decoded from it (about twice its size) are in memory together while the list is read.
    pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

    /// Defaults for everything but where Bloc is and the key.
    pub fn new(api_url: Url, secret_key: SecretString) -> Self {
        Self {
            api_url,
            secret_key,
            call_timeout: Self::CALL_TIMEOUT,
            connect_timeout: Self::CONNECT_TIMEOUT,
            concurrency: Self::CONCURRENCY,
            body_limit: Self::BODY_LIMIT,
        }
    }
}
