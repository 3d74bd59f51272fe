//! Running one GraphQL operation for the HTTP layer.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, OnceLock},
};

use lru::LruCache;

use async_graphql::{
    ErrorExtensionValues, Name, ServerError, ValidationResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation},
    parser::types::{DocumentOperations, ExecutableDocument, OperationType},
};
use serde::{Serialize, ser::SerializeMap};

use super::{
    AppSchema, Upstream, direct, document,
    limits::{self, OperationLimits},
    sentinel,
    shape::Plan,
};
use crate::{auth::Principal, error::code, upstream::RequestStats};

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

/// Parsed bytes of the document cache per unit of [`DocumentCache::new`]'s capacity: a
/// typical operation parses to 2–4 KiB, a dense 4 KiB document to about 400 KiB.
const CACHE_BYTES_PER_ENTRY: usize = 32 * 1024;

/// Estimated bytes per lexical token of a parsed document (measured on async-graphql's
/// parser: 100 for list items and fragment spreads, 210–260 for fields and nesting).
const PARSED_BYTES_PER_TOKEN: usize = 256;

/// Estimated bytes a memo holds per field of its operation: the response-shape plan and the
/// direct-execution plan each keep a few words per field.
const MEMO_BYTES_PER_FIELD: usize = 128;

/// An LRU of parsed documents keyed by query text, bounded by bytes. Clients send the same
/// few query texts over and over; parsing them was the largest cost per request, and
/// validating them the next (BENCHMARKS.md, tries 1 and 5). Only documents whose selected
/// operation passed the limits are kept; each entry is weighed by its text, its parsed form
/// (estimated from its tokens) and its operation memos (estimated from their fields), and
/// one entry may take at most a sixteenth of the budget.
pub struct DocumentCache(Option<Mutex<Documents>>);

struct Documents {
    /// Each entry with its weight in bytes.
    entries: LruCache<String, (Arc<CachedDocument>, usize)>,
    /// The sum of the weights.
    bytes: usize,
    budget: usize,
}

/// A parsed document, and what is known about running its operations.
struct CachedDocument {
    doc: Arc<ExecutableDocument>,
    /// Per operation of the document, by its own name (`None` for an anonymous one), never
    /// by the name a client sent: the map is bounded by the document. Only operations that
    /// passed the limits have one.
    operations: Mutex<HashMap<Option<Name>, Arc<OperationMemo>>>,
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
    /// What the operation may cost, once it passed the limits without variables (an
    /// operation over a limit gets no memo).
    limits: OnceLock<Arc<limits::Footprint>>,
    /// The response-order plan.
    order: OnceLock<Arc<Plan>>,
    /// The direct-execution plan, when the operation has the shape it runs; compiled only
    /// once async-graphql has validated the operation.
    direct: OnceLock<Option<Arc<direct::Plan>>>,
}

impl DocumentCache {
    /// A cache of `entries` × 32 KiB (0: no cache); 256 gives 8 MiB.
    pub fn new(entries: usize) -> Self {
        Self::with_budget(entries.saturating_mul(CACHE_BYTES_PER_ENTRY))
    }

    /// A cache of at most `budget` bytes, as estimated (0: no cache).
    pub fn with_budget(budget: usize) -> Self {
        Self((budget > 0).then(|| {
            Mutex::new(Documents {
                entries: LruCache::unbounded(),
                bytes: 0,
                budget,
            })
        }))
    }

