//! Command line and environment, parsed by clap into a [`Config`].

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use axum::http::HeaderValue;
use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use crate::{
    auth::{
        AnonymousAccess, AuthConfig, ClientEntry, JwksConfig, JwtConfig, JwtVerifier, PerMinute,
        Scopes, generate_key, load_clients,
    },
    config::{
        BlocConfig, Config, ConnectionLimits, Exposure, GraphiqlConfig, Limits, OperationLimits,
        Resilience, SharedConfig,
    },
    persisted::{PersistedConfig, PersistedQueries},
    sandbox,
    telemetry::LogFormat,
};

/// The Bloc key: never a flag, since flags show up in `ps` and shell history.
pub const SECRET_KEY_ENV: &str = "BLOC_SECRET_KEY";
/// The client id of the sandbox's GraphiQL key (sandbox mode only).
pub const DEMO_CLIENT: &str = "graphiql-sandbox";
/// The HS256 secret for client JWTs: environment only, like the Bloc key.
pub const JWT_SECRET_ENV: &str = "JWT_HS256_SECRET";

/// GraphQL facade over Bloc's customer API.
#[derive(Debug, Parser)]
#[command(
    name = "bloc-graphql",
    version,
    after_help = "Secrets are read from the environment only (never flags, never logged): \
                  BLOC_SECRET_KEY, the Bloc secret key; JWT_HS256_SECRET, an HS256 secret for \
                  client JWTs. Without a Bloc key, pass --sandbox to run against the built-in \
                  sandbox."
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
    #[arg(long, env = "UPSTREAM_CONCURRENCY",
          default_value_t = u16::try_from(BlocConfig::CONCURRENCY).unwrap_or(u16::MAX),
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub upstream_concurrency: u16,

    /// Timeout for one call to Bloc, in milliseconds.
    #[arg(long, env = "UPSTREAM_TIMEOUT_MS", default_value_t = duration_ms(BlocConfig::CALL_TIMEOUT),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub upstream_timeout_ms: u64,

    /// Largest Bloc response body read, in bytes (the customer list; one customer's record
    /// is held to 1 MiB at most); a larger body fails that call.
    #[arg(long, env = "UPSTREAM_BODY_LIMIT_BYTES",
          default_value_t = u64::try_from(BlocConfig::BODY_LIMIT).unwrap_or(u64::MAX),
          value_parser = clap::value_parser!(u64).range(4096..))]
    pub upstream_body_limit: u64,

    /// Timeout for opening a connection to Bloc, in milliseconds.
    #[arg(long, env = "UPSTREAM_CONNECT_TIMEOUT_MS",
          default_value_t = duration_ms(BlocConfig::CONNECT_TIMEOUT),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub upstream_connect_timeout_ms: u64,

    /// Each request's deadline, in milliseconds: no Bloc call starts after it, and the client
    /// is answered by then (504 at the latest).
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = duration_ms(Limits::DEFAULT.request_timeout),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,

    /// Bytes the parsed-document cache may hold (0: parse every request).
    #[arg(long, env = "DOCUMENT_CACHE_BYTES",
          default_value_t = Limits::DEFAULT.document_cache_bytes as u64)]
    pub document_cache_bytes: u64,

    /// Operations allowed in one batched (JSON array) request.
    #[arg(long, env = "MAX_BATCH_OPERATIONS",
          default_value_t = u16::try_from(Limits::DEFAULT.max_batch).unwrap_or(u16::MAX),
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub max_batch: u16,

    /// Largest request body accepted, in bytes (larger bodies get 413).
    #[arg(long, env = "BODY_LIMIT_BYTES",
          default_value_t = u32::try_from(Limits::DEFAULT.body_limit).unwrap_or(u32::MAX),
          value_parser = clap::value_parser!(u32).range(1024..))]
    pub body_limit: u32,

    /// How long a client has to send a request's headers, in milliseconds, counted from when
    /// the connection opened or its previous response was sent (so it also closes idle
    /// kept-alive connections).
    #[arg(long, env = "HEADER_READ_TIMEOUT_MS",
          default_value_t = duration_ms(ConnectionLimits::DEFAULT.header_read_timeout),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_ms: u64,

    /// Close a connection on which no byte moved either way for this many milliseconds (must
    /// be longer than --request-timeout-ms).
    #[arg(long, env = "IDLE_TIMEOUT_MS",
          default_value_t = duration_ms(ConnectionLimits::DEFAULT.idle_timeout),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_ms: u64,

    /// Client connections served at once; further ones wait until one closes.
    #[arg(long, env = "MAX_CONNECTIONS",
          default_value_t = u32::try_from(ConnectionLimits::DEFAULT.max_connections).unwrap_or(u32::MAX),
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Log filter in tracing's EnvFilter syntax, e.g. `info` or `bloc_graphql=debug`.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log: String,

    #[command(flatten)]
    pub auth: AuthArgs,

    #[command(flatten)]
    pub operation: OperationArgs,

    #[command(flatten)]
    pub resilience: ResilienceArgs,

    #[command(flatten)]
    pub shared: SharedArgs,

    /// Export trace spans to this OTLP/HTTP traces URL, e.g. `http://127.0.0.1:4318/v1/traces`
    /// (needs a build with `--features otel`).
    #[arg(long, env = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// Log format: `pretty` for people, `json` for log pipelines.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,

    /// Answer introspection queries (`__schema`, `__type`); always on with --sandbox.
    #[arg(long, env = "INTROSPECTION")]
    pub introspection: bool,

    /// Run only the operations in this persisted-query manifest (Apollo's manifest JSON, or
    /// `{"<sha256>": "<query>"}`); everything else is refused.
    #[arg(long, env = "PERSISTED_ONLY_FILE", value_name = "FILE")]
    pub persisted_only: Option<PathBuf>,

    /// KiB of query text remembered for automatic persisted queries (APQ), each query weighing
    /// at least 1 KiB; 0 turns APQ off.
    #[arg(long, env = "APQ_CACHE_SIZE", default_value_t = PersistedConfig::APQ_KIB)]
    pub apq_cache_size: usize,

    /// Browser origins allowed to call the API (CORS), comma-separated; none by default.
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Serve GraphiQL's pinned files from this folder instead of unpkg (air-gapped networks,
    /// `script-src 'self'`); each is checked against its pinned hash at start-up. Fill it
    /// with `scripts/graphiql-assets DIR`.
    #[arg(long, env = "GRAPHIQL_ASSETS_DIR", value_name = "DIR")]
    pub graphiql_assets: Option<PathBuf>,
}

