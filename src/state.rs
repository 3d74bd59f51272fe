//! The application's state: the configuration loaded into the runtime objects every request
//! shares (the Bloc gateway, the schema, the limits, the persisted queries, the rate limits,
//! the GraphiQL page). Nothing per-request lives here.

use std::sync::Arc;

use crate::{
    bloc::BlocClient,
    config::Config,
    graphiql::Page,
    graphql::{self, AppSchema, DocumentCache, Policy, Upstream},
    metrics::Metrics,
    persisted::PersistedQueries,
    ratelimit::RateLimits,
    shared::Shared,
    upstream::{Call, Gateway},
};

/// Shared, immutable state: configuration, the Bloc client (one connection pool) and the
/// schema. Nothing per-request lives here.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    config: Config,
    gateway: Gateway,
    metrics: Arc<Metrics>,
    schema: AppSchema,
    policy: Policy,
    persisted: PersistedQueries,
    rate_limits: RateLimits,
    graphiql: Page,
    /// Set once the server stops taking new connections (a signal came): readiness fails, so a
    /// load balancer still polling over a kept-alive connection takes the replica out.
    draining: std::sync::atomic::AtomicBool,
}

impl AppState {
    /// Builds the state from the configuration; fails when the Bloc client cannot be built or
    /// GraphiQL's local files are missing or not the pinned ones.
    pub fn new(config: Config) -> Result<Self, String> {
        let client = BlocClient::new(&config.bloc).map_err(|e| e.to_string())?;
        let metrics = Arc::new(Metrics::new());
        let shared = Shared::new(&config.shared, &config.bloc.secret_key, metrics.clone())
            .map_err(|e| e.to_string())?;
        if let Some(shared) = &shared
            && tokio::runtime::Handle::try_current().is_ok()
        {
            shared.start();
        }
        let gateway = Gateway::new(
            client,
            config.bloc.call_timeout,
            &config.resilience,
            metrics.clone(),
            shared,
        );
        Ok(Self(Arc::new(Inner {
            gateway,
            metrics,
            schema: graphql::schema(config.exposure.introspection, config.exposure.suggestions),
            persisted: PersistedQueries::new(&config.persisted),
            rate_limits: RateLimits::new(&config.auth),
            graphiql: Page::new(&config.exposure.graphiql)?,
            draining: std::sync::atomic::AtomicBool::new(false),
            policy: Policy {
                documents: DocumentCache::with_budget(config.limits.document_cache_bytes),
                limits: config.limits.operation.clone(),
                introspection: config.exposure.introspection,
            },
            config,
        })))
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    pub(crate) fn schema(&self) -> &AppSchema {
        &self.0.schema
    }

    pub(crate) fn policy(&self) -> &Policy {
        &self.0.policy
    }

    pub(crate) fn persisted(&self) -> &PersistedQueries {
        &self.0.persisted
    }

    pub(crate) fn rate_limits(&self) -> &RateLimits {
        &self.0.rate_limits
    }

    /// A fresh per-request loader.
    pub(crate) fn upstream(&self, call: Call) -> Upstream {
        Upstream::new(self.0.gateway.clone(), call, self.0.config.bloc.concurrency)
    }

    /// The GraphiQL page, rendered at start-up.
    pub(crate) fn graphiql(&self) -> &Page {
        &self.0.graphiql
    }

    /// The process-wide way to Bloc.
    pub fn gateway(&self) -> &Gateway {
        &self.0.gateway
    }

    /// The service's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Marks the replica as shutting down (readiness fails from now on).
    pub fn begin_draining(&self) {
        self.0
            .draining
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Whether the replica is shutting down.
    pub fn draining(&self) -> bool {
        self.0.draining.load(std::sync::atomic::Ordering::Acquire)
    }
}
