//! Preparing and running one GraphQL operation: parse (or take the cached document), check
//! the limits, then run it on the direct executor when it has a plan, else on
//! async-graphql's, and put the response in query order.

use std::{collections::HashSet, sync::Arc};

use async_graphql::{
    ServerError, Variables,
    parser::types::{DocumentOperations, ExecutableDocument, OperationType},
};

use super::{
    AppSchema, Upstream,
    cache::{DocumentCache, OperationMemo, RememberValidation},
    direct, document,
    limits::{self, OperationLimits},
    response::{Response, rejection, request_error},
    sentinel,
    shape::Shape,
};
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

/// What an operation is checked against before it runs, and the parsed-document cache.
pub struct Policy {
    /// Parsed documents by query text, so a repeated query is not parsed again.
    pub documents: DocumentCache,
    /// Size, depth, alias, root-field, complexity and id limits.
    pub limits: OperationLimits,
    /// Whether introspection is allowed.
    pub introspection: bool,
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

    /// The operation's lookups by account id, account number or reference.
    pub(crate) fn lookups(&self) -> &HashSet<(&'static str, String)> {
        &self.footprint.lookups
    }

    /// The calls its relations may make.
    pub(crate) fn relation_calls(&self) -> usize {
        self.footprint.relations
    }

    /// The most Bloc calls the operation can make on its own: its distinct ids, one when it
    /// reads the list, its lookups and its relations' calls.
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

/// The Bloc calls a request's checked operations may make together (their distinct ids, one
/// for the list if any reads it, their distinct lookups and their relations' calls), or the
/// rejection of the whole request when those ids or calls are more than the limits allow.
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
    let lookups: HashSet<&(&str, String)> = ready().flat_map(|p| p.lookups()).collect();
    let relations = ready().fold(0usize, |sum, p| sum.saturating_add(p.relation_calls()));
    let calls = ids
        .len()
        .saturating_add(usize::from(lists))
        .saturating_add(lookups.len())
        .saturating_add(relations);
    if let Err(exceeded) = limits::check_calls(calls, limits) {
        return Err(Box::new(rejection(exceeded.code, exceeded.message)));
    }
    Ok(calls)
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
            .get_or_init(|| direct::Plan::compile(&doc, op).map(Arc::new))
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
        && let Some(op) = document::selected(&prepared.doc, prepared.operation_name.as_deref())
        && let Some(data) = plan
            .run(&prepared.doc, op, upstream, principal, &prepared.variables)
            .await
    {
        return Response::direct(data);
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
        let plan = || Arc::new(Shape::new(&doc, op, &variables));
        let plan = match memo.as_ref().filter(|_| variables.is_empty()) {
            Some(memo) => memo.order.get_or_init(plan).clone(),
            None => plan(),
        };
        plan.complete(&mut response.data, &mut response.errors);
    }
    Response::executed(response)
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