/// How clients authenticate.
#[derive(Debug, Args)]
pub struct AuthArgs {
    /// TOML file of API-key clients (`bloc-graphql client add` prints entries for it).
    #[arg(long = "clients", env = "CLIENTS_FILE", value_name = "FILE")]
    pub clients_file: Option<PathBuf>,

    /// Serve requests without credentials, with --anonymous-scopes (implied by --sandbox).
    #[arg(long, env = "ALLOW_ANONYMOUS")]
    pub allow_anonymous: bool,

    /// Scopes of anonymous requests, comma-separated.
    #[arg(long, env = "ANONYMOUS_SCOPES", default_value = "customers:read",
          value_parser = Scopes::parse_list)]
    pub anonymous_scopes: Scopes,

    /// Requests per minute shared by all anonymous callers; unlimited when unset.
    #[arg(long, env = "ANONYMOUS_RATE", value_name = "PER_MINUTE")]
    pub anonymous_rate: Option<PerMinute>,

    /// PEM public key for client JWTs signed with --jwt-algorithm (RS256 or ES256).
    #[arg(long, env = "JWT_PUBLIC_KEY_FILE", value_name = "FILE")]
    pub jwt_public_key: Option<PathBuf>,

    /// URL of the identity provider's JWKS (e.g. `https://TENANT.auth0.com/.well-known/jwks.json`):
    /// its keys verify client JWTs, each with its own algorithm, picked by the token's `kid`.
    /// Fetched at start-up, on a schedule, and when a token names an unknown key
    /// (rate-limited). https:// only (http:// to a loopback host). Instead of
    /// --jwt-public-key and JWT_HS256_SECRET; needs --jwt-issuer and --jwt-audience.
    #[arg(long, env = "JWT_JWKS_URL", value_name = "URL")]
    pub jwt_jwks_url: Option<Url>,

    /// Algorithm of --jwt-public-key.
    #[arg(long, env = "JWT_ALGORITHM", value_enum, default_value = "rs256")]
    pub jwt_algorithm: JwtAlgorithm,

    /// Required `iss` claim of client JWTs.
    #[arg(long, env = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// Required `aud` claim of client JWTs.
    #[arg(long, env = "JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// JWT claim holding the scopes (a space-separated string or an array).
    #[arg(long, env = "JWT_SCOPES_CLAIM", default_value = "scope")]
    pub jwt_scopes_claim: String,

    /// Requests per minute for each JWT subject; unlimited when unset.
    #[arg(long, env = "JWT_RATE", value_name = "PER_MINUTE")]
    pub jwt_rate: Option<PerMinute>,
}