    fn documents(&self) -> Option<std::sync::MutexGuard<'_, Documents>> {
        // A panic while the lock was held leaves the cache consistent enough to keep using.
        let cache = self.0.as_ref()?;
        Some(
            cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The cache entry for exactly this query text, if there is one.
    fn lookup(&self, query: &str) -> Option<Arc<CachedDocument>> {
        let mut documents = self.documents()?;
        documents.entries.get(query).map(|(entry, _)| entry.clone())
    }

    /// The memo of an operation that passed the limits, keeping its document (the cached
    /// entry for this text, or a new one for `doc`) and charging the memo's estimated size
    /// to it. `None` when the cache is off or the entry would be too heavy to keep.
    fn remember(
        &self,
        query: &str,
        doc: &Arc<ExecutableDocument>,
        name: Option<&Name>,
        footprint: &limits::Footprint,
    ) -> Option<Arc<OperationMemo>> {
        let mut documents = self.documents()?;
        let max_entry = documents.budget / 16;
        let (entry, mut weight) = match documents.entries.peek(query) {
            Some((entry, weight)) => (entry.clone(), *weight),
            None => {
                let tokens = limits::count_tokens(query, usize::MAX);
                let parsed = tokens.saturating_mul(PARSED_BYTES_PER_TOKEN);
                let entry = Arc::new(CachedDocument {
                    doc: doc.clone(),
                    operations: Mutex::default(),
                });
                (entry, query.len().saturating_add(parsed))
            }
        };
        let memo = {
            let mut operations = entry
                .operations
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(memo) = operations.get(&name.cloned()) {
                return Some(memo.clone());
            }
            let ids: usize = footprint
                .ids
                .iter()
                .map(|id| id.len().saturating_add(64))
                .sum();
            let memo_weight = footprint
                .fields
                .saturating_mul(MEMO_BYTES_PER_FIELD)
                .saturating_add(ids)
                .saturating_add(size_of::<OperationMemo>());
            weight = weight.saturating_add(memo_weight);
            if weight > max_entry {
                return None;
            }
            let memo = Arc::new(OperationMemo::default());
            operations.insert(name.cloned(), memo.clone());
            memo
        };
        let old = documents.entries.put(query.to_owned(), (entry, weight));
        let old_weight = old.map_or(0, |(_, w)| w);
        documents.bytes = documents
            .bytes
            .saturating_sub(old_weight)
            .saturating_add(weight);
        while documents.bytes > documents.budget {
            let Some((_, (_, evicted))) = documents.entries.pop_lru() else {
                break;
            };
            documents.bytes = documents.bytes.saturating_sub(evicted);
        }
        Some(memo)
    }

    /// Entries and their estimated bytes.
    #[cfg(test)]
    fn usage(&self) -> (usize, usize) {
        self.documents()
            .map_or((0, 0), |d| (d.entries.len(), d.bytes))
    }
}

impl CachedDocument {
    /// The memo of one of the document's operations, by its own name, if it has one.
    fn memo(&self, name: Option<&Name>) -> Option<Arc<OperationMemo>> {
        let operations = self
            .operations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        operations.get(&name.cloned()).cloned()
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
    /// What the operation may cost upstream (empty when no operation is selected).
    footprint: Arc<limits::Footprint>,
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
        &self.footprint.ids
    }

    /// Whether the operation reads Bloc's customer list (one call per HTTP request).
    pub fn reads_list(&self) -> bool {
        self.footprint.lists
    }

    /// The most Bloc calls the operation can make on its own: its distinct ids, and one
    /// when it reads the list.
    pub fn upstream_calls(&self) -> usize {
        self.footprint.calls()
    }

