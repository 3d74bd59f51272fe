//! Runtime configuration as one plain struct.
//!
//! Tests build [`Config`] as a literal; command-line and environment parsing lives in
//! [`crate::cli`] so that nothing here knows about clap.

use std::{net::SocketAddr, time::Duration};

use axum::http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::{auth::AuthConfig, http::graphiql::LocalAssets, persisted::PersistedConfig};

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
                 complexity {}, customer ids {}, connections {} (headers within {} ms, idle {} ms)",
                l.request_timeout.as_millis(),
                l.body_limit,
                l.max_batch,
                o.max_depth,
                o.max_aliases,
                o.max_complexity,
                o.max_customer_ids,
                l.connections.max_connections,
                l.connections.header_read_timeout.as_millis(),
                l.connections.idle_timeout.as_millis(),
            ),
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

/// How the facade protects Bloc's budget and copes with Bloc's failures.
#[derive(Debug, Clone)]
pub struct Resilience {
    /// Process-wide Bloc calls per minute; 0 turns the limiter off.
    pub rate_per_minute: u32,
    /// Calls the bucket allows at once.
    pub burst: u32,
    /// How long a cached record or list counts as fresh; zero turns the cache off.
    pub cache_ttl: Duration,
    /// The staleness bound: past its freshness and up to this age, a record is served at once
    /// while a refresh is queued (stale-while-revalidate); past it, it must be fetched again.
    /// At least `cache_ttl` (equal: nothing is served stale).
    pub max_staleness: Duration,
    /// Cache size in KiB: a record weighs the bytes of its JSON and its decoded struct (about
    /// 1.5 KiB for a typical record); the list weighs its pointers (it shares its records).
    pub cache_capacity: u64,
    /// How long cached records are kept for serving stale while the circuit is open.
    pub stale_for: Duration,
    /// Retries after a first attempt.
    pub max_retries: u32,
    /// First backoff ceiling; it doubles per retry.
    pub retry_base: Duration,
    /// Largest backoff ceiling.
    pub retry_cap: Duration,
    /// Retries may add at most this share of calls, in percent.
    pub retry_budget_percent: u8,
    /// Outages in a row that open the circuit.
    pub breaker_threshold: u32,
    /// How long the circuit stays open before a probe.
    pub breaker_cool_down: Duration,
}

impl Default for Resilience {
    fn default() -> Self {
        Self {
            rate_per_minute: 500,
            burst: 50,
            cache_ttl: Duration::from_secs(5),
            max_staleness: Duration::from_secs(30),
            cache_capacity: 32 * 1024,
            stale_for: Duration::from_secs(300),
            max_retries: 2,
            retry_base: Duration::from_millis(100),
            retry_cap: Duration::from_secs(2),
            retry_budget_percent: 20,
            breaker_threshold: 5,
            breaker_cool_down: Duration::from_secs(10),
        }
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

/// What the GraphiQL page loads and opens with.
#[derive(Debug, Clone, Default)]
pub struct GraphiqlConfig {
    /// GraphiQL's files served by the facade itself (`--graphiql-assets`), else from unpkg.
    pub assets: Option<LocalAssets>,
    /// A customer id for the default query (the sandbox's first customer).
    pub example_id: Option<String>,
    /// A working key for the headers tab. Only ever set in sandbox mode, whose data is fake.
    pub demo_key: Option<String>,
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
    /// Largest Bloc response body read, in bytes; a larger one fails that call with
    /// `UPSTREAM_BAD_RESPONSE`. A single customer's body is held to at most
    /// [`RECORD_BODY_LIMIT`] or this, whichever is smaller.
    pub body_limit: usize,
}

/// Default of [`BlocConfig::body_limit`]: 16 MiB. Bloc sends every customer in one list
/// (it documents no paging), at about 1 KB a record, so 16 MiB holds some 16,000 customers:
/// above the 10,000 records the cache keeps, and as much as the Deployment's 128 MiB can
/// take, since the body and the records decoded from it (about twice its size) are in
/// memory together while the list is read.
pub const DEFAULT_UPSTREAM_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Most bytes read for one customer record (`GET /customers/{id}`): a record is about 1 KB,
/// and many lookups can be in flight at once, each holding its body.
pub const RECORD_BODY_LIMIT: usize = 1024 * 1024;

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

/// [`Limits::document_cache_bytes`] unless configured: 8 MiB, room for some 250 typical
/// query texts (a kept text costs 32 KiB on average, a dense 4 KiB one about 450 KiB), a small
/// share of the Deployment's 128 MiB.
pub const DEFAULT_DOCUMENT_CACHE_BYTES: usize = 8 * 1024 * 1024;

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

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 512,
        }
    }
}

/// Limits on one GraphQL operation (and, for ids, one HTTP request). Exceeding any rejects
/// the operation before any upstream call, with `extensions.code` naming the limit.
#[derive(Debug, Clone)]
pub struct OperationLimits {
    /// Largest GraphQL document, in bytes.
    pub max_query_bytes: usize,
    /// Most lexical tokens in a document.
    pub max_tokens: usize,
    /// Deepest selection nesting (fragments expanded).
    pub max_depth: usize,
    /// Most aliases in a document.
    pub max_aliases: usize,
    /// Most fields at the operation's root (fragments expanded).
    pub max_root_fields: usize,
    /// Highest cost: each field costs 1, and a list field's selection is multiplied by the
    /// most items it can return (`limit`, or the number of `ids`).
    pub max_complexity: usize,
    /// Most distinct customer ids named in one HTTP request (each is an upstream call).
    pub max_customer_ids: usize,
}

impl Default for OperationLimits {
    fn default() -> Self {
        Self {
            max_query_bytes: 32 * 1024,
            max_tokens: 5_000,
            max_depth: 8,
            max_aliases: 100,
            max_root_fields: 100,
            max_complexity: 10_000,
            max_customer_ids: 100,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_batch: 10,
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(10),
            operation: OperationLimits::default(),
            connections: ConnectionLimits::default(),
            document_cache_bytes: DEFAULT_DOCUMENT_CACHE_BYTES,
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
            body_limit: DEFAULT_UPSTREAM_BODY_LIMIT,
        }
    }
}