/// Public-key algorithms for client JWTs (HS256 is chosen by setting JWT_HS256_SECRET).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum JwtAlgorithm {
    /// RSA PKCS#1 v1.5 with SHA-256.
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
}

/// Upstream budget, cache, retries and circuit breaker.
#[derive(Debug, Args)]
pub struct ResilienceArgs {
    /// Process-wide Bloc calls per minute (Bloc allows about 500); 0 turns the limiter off.
    #[arg(long, env = "UPSTREAM_RATE", default_value_t = Resilience::DEFAULT.rate_per_minute)]
    pub upstream_rate: u32,
    /// Bloc calls the limiter allows at once.
    #[arg(long, env = "UPSTREAM_BURST", default_value_t = Resilience::DEFAULT.burst)]
    pub upstream_burst: u32,
    /// How long cached Bloc answers stay fresh, in milliseconds; 0 turns the cache off.
    #[arg(long, env = "CACHE_TTL_MS", default_value_t = duration_ms(Resilience::DEFAULT.cache_ttl))]
    pub cache_ttl_ms: u64,
    /// The staleness bound, in milliseconds: a cached answer older than --cache-ttl-ms and
    /// up to this old is served at once while a refresh is queued; an older one is fetched
    /// again or its field errors. At least --cache-ttl-ms (equal: nothing is served stale).
    #[arg(long, env = "MAX_STALENESS_MS",
          default_value_t = duration_ms(Resilience::DEFAULT.max_staleness))]
    pub max_staleness_ms: u64,
    /// Size of the shared record cache, in KiB (a record weighs its JSON and its decoded
    /// form, about 1.5 KiB for a typical one).
    #[arg(long, env = "CACHE_CAPACITY", default_value_t = Resilience::DEFAULT.cache_capacity)]
    pub cache_capacity: u64,
    /// How long cached records are kept to serve stale while Bloc is failing, in seconds.
    #[arg(long, env = "STALE_FOR_SECS", default_value_t = Resilience::DEFAULT.stale_for.as_secs())]
    pub stale_for_secs: u64,
    /// Retries after a failed first attempt (5xx, 429, timeouts, broken connections).
    #[arg(long, env = "UPSTREAM_RETRIES", default_value_t = Resilience::DEFAULT.max_retries)]
    pub upstream_retries: u32,
    /// Retries may add at most this percentage of calls.
    #[arg(long, env = "RETRY_BUDGET_PERCENT", default_value_t = Resilience::DEFAULT.retry_budget_percent)]
    pub retry_budget_percent: u8,
    /// Bloc outages in a row that open the circuit.
    #[arg(long, env = "BREAKER_THRESHOLD", default_value_t = Resilience::DEFAULT.breaker_threshold)]
    pub breaker_threshold: u32,
    /// How long the circuit stays open before one probe call, in milliseconds.
    #[arg(long, env = "BREAKER_COOL_DOWN_MS",
          default_value_t = duration_ms(Resilience::DEFAULT.breaker_cool_down))]
    pub breaker_cool_down_ms: u64,
}

/// The state replicas share through Redis.
#[derive(Debug, Args)]
pub struct SharedArgs {
    /// Redis for the state replicas share: one Bloc budget (--upstream-rate and
    /// --upstream-burst become the total of every replica) and one cache. `redis://` or
    /// `rediss://` (TLS); a password in the URL is allowed and never logged. Without it,
    /// each replica's budget and cache are its own.
    #[arg(long, env = "REDIS_URL", value_name = "URL", hide_env_values = true,
          value_parser = secret_value)]
    pub redis_url: Option<SecretString>,
    /// Most time one Redis operation may take, in milliseconds: past it the replica serves
    /// from its own cache, with its share of the budget, until Redis answers again.
    #[arg(long, env = "REDIS_TIMEOUT_MS", default_value_t = SharedConfig::DEFAULT_TIMEOUT_MS)]
    pub redis_timeout_ms: u64,
}