    /// The operation as an async-graphql request (taking the query text), with the cached
    /// document and, without variables, where its validation is remembered.
    fn take_request(&mut self) -> async_graphql::Request {
        // async-graphql evaluates `@skip`/`@include` on the given values only, so a variable
        // left to its default would count as `false`: give it the default, as the spec's
        // variable coercion does.
        let mut variables = self.variables.clone();
        if let Some(op) = document::selected(&self.doc, self.operation_name.as_deref()) {
            document::fill_defaults(op, &mut variables);
        }
        let mut request =
            async_graphql::Request::new(std::mem::take(&mut self.query)).variables(variables);
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

impl Checked {
    /// The name of the operation that will run, as written in the document.
    pub fn operation_name(&self) -> Option<String> {
        match self {
            Checked::Ready(prepared) => prepared.operation_name(),
            _ => None,
        }
    }
}

/// The Bloc calls a request's checked operations may make together (their distinct ids, and
/// one for the list if any reads it), or the rejection of the whole request when those ids
/// are more than the limit allows.
pub fn upstream_calls(
    checked: &[Checked],
    limits: &OperationLimits,
) -> Result<usize, Box<Response>> {
    let ready = || {
        checked.iter().filter_map(|c| match c {
            Checked::Ready(prepared) => Some(prepared),
            _ => None,
        })
    };
    let ids: HashSet<&String> = ready().flat_map(|p| p.customer_ids()).collect();
    if let Err(exceeded) = limits::check_ids(ids.len(), limits) {
        return Err(Box::new(rejection(exceeded.code, exceeded.message)));
    }
    let lists = ready().any(|p| p.reads_list());
    Ok(ids.len().saturating_add(usize::from(lists)))
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

/// Parses the operation and checks every operation limit, without running anything.
/// With `queries_only`, mutations and subscriptions are refused. A document is cached only
/// once an operation of it passed the limits.
pub fn prepare(operation: Operation, policy: &Policy, queries_only: bool) -> Checked {
    let limits = &policy.limits;
    let rejected = |code: &'static str, message: String| {
        let error = ServerError::new(message, None);
        Checked::Rejected(Box::new(request_error(vec![error], code)))
    };
    let cached = policy.documents.lookup(&operation.query);
    let doc = match &cached {
        Some(entry) => entry.doc.clone(),
        None => {
            if let Err(e) = limits::check_text(&operation.query, limits) {
                return rejected(e.code, e.message);
            }
            match async_graphql::parser::parse_query(&operation.query) {
                Ok(doc) => Arc::new(doc),
                Err(error) => {
                    return Checked::Rejected(Box::new(request_error(
                        vec![error.into()],
                        code::GRAPHQL_PARSE_FAILED,
                    )));
                }
            }
        }
    };
    let variables = Variables::from_json(serde_json::Value::Object(
        operation.variables.unwrap_or_default(),
    ));
    let selected = document::selected_named(&doc, operation.operation_name.as_deref());
    let mut footprint = Arc::default();
    let mut memo = None;
    if let Some((name, op)) = selected {
        if queries_only && op.ty != OperationType::Query {
            return Checked::NotAQuery;
        }
        // The spec coerces variables before anything runs; async-graphql would instead run
        // the operation and fail only the fields that read a missing one.
        if let Some(message) = document::missing_variable(op, &variables) {
            return rejected(code::GRAPHQL_VALIDATION_FAILED, message);
        }
        let known = cached.as_ref().and_then(|entry| entry.memo(name));
        // Without variables, the limits' outcome is the memo's; with them, it is worked out.
        let remembered = known
            .as_ref()
            .filter(|_| variables.is_empty())
            .and_then(|memo| memo.limits.get().cloned());
        footprint = match remembered {
            Some(footprint) => footprint,
            None => {
                match limits::check_operation(&doc, op, &variables, limits, policy.introspection) {
                    Ok(footprint) => Arc::new(footprint),
                    Err(e) => return rejected(e.code, e.message),
                }
            }
        };
        memo = known.or_else(|| {
            policy
                .documents
                .remember(&operation.query, &doc, name, &footprint)
        });
        if let Some(memo) = memo.as_ref().filter(|_| variables.is_empty()) {
            let _ = memo.limits.set(footprint.clone());
        }
    }
    // async-graphql refuses a name given for a document's one anonymous operation, after
    // validating it: such a request never runs directly.
    let named_anonymous = matches!(
        (&doc.operations, &operation.operation_name),
        (DocumentOperations::Single(_), Some(_))
    );
    let direct = match (&memo, selected) {
        (Some(memo), Some((_, op))) if memo.passed.get().is_some() && !named_anonymous => memo
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
        footprint,
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
    // Selection sets that may select nothing get a sentinel field, so that async-graphql
    // leaves their objects as objects (`shape`).
    if let Some(patched) = sentinel::with_sentinels(&prepared.doc) {
        prepared.doc = patched;
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
        plan.complete(&mut response.data, &mut response.errors);
    }
    Response {
        inner: response,
        request_error: false,
        direct: false,
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

    use super::{Checked, DocumentCache, Operation, Policy, prepare};
    use crate::graphql::OperationLimits;

    fn policy(documents: DocumentCache) -> Policy {
        Policy {
            documents,
            limits: OperationLimits::default(),
            introspection: false,
        }
    }

    fn check(policy: &Policy, query: &str, name: Option<&str>) -> Checked {
        let operation = Operation {
            query: query.into(),
            operation_name: name.map(str::to_owned),
            ..Operation::default()
        };
        prepare(operation, policy, false)
    }

    #[test]
    fn a_repeated_query_is_parsed_once_and_parse_errors_are_not_kept() {
        let policy = policy(DocumentCache::new(2));
        assert!(matches!(
            check(&policy, "{ customer_count }", None),
            Checked::Ready(_)
        ));
        let first = policy.documents.lookup("{ customer_count }").unwrap();
        assert!(matches!(
            check(&policy, "{ customer_count }", None),
            Checked::Ready(_)
        ));
        let again = policy.documents.lookup("{ customer_count }").unwrap();
        assert!(Arc::ptr_eq(&first.doc, &again.doc));

        assert!(matches!(
            check(&policy, "{ customer(", None),
            Checked::Rejected(_)
        ));
        assert!(policy.documents.lookup("{ customer(").is_none());
        assert_eq!(policy.documents.usage().0, 1);
    }

    #[test]
    fn documents_over_a_limit_are_never_kept() {
        let policy = Policy {
            limits: OperationLimits {
                max_aliases: 1,
                ..OperationLimits::default()
            },
            ..policy(DocumentCache::new(256))
        };
        for n in 0..50 {
            let aliases = format!("{{ a{n}: customer_count b: customer_count }}");
            let deep = format!(
                "{{ customer(id: \"{n}\") {{ {} name {} }} }}",
                "address { ".repeat(9),
                "}".repeat(9)
            );
            for query in [aliases, deep] {
                assert!(
                    matches!(check(&policy, &query, None), Checked::Rejected(_)),
                    "{query}"
                );
            }
        }
        assert_eq!(policy.documents.usage(), (0, 0));
    }

    #[test]
    fn the_document_cache_stays_within_its_byte_budget() {
        let budget = 1024 * 1024;
        let policy = policy(DocumentCache::with_budget(budget));
        for n in 0..200 {
            // About 100 tokens and 100 fields each: some 40 KiB.
            let query = format!("{{ n{n}: customer_count {} }}", "__typename ".repeat(99));
            assert!(matches!(check(&policy, &query, None), Checked::Ready(_)));
        }
        let (entries, bytes) = policy.documents.usage();
        assert!(bytes <= budget, "{bytes} bytes");
        assert!((2..200).contains(&entries), "{entries} entries");

        // One entry over a sixteenth of the budget (about 80 KiB) is not kept.
        let heavy = format!(
            "{{ customer(id: \"x\") {{ {} }} }}",
            "__typename ".repeat(198)
        );
        assert!(matches!(check(&policy, &heavy, None), Checked::Ready(_)));
        assert!(policy.documents.lookup(&heavy).is_none());
    }

    #[test]
    fn operation_names_a_client_makes_up_add_no_memo() {
        let policy = policy(DocumentCache::new(8));
        let single = "{ customer_count }";
        let named = "query A { customer_count } query B { __typename }";
        for n in 0..100 {
            let name = format!("made_up_{n}");
            check(&policy, single, Some(&name));
            check(&policy, named, Some(&name));
            check(&policy, named, Some(["A", "B"][n % 2]));
        }
        let memos = |query: &str| {
            let entry = policy.documents.lookup(query).unwrap();
            let mut names: Vec<Option<String>> = entry
                .operations
                .lock()
                .unwrap()
                .keys()
                .map(|name| name.as_ref().map(|n| n.to_string()))
                .collect();
            names.sort();
            names
        };
        assert_eq!(memos(single), [None]);
        assert_eq!(memos(named), [Some("A".to_owned()), Some("B".to_owned())]);
    }

    /// Prepares and executes `query` (which needs no upstream) and returns whether its
    /// validation is now remembered, and the error messages.
    async fn execute(policy: &Policy, query: &str, variables: bool) -> (bool, Vec<String>) {
        let schema = crate::graphql::schema(false, false);
        let operation = Operation {
            query: query.into(),
            variables: variables.then(|| serde_json::from_str(r#"{"x": true}"#).unwrap()),
            ..Operation::default()
        };
        let Checked::Ready(mut prepared) = prepare(operation, policy, false) else {
            panic!("rejected before running");
        };
        let response = schema.execute(prepared.take_request()).await;
        let remembered = policy
            .documents
            .lookup(query)
            .and_then(|entry| entry.memo(None))
            .is_some_and(|memo| memo.validation.get().is_some());
        let errors = response.errors.into_iter().map(|e| e.message).collect();
        (remembered, errors)
    }

    #[test]
    fn limit_checks_that_pass_are_remembered_per_operation() {
        let policy = Policy {
            limits: OperationLimits {
                max_aliases: 1,
                ..OperationLimits::default()
            },
            ..policy(DocumentCache::new(8))
        };
        let remembered = |query: &str| {
            let memo = policy.documents.lookup(query)?.memo(None)?;
            memo.limits.get().map(|footprint| footprint.ids.len())
        };
        let within = r#"{ a: customer(id: "1") { name } customer(id: 2) { name } }"#;
        let beyond = "{ a: customer_count b: customer_count }";

        for _ in 0..2 {
            assert!(matches!(check(&policy, within, None), Checked::Ready(_)));
            assert!(matches!(check(&policy, beyond, None), Checked::Rejected(_)));
        }

        assert_eq!(remembered(within), Some(2));
        assert!(policy.documents.lookup(beyond).is_none());
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
