//! Running one GraphQL operation for the HTTP layer.

use std::sync::Arc;

use async_graphql::{ErrorExtensionValues, ServerError, Variables, parser::types::OperationType};
use serde::{Serialize, ser::SerializeMap};

use super::{AppSchema, Upstream, UpstreamStats, order::Ordering};
use crate::{auth::Principal, error::code};

/// One GraphQL operation as the client sent it.
#[derive(Default)]
pub struct Operation {
    /// The GraphQL document.
    pub query: String,
    /// Which operation of the document to run.
    pub operation_name: Option<String>,
    /// Variable values (a JSON object).
    pub variables: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The result of [`execute`].
pub enum Executed {
    /// The operation ran, or failed to parse or validate.
    Response(Box<Response>),
    /// The selected operation is a mutation or subscription, and only queries were allowed
    /// (an HTTP GET).
    NotAQuery,
}

/// A GraphQL response, serialised as `{errors?, data?, extensions?}`.
pub struct Response {
    inner: async_graphql::Response,
    request_error: bool,
}

impl Response {
    /// True when the operation never started (parse or validation failure, bad variables):
    /// the response then has no `data` entry.
    pub fn is_request_error(&self) -> bool {
        self.request_error
    }

    /// Adds `extensions.upstream`: the HTTP request's upstream calls, loader batches and
    /// summed upstream time.
    pub fn add_upstream_trace(&mut self, stats: &UpstreamStats) {
        let millis = stats.upstream_time().as_secs_f64() * 1000.0;
        let trace = async_graphql::Value::from_json(serde_json::json!({
            "calls": stats.calls(),
            "batches": stats.batches(),
            "upstream_ms": (millis * 1000.0).round() / 1000.0,
        }))
        .expect("plain JSON converts");
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

/// Runs one operation with the request's [`Upstream`] and returns it with its fields in
/// query order. With `queries_only`, mutations and subscriptions are refused unexecuted.
pub async fn execute(
    schema: &AppSchema,
    upstream: &Arc<Upstream>,
    principal: &Principal,
    operation: Operation,
    queries_only: bool,
) -> Executed {
    let variables = Variables::from_json(serde_json::Value::Object(
        operation.variables.unwrap_or_default(),
    ));
    let mut request = async_graphql::Request::new(operation.query).variables(variables.clone());
    if let Some(name) = &operation.operation_name {
        request = request.operation_name(name);
    }
    let doc = match request.parsed_query() {
        Ok(doc) => doc.clone(),
        Err(error) => {
            return Executed::Response(Box::new(request_error(
                vec![error],
                code::GRAPHQL_PARSE_FAILED,
            )));
        }
    };
    let selected = match (&doc.operations, &operation.operation_name) {
        (async_graphql::parser::types::DocumentOperations::Single(op), _) => Some(&op.node),
        (async_graphql::parser::types::DocumentOperations::Multiple(ops), Some(name)) => {
            ops.get(name.as_str()).map(|op| &op.node)
        }
        (async_graphql::parser::types::DocumentOperations::Multiple(ops), None)
            if ops.len() == 1 =>
        {
            ops.values().next().map(|op| &op.node)
        }
        _ => None,
    };
    if queries_only && selected.is_some_and(|op| op.ty != OperationType::Query) {
        return Executed::NotAQuery;
    }

    let request = request.data(Arc::clone(upstream)).data(principal.clone());
    let mut response = schema.execute(request).await;
    let is_request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    if is_request_error {
        return Executed::Response(Box::new(request_error(
            response.errors,
            code::GRAPHQL_VALIDATION_FAILED,
        )));
    }
    if let Some(op) = selected {
        Ordering::new(&doc, op, &variables).restore(&mut response.data);
    }
    Executed::Response(Box::new(Response {
        inner: response,
        request_error: false,
    }))
}

/// A response for an operation that never ran, each error coded unless it already is.
fn request_error(mut errors: Vec<ServerError>, default_code: &'static str) -> Response {
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
    }
}