/// A secret flag's value, kept out of `Debug` output from here on.
fn secret_value(value: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(value))
}

/// Limits on each GraphQL operation.
#[derive(Debug, Args)]
pub struct OperationArgs {
    /// Largest GraphQL document, in bytes.
    #[arg(long, env = "MAX_QUERY_BYTES", default_value_t = OperationLimits::DEFAULT.max_query_bytes)]
    pub max_query_bytes: usize,
    /// Most lexical tokens in a GraphQL document.
    #[arg(long, env = "MAX_TOKENS", default_value_t = OperationLimits::DEFAULT.max_tokens)]
    pub max_tokens: usize,
    /// Deepest selection nesting.
    #[arg(long, env = "MAX_DEPTH", default_value_t = OperationLimits::DEFAULT.max_depth)]
    pub max_depth: usize,
    /// Most aliases in a document.
    #[arg(long, env = "MAX_ALIASES", default_value_t = OperationLimits::DEFAULT.max_aliases)]
    pub max_aliases: usize,
    /// Most fields at an operation's root.
    #[arg(long, env = "MAX_ROOT_FIELDS", default_value_t = OperationLimits::DEFAULT.max_root_fields)]
    pub max_root_fields: usize,
    /// Highest operation cost (1 per field; list selections count once per possible item).
    #[arg(long, env = "MAX_COMPLEXITY", default_value_t = OperationLimits::DEFAULT.max_complexity)]
    pub max_complexity: usize,
    /// Most distinct customer ids one HTTP request may name.
    #[arg(long, env = "MAX_CUSTOMER_IDS", default_value_t = OperationLimits::DEFAULT.max_customer_ids)]
    pub max_customer_ids: usize,
    /// Most Bloc calls one HTTP request may make, counted before it runs (ids, the list,
    /// lookups, and each relation per parent).
    #[arg(long, env = "MAX_UPSTREAM_CALLS", default_value_t = OperationLimits::DEFAULT.max_upstream_calls)]
    pub max_upstream_calls: usize,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the built-in Bloc sandbox alone (a fake Bloc REST API for frontend teams and tests).
    Sandbox(SandboxArgs),
    /// Manage API-key clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Check the configuration and prove the Bloc key works with one upstream call, then
    /// print a verdict (exit 0: ready; 1: Bloc refused the key or could not be reached, or
    /// the JWKS of --jwt-jwks-url could not be fetched; 2: the configuration is invalid). For
    /// deploy pipelines.
    Check,
    /// Ask a running facade's `/healthz` (exit 0 when it answers 200, else 1). For container
    /// health checks, where the image has no curl.
    Healthcheck(HealthcheckArgs),
}

/// Options of `bloc-graphql healthcheck`.
#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// URL to ask; by default `/healthz` on the loopback address of `--listen-addr`'s port.
    #[arg(long)]
    pub url: Option<Url>,
    /// Give up after this many milliseconds.
    #[arg(long, default_value_t = 2_000)]
    pub timeout_ms: u64,
}

/// `bloc-graphql client ...`
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Generate a key for a new client: prints the key once, and the entry for the clients file.
    Add(ClientAddArgs),
}

/// Options of `bloc-graphql client add`.
#[derive(Debug, Args)]
pub struct ClientAddArgs {
    /// The client's id, e.g. `ios-app`.
    pub name: String,
    /// The client's scopes, comma-separated.
    #[arg(long, default_value = "customers:read", value_parser = Scopes::parse_list)]
    pub scopes: Scopes,
    /// The client's rate limit in requests per minute.
    #[arg(long, value_name = "PER_MINUTE")]
    pub rate: Option<PerMinute>,
}

