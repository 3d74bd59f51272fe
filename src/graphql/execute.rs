//! Running one GraphQL operation for the HTTP layer.

use std::{
    collections::{HashMap, HashSet},
    num::NonZeroUsize,
    sync::{Arc, Mutex, OnceLock},
};

use lru::LruCache;

use async_graphql::{
    ErrorExtensionValues, ServerError, ValidationResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation},
    parser::types::{DocumentOperations, ExecutableDocument, OperationType},
};
use serde::{Serialize, ser::SerializeMap};

use super::{AppSchema, Upstream, direct, document, limits, order::Plan};
use crate::{auth::Principal, config::OperationLimits, error::code, upstream::RequestStats};

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

/// What an operation is checked against before it runs, and the parsed-document cache.
pub struct Policy {
    /// Parsed documents by query text, so a repeated query is not parsed again.
    pub documents: DocumentCache,
    /// Size, depth, alias, root-field, complexity and id limits.
    pub limits: OperationLimits,
    /// Whether introspection is allowed.
    pub introspection: bool,
}

/// Longest query text the document cache keeps (its worst case stays a few MB).
const MAX_CACHED_QUERY_BYTES: usize = 4 * 1024;

/// A bounded LRU of parsed documents keyed by query text. Clients send the same few query
/// texts over and over; parsing them was the largest cost per request, and validating them
/// the next (BENCHMARKS.md, tries 1 and 5). Parse errors are not cached.
pub struct DocumentCache(Option<Mutex<LruCache<String, Arc<CachedDocument>>>>);

/// A parsed document, and what is known about running its operations without variables.
struct CachedDocument {
    doc: Arc<ExecutableDocument>,
    /// Per operation name.
    operations: Mutex<HashMap<Option<String>, Arc<OperationMemo>>>,
}

/// What running one operation of a cached document **without variables** always gives, so
/// it is worked out once. Each result depends only on the schema and the server's limits
/// (fixed for the process), the document, the operation and the variable values; operations
/// run with variables work everything out every time, since their values are part of it.
/// Only the direct-execution plan and `passed` serve runs with variables too.
#[derive(Default)]
struct OperationMemo {
    /// Set once async-graphql's validation has passed for the operation, with or without
    /// variables: the document's own rules hold, and only variable values can still fail.
    passed: OnceLock<()>,
    /// async-graphql's validation, filled only once it has passed (failures are validated
    /// again each time).
    validation: OnceLock<ValidationResult>,
    /// The limit checks: the distinct customer ids named, or the limit exceeded.
    limits: OnceLock<Result<Arc<HashSet<String>>, limits::Exceeded>>,
    /// The response-order plan.
    order: OnceLock<Arc<Plan>>,
    /// The direct-execution plan, when the operation has the shape it runs; compiled only
    /// once async-graphql has validated the operation.
    direct: OnceLock<Option<Arc<direct::Plan>>>,
}

impl DocumentCache {
    /// A cache for `entries` documents (0: no cache).
    pub fn new(entries: usize) -> Self {
        Self(NonZeroUsize::new(entries).map(|n| Mutex::new(LruCache::new(n))))
    }

    /// The cache entry for exactly this query text, if there is one.
    fn lookup(&self, query: &str) -> Option<Arc<CachedDocument>> {
        let cache = self.0.as_ref()?;
        cache
            .lock()
            .expect("document cache lock")
            .get(query)
            .cloned()
    }

    /// The parsed document and, when it is cached, its cache entry.
    fn parse_cached(
        &self,
        query: &str,
    ) -> Result<(Arc<ExecutableDocument>, Option<Arc<CachedDocument>>), ServerError> {
        let cache = match &self.0 {
            // Large documents are rare and would crowd out the common ones.
            Some(cache) if query.len() <= MAX_CACHED_QUERY_BYTES => cache,
            _ => return Ok((Arc::new(async_graphql::parser::parse_query(query)?), None)),
        };
        if let Some(entry) = cache.lock().expect("document cache lock").get(query) {
            return Ok((entry.doc.clone(), Some(entry.clone())));
        }
        let entry = Arc::new(CachedDocument {
            doc: Arc::new(async_graphql::parser::parse_query(query)?),
            operations: Mutex::default(),
        });
        cache
            .lock()
            .expect("document cache lock")
            .put(query.to_owned(), entry.clone());
        Ok((entry.doc.clone(), Some(entry)))
    }
}

