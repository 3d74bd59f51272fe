//! The service's configuration as one plain value: every setting and its default.
//!
//! Each part of the service defines its own settings next to the code that reads them
//! ([`BlocConfig`], [`Resilience`], [`OperationLimits`], [`GraphiqlConfig`], the auth and
//! persisted-query settings); this module gathers them into [`Config`], which
//! [`crate::state::AppState`] turns into runtime objects. Every default is a `DEFAULT` constant
//! (or a constant beside its field), read by clap ([`crate::cli`]), by `Default` and by the
//! checks, so each number is written once. Tests build [`Config`] as a literal; nothing here
//! knows about clap.

use std::{net::SocketAddr, time::Duration};

use axum::http::HeaderValue;
use secrecy::ExposeSecret;

pub use crate::{
    auth::AuthConfig, bloc::BlocConfig, graphiql::GraphiqlConfig, graphql::OperationLimits,
    persisted::PersistedConfig, shared::SharedConfig, upstream::Resilience,
};

/// Everything the service needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address the HTTP server binds to.
    pub listen_addr: SocketAddr,
    /// How to reach Bloc.
    pub bloc: BlocConfig,
    /// Limits applied to every client request.
    pub limits: Limits,
    /// How clients authenticate, and anonymous access.
    pub auth: AuthConfig,
    /// Introspection, suggestions and browser rules.
    pub exposure: Exposure,
    /// Automatic persisted queries, or trusted documents only.
    pub persisted: PersistedConfig,
    /// Cache, coalescing, upstream budget, retries and circuit breaker.
    pub resilience: Resilience,
    /// The state replicas share through Redis (budget, cache), if any.
    pub shared: SharedConfig,
    /// True when the upstream is the built-in sandbox (fake data).
    pub sandbox: bool,
}

impl Config {
    /// The kind of Bloc key configured, told from its prefix alone (the key is never shown).
    pub fn key_kind(&self) -> &'static str {
        let key = self.bloc.secret_key.expose_secret();
        if self.sandbox {
            "sandbox key"
        } else if key.starts_with("sk_test_") {
            "test key"
        } else if key.starts_with("sk_live_") {
            "live key"
        } else {
            "key of unknown kind (expected sk_test_ or sk_live_)"
        }
    }

    /// What the service says when it starts, one log line each: version, where it listens,
    /// mode, clients and the limits in force. Holds no secret: the key appears only as its
    /// kind.
    pub fn banner(&self, addr: SocketAddr) -> Vec<String> {
        let mode = if self.sandbox {
            "sandbox (fake customers, no Bloc account needed)".to_owned()
        } else {
            format!(
                "live, Bloc at {} with a {}",
                self.bloc.api_url,
                self.key_kind()
            )
        };
        let l = &self.limits;
        let o = &l.operation;
        let r = &self.resilience;
        let upstream_rate = match r.rate_per_minute {
            0 => "unlimited".to_owned(),
            n => format!("{n}/min"),
        };
        vec![
            format!(
                "bloc-graphql {} serving GraphQL at http://{addr}/graphql",
                env!("CARGO_PKG_VERSION")
            ),
            format!("graphiql: http://{addr}/"),
            format!("mode: {mode}"),
            format!("clients: {}", self.auth.summary()),
            format!(
                "limits: deadline {} ms, body {} B, batch {}, depth {}, aliases {}, \
                 complexity {}, customer ids {}, upstream calls {}, connections {} (headers within {} ms, idle {} ms)",
                l.request_timeout.as_millis(),
                l.body_limit,
                l.max_batch,
                o.max_depth,
                o.max_aliases,
                o.max_complexity,
                o.max_customer_ids,
                o.max_upstream_calls,
                l.connections.max_connections,
                l.connections.header_read_timeout.as_millis(),
                l.connections.idle_timeout.as_millis(),
            ),
            match &self.shared.redis_url {
                Some(_) => format!(
                    "shared: budget and cache on Redis (each operation within {} ms)",
                    self.shared.timeout.as_millis()
                ),
                None => "shared: none (this replica's budget and cache are its own)".to_owned(),
            },
            format!(
                "upstream: rate {upstream_rate}, fresh {} ms, served stale up to {} ms while \
                 refreshing, {} retries, breaker after {} outages",
                r.cache_ttl.as_millis(),
                r.max_staleness.as_millis(),
                r.max_retries,
                r.breaker_threshold,
            ),
        ]
    }
}

/// What the API reveals about itself, and to which browser origins.
#[derive(Debug, Clone, Default)]
pub struct Exposure {
    /// Whether `__schema` and `__type` queries are answered.
    pub introspection: bool,
    /// Whether validation errors suggest field names ("did you mean…").
    pub suggestions: bool,
    /// Browser origins allowed by CORS; empty allows none.
    pub cors_origins: Vec<HeaderValue>,
    /// What the GraphiQL page loads and opens with.
    pub graphiql: GraphiqlConfig,
}

/// Limits on client requests.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Operations allowed in one batched (JSON array) request.
    pub max_batch: usize,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Each request's deadline: no upstream call starts after it, and the client is
    /// answered by then (504 if nothing else).
    pub request_timeout: Duration,
    /// Limits on each GraphQL operation, checked before anything runs.
    pub operation: OperationLimits,
    /// Limits on client connections: how many, and how long they may dawdle.
    pub connections: ConnectionLimits,
    /// Bytes the parsed-document cache may hold (query texts, their parsed form and what is
    /// remembered about their operations, as estimated when each entry is kept).
    pub document_cache_bytes: usize,
}

impl Limits {
    /// The defaults. The document cache's 8 MiB is room for some 250 typical query texts (a
    /// kept text costs 32 KiB on average, a dense 4 KiB one about 450 KiB), a small share of
    /// the Deployment's 128 MiB.
    pub const DEFAULT: Self = Self {
        max_batch: 10,
        body_limit: 64 * 1024,
        request_timeout: Duration::from_secs(10),
        operation: OperationLimits::DEFAULT,
        connections: ConnectionLimits::DEFAULT,
        document_cache_bytes: 8 * 1024 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Limits on client connections, so that slow or idle clients (slowloris) cannot hold the
/// server's sockets and memory forever.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// How long a client has to send a request's headers, counted from when the connection
    /// opened or its previous response was sent; so it also closes an idle kept-alive
    /// connection.
    pub header_read_timeout: Duration,
    /// A connection on which no byte moved either way for this long is closed (a client that
    /// stopped reading its response, a stalled upload). Must be longer than the request
    /// deadline, which a request may spend waiting for Bloc.
    pub idle_timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog until one closes.
    pub max_connections: usize,
}

impl ConnectionLimits {
    /// The defaults.
    pub const DEFAULT: Self = Self {
        header_read_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        max_connections: 512,
    };
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