/// The sandbox customer GraphiQL opens with: the first with a KYC tier above 0 and a city,
/// so the minimal mobile query shows every field it asks for.
fn example_customer() -> Option<String> {
    let customers = sandbox::customers();
    let complete = customers.iter().find(|c| {
        c.get("kyc_tier")
            .and_then(Value::as_str)
            .is_some_and(|tier| tier != "0")
            && c.pointer("/address/city")
                .and_then(Value::as_str)
                .is_some_and(|city| !city.is_empty())
    });
    complete
        .or(customers.first())
        .and_then(|c| c.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

impl HealthcheckArgs {
    /// The URL to ask: `--url`, else `/healthz` at the listen address, a wildcard address
    /// (`0.0.0.0`, `::`, as in containers) being reached on loopback.
    pub fn target(&self, listen: SocketAddr) -> String {
        if let Some(url) = &self.url {
            return url.to_string();
        }
        let host = match listen.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => Ipv4Addr::LOCALHOST.to_string(),
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) if ip.is_unspecified() => format!("[{}]", Ipv6Addr::LOCALHOST),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        format!("http://{host}:{}/healthz", listen.port())
    }
}

/// Options of `bloc-graphql sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address the sandbox listens on; it serves Bloc's API under `/v1`.
    #[arg(long, env = "SANDBOX_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// Hold back every answer by this many milliseconds, to stand in for a distant Bloc.
    #[arg(long, env = "SANDBOX_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// How many customers to serve; the first 60 are always the same ones, and more are
    /// generated from the same seed (for benchmarks with large organisations).
    #[arg(long, env = "SANDBOX_CUSTOMERS", default_value_t = sandbox::CUSTOMER_COUNT as u32,
          value_parser = clap::value_parser!(u32).range(1..=sandbox::MAX_CUSTOMERS as i64))]
    pub customers: u32,
    /// Every record changes all the time: its `updated_at` is the moment it is served, so a
    /// client can tell how old the data it got through the facade is.
    #[arg(long, env = "SANDBOX_LIVE_UPDATES")]
    pub live_updates: bool,
}

impl Cli {
    /// Builds the facade's configuration for the given upstream.
    pub fn config(&self, api_url: Url, secret_key: SecretString) -> Result<Config, String> {
        let cors_origins = self
            .cors_origins
            .iter()
            .filter(|o| !o.trim().is_empty())
            .map(|o| HeaderValue::from_str(o.trim()).map_err(|_| format!("bad CORS origin `{o}`")))
            .collect::<Result<_, _>>()?;
        let o = &self.operation;
        if self.resilience.max_staleness_ms < self.resilience.cache_ttl_ms {
            return Err(format!(
                "--max-staleness-ms ({}) must be at least --cache-ttl-ms ({}): records are \
                 fresh for the TTL and may be served stale only after it",
                self.resilience.max_staleness_ms, self.resilience.cache_ttl_ms
            ));
        }
        // The sandbox's data is fake, so GraphiQL's headers tab can carry a working key.
        let demo_key = self.sandbox.then(generate_key);
        Ok(Config {
            listen_addr: self.listen_addr,
            bloc: BlocConfig {
                api_url,
                secret_key,
                call_timeout: Duration::from_millis(self.upstream_timeout_ms),
                connect_timeout: Duration::from_millis(self.upstream_connect_timeout_ms),
                concurrency: usize::from(self.upstream_concurrency),
                body_limit: usize::try_from(self.upstream_body_limit).unwrap_or(usize::MAX),
            },
            limits: Limits {
                max_batch: usize::from(self.max_batch),
                body_limit: self.body_limit as usize,
                request_timeout: Duration::from_millis(self.request_timeout_ms),
                connections: self.connection_limits()?,
                document_cache_bytes: usize::try_from(self.document_cache_bytes)
                    .unwrap_or(usize::MAX),
                operation: OperationLimits {
                    max_query_bytes: o.max_query_bytes,
                    max_tokens: o.max_tokens,
                    max_depth: o.max_depth,
                    max_aliases: o.max_aliases,
                    max_root_fields: o.max_root_fields,
                    max_complexity: o.max_complexity,
                    max_customer_ids: o.max_customer_ids,
                    max_upstream_calls: o.max_upstream_calls,
                },
            },
            resilience: {
                let r = &self.resilience;
                Resilience {
                    rate_per_minute: r.upstream_rate,
                    burst: r.upstream_burst,
                    cache_ttl: Duration::from_millis(r.cache_ttl_ms),
                    max_staleness: Duration::from_millis(r.max_staleness_ms),
                    cache_capacity: r.cache_capacity,
                    stale_for: Duration::from_secs(r.stale_for_secs),
                    max_retries: r.upstream_retries,
                    retry_budget_percent: r.retry_budget_percent,
                    breaker_threshold: r.breaker_threshold,
                    breaker_cool_down: Duration::from_millis(r.breaker_cool_down_ms),
                    ..Resilience::DEFAULT
                }
            },
            auth: self.auth_config(demo_key.as_deref())?,
            persisted: match &self.persisted_only {
                Some(path) => PersistedQueries::load_manifest(path)?,
                None => PersistedConfig::Automatic(self.apq_cache_size),
            },
            exposure: Exposure {
                introspection: self.introspection || self.sandbox,
                suggestions: self.sandbox,
                cors_origins,
                graphiql: GraphiqlConfig {
                    assets: self.graphiql_assets.clone(),
                    example_id: self.sandbox.then(example_customer).flatten(),
                    demo_key,
                },
            },
            shared: self.shared_config()?,
            sandbox: self.sandbox,
        })
    }

