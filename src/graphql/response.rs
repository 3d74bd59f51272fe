//! A GraphQL response as the facade sends it: `{errors?, data?, extensions?}`, with the
//! extensions the pipeline adds (staleness, the upstream trace).

use async_graphql::{ErrorExtensionValues, Name, ServerError};
use serde::{Serialize, ser::SerializeMap};

use crate::upstream::RequestStats;

/// A GraphQL response, serialised as `{errors?, data?, extensions?}`.
pub struct Response {
    pub(super) inner: async_graphql::Response,
    pub(super) request_error: bool,
    pub(super) direct: bool,
}

impl Response {
    /// True when the operation ran directly rather than on async-graphql's executor.
    pub fn ran_directly(&self) -> bool {
        self.direct
    }

    /// True when the operation never started (parse or validation failure, bad variables):
    /// the response then has no `data` entry.
    pub fn is_request_error(&self) -> bool {
        self.request_error
    }

    /// Adds `extensions.upstream`: the HTTP request's upstream calls, loader batches, cache
    /// hits, coalesced lookups, whether anything was stale, and summed upstream time.
    pub fn add_upstream_trace(&mut self, stats: &RequestStats) {
        let millis = stats.upstream_time().as_secs_f64() * 1000.0;
        let upstream_ms = (millis * 1000.0).round() / 1000.0;
        // Alphabetical: the order these keys have always had on the wire.
        let trace = async_graphql::Value::Object(
            [
                ("batches", stats.batches().into()),
                ("cache_hits", stats.cache_hits().into()),
                ("calls", stats.calls().into()),
                ("coalesced", stats.coalesced().into()),
                ("stale", stats.stale().into()),
                ("upstream_ms", upstream_ms.into()),
            ]
            .into_iter()
            .map(|(key, value)| (Name::new(key), value))
            .collect(),
        );
        self.inner.extensions.insert("upstream".into(), trace);
    }
}

impl Serialize for Response {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if !self.inner.errors.is_empty() {
            map.serialize_entry("errors", &self.inner.errors)?;
        }
        if !self.request_error {
            map.serialize_entry("data", &self.inner.data)?;
        }
        if !self.inner.extensions.is_empty() {
            map.serialize_entry("extensions", &self.inner.extensions)?;
        }
        map.end()
    }
}

impl Response {
    /// Marks a response whose data was not all fresh: `extensions.stale: true`, and
    /// `extensions.age`, the oldest answer's age in whole seconds, rounded up.
    pub fn mark_stale(&mut self, oldest: Option<std::time::Duration>) {
        let extensions = &mut self.inner.extensions;
        extensions.insert("stale".into(), async_graphql::Value::Boolean(true));
        if let Some(oldest) = oldest {
            let seconds = oldest.as_millis().div_ceil(1000);
            let seconds = u64::try_from(seconds).unwrap_or(u64::MAX);
            extensions.insert("age".into(), async_graphql::Value::from(seconds));
        }
    }
}

/// A response for a whole request rejected before running, e.g. a batch naming too many ids.
pub fn rejection(code: &'static str, message: String) -> Response {
    request_error(vec![ServerError::new(message, None)], code)
}

/// A response for an operation that never ran, each error coded unless it already is.
pub(super) fn request_error(mut errors: Vec<ServerError>, default_code: &'static str) -> Response {
    for error in &mut errors {
        let extensions = error
            .extensions
            .get_or_insert_with(ErrorExtensionValues::default);
        if extensions.get("code").is_none() {
            extensions.set("code", default_code);
        }
    }
    Response {
        inner: async_graphql::Response::from_errors(errors),
        request_error: true,
        direct: false,
    }
}
