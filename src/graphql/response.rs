//! A GraphQL response as the facade sends it: `{errors?, data?, extensions?}`, with the
//! extensions the pipeline adds (staleness, the upstream trace).

use async_graphql::{ErrorExtensionValues, Name, ServerError};
use serde::{Serialize, ser::SerializeMap};

use crate::upstream::RequestStats;

/// A GraphQL response, serialised as `{errors?, data?, extensions?}`.
pub struct Response {
    inner: async_graphql::Response,
    /// `data` already written as JSON (by the direct executor), which `inner` then lacks.
    rendered: Option<Vec<u8>>,
    request_error: bool,
}

impl Response {
    /// An answer async-graphql executed.
    pub(super) fn executed(inner: async_graphql::Response) -> Self {
        Self {
            inner,
            rendered: None,
            request_error: false,
        }
    }

    /// An answer the direct executor wrote: its `data` object as JSON.
    pub(super) fn direct(data: Vec<u8>) -> Self {
        Self {
            inner: async_graphql::Response::default(),
            rendered: Some(data),
            request_error: false,
        }
    }

    /// Appends the response as JSON to `out`: the same bytes as serialising it, with
    /// directly written data copied in as it is.
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let Some(data) = &self.rendered else {
            return serde_json::to_writer(out, &Executed(self));
        };
        // A direct answer has no errors.
        out.extend_from_slice(b"{\"data\":");
        out.extend_from_slice(data);
        if !self.inner.extensions.is_empty() {
            out.extend_from_slice(b",\"extensions\":");
            serde_json::to_writer(&mut *out, &self.inner.extensions)?;
        }
        out.push(b'}');
        Ok(())
    }

    /// True when the operation ran directly rather than on async-graphql's executor.
    pub fn ran_directly(&self) -> bool {
        self.rendered.is_some()
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

/// An answer async-graphql gave (or a request error), serialised from its parts.
struct Executed<'a>(&'a Response);

impl Serialize for Executed<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let response = self.0;
        let mut map = serializer.serialize_map(None)?;
        if !response.inner.errors.is_empty() {
            map.serialize_entry("errors", &response.inner.errors)?;
        }
        if !response.request_error {
            map.serialize_entry("data", &response.inner.data)?;
        }
        if !response.inner.extensions.is_empty() {
            map.serialize_entry("extensions", &response.inner.extensions)?;
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
        rendered: None,
        request_error: true,
    }
}