    fn shared_config(&self) -> Result<SharedConfig, String> {
        let s = &self.shared;
        if let Some(url) = &s.redis_url {
            let scheme = url
                .expose_secret()
                .split_once("://")
                .map(|(scheme, _)| scheme);
            if !matches!(scheme, Some("redis" | "rediss")) {
                return Err("REDIS_URL (--redis-url) must be a redis:// or rediss:// URL".into());
            }
        }
        if s.redis_timeout_ms == 0 {
            return Err("--redis-timeout-ms must be at least 1".into());
        }
        Ok(SharedConfig {
            redis_url: s.redis_url.clone(),
            timeout: Duration::from_millis(s.redis_timeout_ms),
        })
    }

    fn connection_limits(&self) -> Result<ConnectionLimits, String> {
        // A request may wait this long for Bloc without a byte moving on its connection.
        if self.idle_timeout_ms <= self.request_timeout_ms {
            return Err(format!(
                "--idle-timeout-ms ({}) must be longer than --request-timeout-ms ({})",
                self.idle_timeout_ms, self.request_timeout_ms
            ));
        }
        Ok(ConnectionLimits {
            header_read_timeout: Duration::from_millis(self.header_read_timeout_ms),
            idle_timeout: Duration::from_millis(self.idle_timeout_ms),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
        })
    }

    fn auth_config(&self, demo_key: Option<&str>) -> Result<AuthConfig, String> {
        let a = &self.auth;
        let mut clients = match &a.clients_file {
            Some(path) => load_clients(path)?,
            None => Vec::new(),
        };
        if let Some(key) = demo_key {
            clients.push(ClientEntry::new(DEMO_CLIENT, key, Scopes::all()));
        }
        let anonymous = if self.sandbox {
            // The sandbox's data is fake: everyone may see every field.
            Some(AnonymousAccess {
                scopes: Scopes::all(),
                rate: a.anonymous_rate,
            })
        } else {
            a.allow_anonymous.then_some(AnonymousAccess {
                scopes: a.anonymous_scopes,
                rate: a.anonymous_rate,
            })
        };
        let hs256 = std::env::var(JWT_SECRET_ENV)
            .ok()
            .filter(|s| !s.is_empty())
            .map(SecretString::from);
        let ways = [
            hs256.is_some(),
            a.jwt_public_key.is_some(),
            a.jwt_jwks_url.is_some(),
        ];
        if ways.into_iter().filter(|set| *set).count() > 1 {
            return Err(format!(
                "set one of {JWT_SECRET_ENV}, --jwt-public-key and --jwt-jwks-url, not several"
            ));
        }
        let claims = || match (&a.jwt_issuer, &a.jwt_audience) {
            (Some(issuer), Some(audience)) => Ok((issuer, audience)),
            _ => Err("JWT verification needs --jwt-issuer and --jwt-audience".to_owned()),
        };
        let key = match (&hs256, &a.jwt_public_key) {
            (Some(secret), _) => Some((
                jsonwebtoken::DecodingKey::from_secret(secret.expose_secret().as_bytes()),
                jsonwebtoken::Algorithm::HS256,
            )),
            (None, Some(path)) => {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("cannot read JWT public key {}: {e}", path.display()))?;
                let parsed = match a.jwt_algorithm {
                    JwtAlgorithm::Rs256 => jsonwebtoken::DecodingKey::from_rsa_pem(&pem)
                        .map(|k| (k, jsonwebtoken::Algorithm::RS256)),
                    JwtAlgorithm::Es256 => jsonwebtoken::DecodingKey::from_ec_pem(&pem)
                        .map(|k| (k, jsonwebtoken::Algorithm::ES256)),
                };
                Some(parsed.map_err(|_| format!("{} is not a PEM public key", path.display()))?)
            }
            (None, None) => None,
        };
        let jwt = match (key, &a.jwt_jwks_url) {
            (Some((key, algorithm)), _) => {
                let (issuer, audience) = claims()?;
                Some(JwtVerifier::new(JwtConfig {
                    key,
                    algorithm,
                    issuer: issuer.clone(),
                    audience: audience.clone(),
                    scopes_claim: a.jwt_scopes_claim.clone(),
                    rate: a.jwt_rate,
                }))
            }
            (None, Some(url)) => {
                let (issuer, audience) = claims()?;
                Some(JwtVerifier::from_jwks(
                    JwksConfig::new(url.clone()),
                    issuer,
                    audience,
                    &a.jwt_scopes_claim,
                    a.jwt_rate,
                )?)
            }
            (None, None) => None,
        };
        let auth = AuthConfig {
            clients,
            jwt,
            anonymous,
        };
        if !auth.accepts_anyone() {
            return Err(
                "no client can authenticate: pass --clients FILE, configure JWTs \
                        (JWT_HS256_SECRET, --jwt-public-key or --jwt-jwks-url), or \
                        --allow-anonymous"
                    .into(),
            );
        }
        Ok(auth)
    }
}