impl CachedDocument {
    /// The memo of an operation the document has (the caller checks that it exists, so
    /// clients cannot grow the map with made-up names).
    fn memo(&self, operation_name: Option<&str>) -> Arc<OperationMemo> {
        let mut operations = self.operations.lock().expect("operation memo lock");
        operations
            .entry(operation_name.map(str::to_owned))
            .or_default()
            .clone()
    }
}

/// Request data telling [`ValidationMemo`] where this operation's validation is remembered,
/// and whether this run may reuse it (only without variables).
struct RememberValidation {
    memo: Arc<OperationMemo>,
    reuse: bool,
}

/// An async-graphql extension: answers validation from the document cache when the same
/// operation of the same document, without variables, passed validation before; otherwise
/// validates and, on success, remembers the result (without variables) and that the
/// operation passed (either way; direct execution waits for it). Failures are never
/// remembered.
pub(crate) struct ValidationMemo;

impl ExtensionFactory for ValidationMemo {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ValidationMemo)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ValidationMemo {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let Some(RememberValidation { memo, reuse }) = ctx.data_opt::<RememberValidation>() else {
            return next.run(ctx).await;
        };
        if *reuse && let Some(result) = memo.validation.get() {
            return Ok(*result);
        }
        let result = next.run(ctx).await?;
        let _ = memo.passed.set(());
        if *reuse {
            let _ = memo.validation.set(result);
        }
        Ok(result)
    }
}

/// An operation that passed its checks and is ready to run.
pub struct Prepared {
    query: String,
    doc: Arc<ExecutableDocument>,
    variables: Variables,
    operation_name: Option<String>,
    customer_ids: Arc<HashSet<String>>,
    /// Set when the operation comes from a cached document.
    memo: Option<Arc<OperationMemo>>,
    /// Set when the operation can be run directly (`super::direct`).
    direct: Option<Arc<direct::Plan>>,
}

impl Prepared {
    /// The name of the operation that will run: as written in the document, else as given.
    pub fn operation_name(&self) -> Option<String> {
        document::selected(&self.doc, self.operation_name.as_deref())
            .and(self.operation_name.clone())
            .or_else(|| match &self.doc.operations {
                async_graphql::parser::types::DocumentOperations::Multiple(ops)
                    if ops.len() == 1 =>
                {
                    ops.keys().next().map(|name| name.to_string())
                }
                _ => None,
            })
    }

    /// The distinct customer ids the operation names as arguments.
    pub fn customer_ids(&self) -> &HashSet<String> {
        &self.customer_ids
    }

    /// The operation as an async-graphql request (taking the query text), with the cached
    /// document and, without variables, where its validation is remembered.
    fn take_request(&mut self) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(std::mem::take(&mut self.query))
            .variables(self.variables.clone());
        if let Some(name) = &self.operation_name {
            request = request.operation_name(name);
        }
        request.set_parsed_query(ExecutableDocument::clone(&self.doc));
        if let Some(memo) = &self.memo {
            request = request.data(RememberValidation {
                memo: memo.clone(),
                reuse: self.variables.is_empty(),
            });
        }
        request
    }
}

/// The result of [`prepare`].
pub enum Checked {
    /// Ready to [`run`].
    Ready(Box<Prepared>),
    /// Rejected before running (parse error, a limit exceeded): answer this response.
    Rejected(Box<Response>),
    /// The selected operation is a mutation or subscription, and only queries were allowed
    /// (an HTTP GET).
    NotAQuery,
}

/// A GraphQL response, serialised as `{errors?, data?, extensions?}`.
pub struct Response {
    inner: async_graphql::Response,
    request_error: bool,
    direct: bool,
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
        let trace = async_graphql::Value::from_json(serde_json::json!({
            "calls": stats.calls(),
            "batches": stats.batches(),
            "cache_hits": stats.cache_hits(),
            "coalesced": stats.coalesced(),
            "stale": stats.stale(),
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

/// Parses the operation and checks every operation limit, without running anything.
/// With `queries_only`, mutations and subscriptions are refused.
pub fn prepare(operation: Operation, policy: &Policy, queries_only: bool) -> Checked {
    let limits = &policy.limits;
    let rejected = |code: &'static str, message: String| {
        let error = ServerError::new(message, None);
        Checked::Rejected(Box::new(request_error(vec![error], code)))
    };
    let (doc, cached) = match policy.documents.lookup(&operation.query) {
        // Only text that passed the size and token checks is ever parsed and cached.
        Some(entry) => (entry.doc.clone(), Some(entry)),
        None => {
            if let Err(e) = limits::check_text(&operation.query, limits) {
                return rejected(e.code, e.message);
            }
            match policy.documents.parse_cached(&operation.query) {
                Ok(parsed) => parsed,
                Err(error) => {
                    return Checked::Rejected(Box::new(request_error(
                        vec![error],
                        code::GRAPHQL_PARSE_FAILED,
                    )));
                }
            }
        }
    };
    let variables = Variables::from_json(serde_json::Value::Object(
        operation.variables.unwrap_or_default(),
    ));
    let mut customer_ids = Arc::default();
    let selected = document::selected(&doc, operation.operation_name.as_deref());
    let memo = match (&cached, selected) {
        (Some(cached), Some(_)) => Some(cached.memo(operation.operation_name.as_deref())),
        _ => None,
    };
    // What only runs without variables may take from the memo.
    let constant = memo.as_ref().filter(|_| variables.is_empty());
    if let Some(op) = selected {
        if queries_only && op.ty != OperationType::Query {
            return Checked::NotAQuery;
        }
        let check = || {
            limits::check_operation(&doc, op, &variables, limits, policy.introspection)
                .map(Arc::new)
        };
        let checked = match constant {
            Some(memo) => memo.limits.get_or_init(check).clone(),
            None => check(),
        };
        match checked {
            Ok(ids) => customer_ids = ids,
            Err(e) => return rejected(e.code, e.message),
        }
    }
    // async-graphql refuses a name given for a document's one anonymous operation, after
    // validating it: such a request never runs directly.
    let named_anonymous = matches!(
        (&doc.operations, &operation.operation_name),
        (DocumentOperations::Single(_), Some(_))
    );
    let direct = match (&memo, selected) {
        (Some(memo), Some(op)) if memo.passed.get().is_some() && !named_anonymous => memo
            .direct
            .get_or_init(|| direct::Plan::compile(op).map(Arc::new))
            .clone(),
        _ => None,
    };
    Checked::Ready(Box::new(Prepared {
        query: operation.query,
        doc,
        variables,
        operation_name: operation.operation_name,
        customer_ids,
        memo,
        direct,
    }))
}

/// Runs a prepared operation with the request's [`Upstream`] and caller, and returns the
/// response with its fields in query order.
pub async fn run(
    schema: &AppSchema,
    upstream: &Arc<Upstream>,
    principal: &Principal,
    mut prepared: Prepared,
) -> Response {
    if let Some(plan) = &prepared.direct
        && let Some(data) = plan.run(upstream, principal, &prepared.variables).await
    {
        return Response {
            inner: async_graphql::Response::new(data),
            request_error: false,
            direct: true,
        };
    }
    let request = prepared
        .take_request()
        .data(Arc::clone(upstream))
        .data(principal.clone());
    let Prepared {
        doc,
        variables,
        operation_name,
        memo,
        ..
    } = prepared;
    // Boxed: async-graphql's execution future is a few KB, and every layer above (the
    // request timeout, the handler, axum's boxing) would otherwise move a copy of it.
    let mut response = Box::pin(schema.execute(request)).await;
    let is_request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    if is_request_error {
        return request_error(response.errors, code::GRAPHQL_VALIDATION_FAILED);
    }
    if let Some(op) = document::selected(&doc, operation_name.as_deref()) {
        // Only a validated operation gets here: its fragments have no cycles.
        let plan = || Arc::new(Plan::new(&doc, op, &variables));
        let plan = match memo.as_ref().filter(|_| variables.is_empty()) {
            Some(memo) => memo.order.get_or_init(plan).clone(),
            None => plan(),
        };
        plan.restore(&mut response.data);
    }
    Response {
        inner: response,
        request_error: false,
        direct: false,
    }
}

/// Marks a response whose data came partly from stale cache (`extensions.stale: true`).
impl Response {
    pub fn mark_stale(&mut self) {
        self.inner
            .extensions
            .insert("stale".into(), async_graphql::Value::Boolean(true));
    }
}

/// A response for a whole request rejected before running, e.g. a batch naming too many ids.
pub fn rejection(code: &'static str, message: String) -> Response {
    request_error(vec![ServerError::new(message, None)], code)
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
        direct: false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{Checked, DocumentCache, MAX_CACHED_QUERY_BYTES, Operation, Policy, prepare};
    use crate::config::{Exposure, OperationLimits};

    #[test]
    fn a_repeated_query_is_parsed_once_and_errors_and_big_documents_are_not_kept() {
        let cache = DocumentCache::new(2);
        let parse = |q: &str| cache.parse_cached(q).map(|(doc, _)| doc);
        let first = parse("{ customer_count }").unwrap();
        let again = parse("{ customer_count }").unwrap();
        assert!(Arc::ptr_eq(&first, &again));

        assert!(parse("{ customer(").is_err());
        assert!(
            parse("{ customer(").is_err(),
            "errors are parsed again, not cached"
        );

        let big = format!(
            "{{ customer_count }} #{}",
            "x".repeat(MAX_CACHED_QUERY_BYTES)
        );
        let one = parse(&big).unwrap();
        let two = parse(&big).unwrap();
        assert!(!Arc::ptr_eq(&one, &two));
    }

    /// Prepares and executes `query` (which needs no upstream) and returns whether its
    /// validation is now remembered, and the error messages.
    async fn execute(policy: &Policy, query: &str, variables: bool) -> (bool, Vec<String>) {
        let schema = crate::graphql::schema(&Exposure::default());
        let operation = Operation {
            query: query.into(),
            variables: variables.then(|| serde_json::from_str(r#"{"x": true}"#).unwrap()),
            ..Operation::default()
        };
        let Checked::Ready(mut prepared) = prepare(operation, policy, false) else {
            panic!("rejected before running");
        };
        let response = schema.execute(prepared.take_request()).await;
        let (_, cached) = policy.documents.parse_cached(query).unwrap();
        let remembered = cached
            .unwrap()
            .operations
            .lock()
            .unwrap()
            .get(&None)
            .is_some_and(|memo| memo.validation.get().is_some());
        let errors = response.errors.into_iter().map(|e| e.message).collect();
        (remembered, errors)
    }

    #[test]
    fn limit_checks_are_remembered_per_operation_with_their_outcome() {
        let policy = Policy {
            documents: DocumentCache::new(8),
            limits: OperationLimits {
                max_aliases: 1,
                ..OperationLimits::default()
            },
            introspection: false,
        };
        let prepare = |query: &str| {
            let operation = Operation {
                query: query.into(),
                ..Operation::default()
            };
            prepare(operation, &policy, false)
        };
        let remembered = |query: &str| {
            let (_, cached) = policy.documents.parse_cached(query).unwrap();
            let cached = cached.unwrap();
            let operations = cached.operations.lock().unwrap();
            operations.get(&None).map(|memo| match memo.limits.get() {
                Some(Ok(ids)) => format!("ok {}", ids.len()),
                Some(Err(e)) => e.code.to_owned(),
                None => "nothing".to_owned(),
            })
        };
        let within = r#"{ a: customer(id: "1") { name } customer(id: "2") { name } }"#;
        let beyond = "{ a: customer_count b: customer_count }";

        for _ in 0..2 {
            assert!(matches!(prepare(within), Checked::Ready(_)));
            assert!(matches!(prepare(beyond), Checked::Rejected(_)));
        }

        assert_eq!(remembered(within).as_deref(), Some("ok 2"));
        assert_eq!(remembered(beyond).as_deref(), Some("TOO_MANY_ALIASES"));
    }

    #[tokio::test]
    async fn validation_is_remembered_only_for_valid_operations_without_variables() {
        let policy = Policy {
            documents: DocumentCache::new(8),
            limits: OperationLimits::default(),
            introspection: false,
        };

        let valid = execute(&policy, "{ __typename }", false).await;
        let valid_again = execute(&policy, "{ __typename }", false).await;
        let invalid = execute(&policy, "{ no_such_field }", false).await;
        let invalid_again = execute(&policy, "{ no_such_field }", false).await;
        let with_variables = execute(
            &policy,
            "query($x: Boolean!) { __typename @include(if: $x) }",
            true,
        )
        .await;

        assert_eq!(valid, (true, vec![]));
        assert_eq!(valid_again, (true, vec![]));
        assert!(!invalid.0 && !invalid.1.is_empty(), "{invalid:?}");
        assert_eq!(
            invalid_again, invalid,
            "a failure is validated again, not remembered"
        );
        assert!(!with_variables.0, "{with_variables:?}");
    }
}