/// A default duration as the whole milliseconds clap shows.
fn duration_ms(duration: Duration) -> u64 {
    // Every default is far below u64::MAX milliseconds.
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Reads the Bloc key from the environment; an empty value counts as unset.
pub fn secret_key_from_env() -> Option<SecretString> {
    std::env::var(SECRET_KEY_ENV)
        .ok()
        .filter(|key| !key.trim().is_empty())
        .map(SecretString::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(listen: &str, url: Option<&str>) -> String {
        let args = HealthcheckArgs {
            url: url.map(|u| u.parse().unwrap()),
            timeout_ms: 1,
        };
        args.target(listen.parse().unwrap())
    }

    fn connection_limits(args: &[&str]) -> Result<ConnectionLimits, String> {
        let cli = Cli::try_parse_from([&["bloc-graphql", "--sandbox"], args].concat()).unwrap();
        let config = cli.config(
            "http://127.0.0.1:1/v1".parse().unwrap(),
            SecretString::from("sk_test_x"),
        )?;
        Ok(config.limits.connections)
    }

    #[test]
    fn connection_limits_default_to_the_config_values_and_idle_must_outlast_the_deadline() {
        let defaults = connection_limits(&[]).unwrap();
        let set = connection_limits(&[
            "--header-read-timeout-ms=250",
            "--idle-timeout-ms=20000",
            "--max-connections=3",
        ])
        .unwrap();
        let too_short = connection_limits(&["--idle-timeout-ms=10000"]).unwrap_err();

        assert_eq!(
            format!("{defaults:?}"),
            format!("{:?}", ConnectionLimits::DEFAULT)
        );
        assert_eq!(set.header_read_timeout, Duration::from_millis(250));
        assert_eq!(set.idle_timeout, Duration::from_secs(20));
        assert_eq!(set.max_connections, 3);
        assert!(too_short.contains("--idle-timeout-ms"), "{too_short}");
    }

    #[test]
    fn the_healthcheck_reaches_a_wildcard_listen_address_on_loopback() {
        assert_eq!(
            target("0.0.0.0:8080", None),
            "http://127.0.0.1:8080/healthz"
        );
        assert_eq!(target("[::]:9000", None), "http://[::1]:9000/healthz");
        assert_eq!(target("10.1.2.3:81", None), "http://10.1.2.3:81/healthz");
        assert_eq!(
            target("0.0.0.0:8080", Some("http://127.0.0.1:1/live")),
            "http://127.0.0.1:1/live"
        );
    }
}
