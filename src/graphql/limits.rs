//! Operation limits, checked on the document before anything executes.
//!
//! async-graphql has depth and complexity limits but no alias, root-field, token or
//! per-request id limits, and reports its own with uncoded messages; one walk here does all
//! of them and names the limit in `extensions.code`.
//!
//! Every check is linear in the document's size, whatever it holds: the walk visits each
//! written selection once (a fragment's summary is computed once and is four numbers, so a
//! document that nests fragments exponentially costs no more than its text), a variable's ids
//! are read once however often it is used, and the walk stops at the first bound it passes.
//! Ids are collected for the whole operation, up to one past the limit, not per fragment.

use std::collections::{HashMap, HashSet};

use async_graphql::{
    Name, Value, Variables,
    parser::types::{ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet},
};

use super::{
    document::variable_ref,
    loaders::priced_pages,
    query::{Calls, root_field},
    table::{ASSUMED_LIST_ITEMS, RelationCalls, Schema},
    types,
};
use crate::error::code;

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
    /// Most Bloc calls one HTTP request may make, counted before it runs: its distinct
    /// customer ids, the list (once), its distinct lookups of accounts and transactions, and
    /// each relation once per parent item (lists priced at their `limit`, or
    /// `ASSUMED_LIST_ITEMS` when Bloc gives them whole).
    pub max_upstream_calls: usize,
}

impl OperationLimits {
    /// The defaults.
    pub const DEFAULT: Self = Self {
        max_query_bytes: 32 * 1024,
        max_tokens: 5_000,
        max_depth: 8,
        max_aliases: 100,
        max_root_fields: 100,
        max_complexity: 10_000,
        max_customer_ids: 100,
        // A 50-row table with one relation is 51 calls and with two 101; 100 ids and the
        // list (what the limits above admit) 101. Three relations on 50 rows (151) would
        // spend nearly a third of Bloc's 500 calls a minute on one request.
        max_upstream_calls: 120,
    };
}

impl Default for OperationLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A limit that was exceeded: the code names it, the message gives both numbers.
#[derive(Clone, Debug)]
pub(crate) struct Exceeded {
    pub code: &'static str,
    pub message: String,
}

fn exceeded(code: &'static str, what: &str, found: usize, limit: usize) -> Exceeded {
    Exceeded {
        code,
        message: format!("the operation has {found} {what}; the limit is {limit}"),
    }
}

/// A bound the walk passed before it finished: what it had counted is a lower bound.
fn passed(code: &'static str, what: &str, found: usize, limit: usize) -> Exceeded {
    Exceeded {
        code,
        message: format!("the operation has at least {found} {what}; the limit is {limit}"),
    }
}

/// What an operation that passed its limits may cost: the upstream calls it can make, and
/// the size of what is built from it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Footprint {
    /// The distinct customer ids it names, as the resolvers receive them (`ID` coerces
    /// integers to their decimal text): each is one Bloc call.
    pub ids: HashSet<String>,
    /// Whether it reads Bloc's customer list (`customers`, `customer_count`): one call per
    /// request, however many fields ask.
    pub lists: bool,
    /// Fields with fragments expanded (each at most once per place it is spread), which
    /// bounds the response-shape plan built from it; never more than the cost.
    pub fields: usize,
    /// The distinct lookups by another key (`account`, `account_by_number`,
    /// `transaction`): the root field and its key. Each is one Bloc call.
    pub lookups: HashSet<(&'static str, String)>,
    /// Calls the relations under the root fields may make: each relation once per parent
    /// item (a page of transactions once per page).
    pub relations: usize,
}

impl Footprint {
    /// The most Bloc calls the operation can make on its own (retries aside).
    pub(crate) fn calls(&self) -> usize {
        self.ids
            .len()
            .saturating_add(usize::from(self.lists))
            .saturating_add(self.lookups.len())
            .saturating_add(self.relations)
    }
}
/// Checks the document's size in bytes and lexical tokens, before it is parsed.
pub(crate) fn check_text(query: &str, limits: &OperationLimits) -> Result<(), Exceeded> {
    if query.len() > limits.max_query_bytes {
        return Err(exceeded(
            code::QUERY_TOO_LARGE,
            "bytes",
            query.len(),
            limits.max_query_bytes,
        ));
    }
    let tokens = count_tokens(query, limits.max_tokens);
    if tokens > limits.max_tokens {
        let message = format!("the operation has more than {} tokens", limits.max_tokens);
        return Err(Exceeded {
            code: code::TOO_MANY_TOKENS,
            message,
        });
    }
    Ok(())
}

/// Checks introspection, depth, aliases, root fields, complexity and distinct ids of the
/// selected operation, stopping at the first bound passed, and returns its [`Footprint`].
pub(crate) fn check_operation(
    doc: &ExecutableDocument,
    operation: &OperationDefinition,
    variables: &Variables,
    limits: &OperationLimits,
    introspection: bool,
) -> Result<Footprint, Exceeded> {
    let aliases = count_aliases(doc);
    if aliases > limits.max_aliases {
        return Err(exceeded(
            code::TOO_MANY_ALIASES,
            "aliases",
            aliases,
            limits.max_aliases,
        ));
    }
    let mut walk = Pricing {
        doc,
        operation,
        variables,
        limits,
        introspection,
        fragments: HashMap::new(),
        in_progress: HashSet::new(),
        counted_variables: HashSet::new(),
        footprint: Footprint::default(),
    };
    let root = walk.summary(&operation.selection_set.node, 1, On::Root)?;
    if root.width > limits.max_root_fields {
        return Err(exceeded(
            code::TOO_MANY_ROOT_FIELDS,
            "root fields",
            root.width,
            limits.max_root_fields,
        ));
    }
    let mut footprint = walk.footprint;
    footprint.fields = root.fields;
    footprint.relations = root.calls;
    check_calls(footprint.calls(), limits)?;
    Ok(footprint)
}

/// Checks the Bloc calls an operation (or a whole request) may make.
pub(crate) fn check_calls(calls: usize, limits: &OperationLimits) -> Result<(), Exceeded> {
    if calls > limits.max_upstream_calls {
        return Err(Exceeded {
            code: code::MAX_UPSTREAM_CALLS_EXCEEDED,
            message: format!(
                "the request may make {calls} calls to Bloc; the limit is {} (each customer id, \
                 account or transaction looked up, the customer list, and each relation per \
                 parent item counts)",
                limits.max_upstream_calls
            ),
        });
    }
    Ok(())
}

/// Checks the number of distinct customer ids (of one operation, or a whole batch).
pub(crate) fn check_ids(count: usize, limits: &OperationLimits) -> Result<(), Exceeded> {
    if count > limits.max_customer_ids {
        return Err(Exceeded {
            code: code::TOO_MANY_CUSTOMER_IDS,
            message: format!(
                "the request names {count} distinct customer ids; the limit is {}",
                limits.max_customer_ids
            ),
        });
    }
    Ok(())
}

/// What a selection set adds up to: four numbers, so a fragment's is cheap to reuse.
#[derive(Clone, Copy, Default)]
struct Summary {
    /// Fields directly in the set (fragments expanded).
    width: usize,
    /// Deepest field nesting below and including this set.
    depth: usize,
    /// 1 per field; a list field's selection counts once per item the list can hold (at
    /// least once, so the cost is never less than the fields).
    cost: usize,
    /// Fields in and below the set (fragments expanded).
    fields: usize,
    /// Bloc calls the relations in and below the set may make, per item of the set's type.
    calls: usize,
}

impl Summary {
    fn add(&mut self, other: Summary) {
        self.width = self.width.saturating_add(other.width);
        self.depth = self.depth.max(other.depth);
        self.cost = self.cost.saturating_add(other.cost);
        self.fields = self.fields.saturating_add(other.fields);
        self.calls = self.calls.saturating_add(other.calls);
    }

    /// A field costing `cost` and making `calls` Bloc calls itself, with this set as its
    /// selection, holding up to `items` values.
    fn field(self, items: usize, cost: usize, calls: usize) -> Summary {
        Summary {
            width: 1,
            depth: self.depth.saturating_add(1),
            cost: items.max(1).saturating_mul(self.cost).saturating_add(cost),
            fields: self.fields.saturating_add(1),
            calls: items.saturating_mul(self.calls).saturating_add(calls),
        }
    }
}

/// The type a selection set is on, for pricing its fields by that type's table.
#[derive(Clone, Copy)]
enum On {
    /// The query root.
    Root,
    /// An object type with a table.
    Object(&'static dyn Schema),
    /// Anything else (introspection types; validation has passed, so nothing unknown runs).
    Unknown,
}

impl On {
    fn named(name: &str) -> On {
        if name == "Query" {
            return On::Root;
        }
        types::object(name).map_or(On::Unknown, On::Object)
    }
}

struct Pricing<'a> {
    doc: &'a ExecutableDocument,
    operation: &'a OperationDefinition,
    variables: &'a Variables,
    limits: &'a OperationLimits,
    introspection: bool,
    fragments: HashMap<&'a Name, Summary>,
    in_progress: HashSet<&'a Name>,
    /// Variables whose ids are already in the footprint.
    counted_variables: HashSet<Name>,
    footprint: Footprint,
}

impl<'a> Pricing<'a> {
    /// The set's summary, or the first bound it passes. Depth and cost only grow on the way
    /// up (every multiplier is at least 1), so a part over a bound puts the whole over it.
    /// `level` is how deep the set's fields are (1 at the root), so nesting past the depth
    /// limit stops the walk on the way down, before it recurses any further.
    fn summary(
        &mut self,
        set: &'a SelectionSet,
        level: usize,
        on: On,
    ) -> Result<Summary, Exceeded> {
        let mut total = Summary::default();
        for selection in &set.items {
            let part = match &selection.node {
                Selection::Field(field) => self.field(&field.node, level, on)?,
                Selection::FragmentSpread(spread) => self
                    .fragment(&spread.node.fragment_name.node, level)?
                    .unwrap_or_default(),
                Selection::InlineFragment(inline) => {
                    let on = match &inline.node.type_condition {
                        Some(condition) => On::named(&condition.node.on.node),
                        None => on,
                    };
                    self.summary(&inline.node.selection_set.node, level, on)?
                }
            };
            total.add(part);
            self.within_bounds(total)?;
        }
        Ok(total)
    }

    fn within_bounds(&self, summary: Summary) -> Result<(), Exceeded> {
        let limits = self.limits;
        if summary.depth > limits.max_depth {
            return Err(passed(
                code::MAX_DEPTH_EXCEEDED,
                "levels of nesting",
                summary.depth,
                limits.max_depth,
            ));
        }
        if summary.cost > limits.max_complexity {
            return Err(passed(
                code::MAX_COMPLEXITY_EXCEEDED,
                "complexity points",
                summary.cost,
                limits.max_complexity,
            ));
        }
        Ok(())
    }

    /// A field of the type `on`, priced by that type's table: its own cost, times the items
    /// of the lists above it, plus its selection's cost per item it can hold.
    fn field(&mut self, field: &'a Field, level: usize, on: On) -> Result<Summary, Exceeded> {
        if level > self.limits.max_depth {
            return Err(passed(
                code::MAX_DEPTH_EXCEEDED,
                "levels of nesting",
                level,
                self.limits.max_depth,
            ));
        }
        let name = field.name.node.as_str();
        if name.starts_with("__") {
            if name != "__typename" && !self.introspection {
                return Err(Exceeded {
                    code: code::INTROSPECTION_DISABLED,
                    message: "introspection is disabled on this server".into(),
                });
            }
            // Introspection is bounded by the schema (and off in production).
            return Ok(Summary::default().field(1, 1, 0));
        }
        // What the tables say of the field: the root's how it reaches Bloc, an object type's
        // its cost or, for a relation, its calls per parent; either the type its selection is
        // on.
        let (items, cost, calls, child_on) = match on {
            On::Root => match root_field(name) {
                Some(root) => {
                    let items = match root.calls {
                        Calls::One(argument) => {
                            self.ids(field, argument);
                            1
                        }
                        Calls::Each(argument) => self.ids(field, argument),
                        Calls::List(limit) => {
                            self.footprint.lists = true;
                            limit.map_or(1, |(default, max)| self.limit(field, default, max))
                        }
                        Calls::Lookup(argument) => {
                            self.lookup(field, root.name, argument);
                            1
                        }
                    };
                    (items, 1, 0, root.returns.map_or(On::Unknown, On::Object))
                }
                None => (1, 1, 0, On::Unknown),
            },
            On::Object(object) => match (object.field(name), object.relation(name)) {
                (Some(column), _) => (
                    1,
                    column.cost,
                    0,
                    column.object.map_or(On::Unknown, On::Object),
                ),
                (None, Some(relation)) => {
                    let (items, calls) = match relation.calls {
                        RelationCalls::One => (1, 1),
                        RelationCalls::List => (ASSUMED_LIST_ITEMS, 1),
                        RelationCalls::Paged { default, max } => {
                            let limit = self.limit(field, default, max);
                            let offset = self.offset(field);
                            let pages = if limit == 0 {
                                0
                            } else {
                                priced_pages(offset.saturating_add(limit)) as usize
                            };
                            (limit, pages)
                        }
                    };
                    (items, 1, calls, On::Object(relation.returns))
                }
                (None, None) => (1, 1, 0, On::Unknown),
            },
            On::Unknown => (1, 1, 0, On::Unknown),
        };
        let child = self.summary(&field.selection_set.node, level.saturating_add(1), child_on)?;
        check_ids(self.footprint.ids.len(), self.limits).map_err(|_| {
            passed(
                code::TOO_MANY_CUSTOMER_IDS,
                "distinct customer ids",
                self.footprint.ids.len(),
                self.limits.max_customer_ids,
            )
        })?;
        Ok(child.field(items, cost, calls))
    }

    /// An `offset` argument's value, at least 0 (absent: 0).
    fn offset(&self, field: &Field) -> usize {
        match self.argument(field, "offset") {
            Some(Value::Number(n)) => usize::try_from(n.as_i64().unwrap_or(0).max(0)).unwrap_or(0),
            _ => 0,
        }
    }

    /// Adds the key a lookup names (`account(id:)`, `transaction(reference:)`) to the
    /// footprint, with its variable substituted.
    fn lookup(&mut self, field: &Field, root: &'static str, argument: &str) {
        let key = match self.argument(field, argument) {
            Some(Value::String(key)) => key,
            Some(Value::Number(n)) => n.to_string(),
            _ => return,
        };
        self.footprint.lookups.insert((root, key));
    }

    /// The items a `limit` argument allows: its value, or the default, within 0 to `max`.
    fn limit(&self, field: &Field, default: i32, max: i32) -> usize {
        let limit = match self.argument(field, "limit") {
            Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
            _ => i64::from(default),
        };
        usize::try_from(limit.clamp(0, i64::from(max))).unwrap_or(0)
    }

    /// An argument's value with its variables substituted (a scalar argument's value is small).
    fn argument(&self, field: &Field, name: &str) -> Option<Value> {
        let (operation, variables) = (self.operation, self.variables);
        let value = field.get_argument(name)?.node.clone();
        value
            .into_const_with(|var| {
                Ok::<_, ()>(
                    variable_ref(operation, variables, &var)
                        .cloned()
                        .unwrap_or(Value::Null),
                )
            })
            .ok()
    }

    /// Adds the ids an `ID` or `[ID]` argument names to the footprint, and returns how many
    /// items it holds. GraphQL coerces an integer to an `ID` and one value to a list of one;
    /// a variable's ids are read once, however often it is used, and never copied whole.
    fn ids(&mut self, field: &Field, name: &str) -> usize {
        let Some(argument) = field.get_argument(name) else {
            return 0;
        };
        let mut used = Vec::new();
        let written = argument.node.clone().into_const_with(|var| {
            used.push(var);
            Ok::<_, ()>(Value::Null)
        });
        let Ok(written) = written else { return 0 };
        let (operation, variables) = (self.operation, self.variables);
        let mut items = match &written {
            Value::List(values) => values.len(),
            Value::Null => 0,
            _ => 1,
        };
        self.add_ids(&written);
        for var in used {
            let value = variable_ref(operation, variables, &var);
            if matches!(written, Value::Null) {
                // The whole argument is this variable.
                items = match value {
                    Some(Value::List(values)) => values.len(),
                    Some(Value::Null) | None => 0,
                    Some(_) => 1,
                };
            }
            if let Some(value) = value
                && !self.counted_variables.contains(&var)
            {
                self.add_ids(value);
                self.counted_variables.insert(var);
            }
        }
        items
    }

    /// Adds the ids in a value (one, or a list of them), stopping one past the limit.
    fn add_ids(&mut self, value: &Value) {
        let limit = self.limits.max_customer_ids;
        let ids = &mut self.footprint.ids;
        let mut add = |value: &Value| {
            if ids.len() > limit {
                return;
            }
            match value {
                Value::String(id) if !ids.contains(id) => {
                    ids.insert(id.clone());
                }
                Value::Number(n) => {
                    ids.insert(n.to_string());
                }
                _ => {}
            }
        };
        match value {
            Value::List(values) => values.iter().for_each(&mut add),
            other => add(other),
        }
    }

    /// A fragment's summary, computed once. Unknown or cyclic fragments add nothing here;
    /// validation rejects them before execution.
    fn fragment(&mut self, name: &'a Name, level: usize) -> Result<Option<Summary>, Exceeded> {
        if let Some(done) = self.fragments.get(name) {
            return Ok(Some(*done));
        }
        let Some(fragment) = self.doc.fragments.get(name) else {
            return Ok(None);
        };
        if !self.in_progress.insert(name) {
            return Ok(None);
        }
        let on = On::named(&fragment.node.type_condition.node.on.node);
        let summary = self.summary(&fragment.node.selection_set.node, level, on)?;
        self.in_progress.remove(name);
        self.fragments.insert(name, summary);
        Ok(Some(summary))
    }
}

/// Aliases written in the document (not expanded: each written alias counts once). Walks
/// with its own stack, so deep nesting cannot exhaust the thread's.
fn count_aliases(doc: &ExecutableDocument) -> usize {
    let mut pending: Vec<&SelectionSet> = doc
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node)
        .chain(doc.fragments.values().map(|f| &f.node.selection_set.node))
        .collect();
    let mut count = 0usize;
    while let Some(set) = pending.pop() {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    count = count.saturating_add(usize::from(field.node.alias.is_some()));
                    pending.push(&field.node.selection_set.node);
                }
                Selection::InlineFragment(inline) => pending.push(&inline.node.selection_set.node),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    count
}

/// Counts GraphQL lexical tokens, stopping once past `max`. Whitespace, commas and comments
/// are not tokens; a string or block string is one.
pub(crate) fn count_tokens(source: &str, max: usize) -> usize {
    let mut rest = source.as_bytes();
    let mut count: usize = 0;
    while count <= max {
        let Some((&first, after)) = rest.split_first() else {
            break;
        };
        let (token, remaining) = match first {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => (false, after),
            b'#' => (false, skip_while(after, |b| b != b'\n')),
            b'"' => match rest.strip_prefix(b"\"\"\"") {
                Some(body) => (true, skip_block_string(body)),
                None => (true, skip_string(after)),
            },
            b'.' if rest.starts_with(b"...") => (true, rest.get(3..).unwrap_or_default()),
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' => {
                let is_name = |b: u8| b.is_ascii_alphanumeric() || b"_.-+".contains(&b);
                (true, skip_while(rest, is_name))
            }
            // Punctuators, and anything else (the parser rejects what is not GraphQL): one
            // character, its UTF-8 continuation bytes included.
            _ => (true, skip_while(after, |b| matches!(b, 0x80..=0xBF))),
        };
        rest = remaining;
        count = count.saturating_add(usize::from(token));
    }
    count
}

/// `bytes` without its longest prefix of bytes that satisfy `keep`.
fn skip_while(bytes: &[u8], keep: impl Fn(u8) -> bool) -> &[u8] {
    let skipped = bytes.iter().take_while(|&&b| keep(b)).count();
    bytes.get(skipped..).unwrap_or_default()
}

/// What follows a block string whose body (after the opening `"""`) starts `body`; nothing
/// when it is unterminated.
fn skip_block_string(mut body: &[u8]) -> &[u8] {
    while !body.is_empty() {
        if let Some(after) = body.strip_prefix(b"\"\"\"") {
            return after;
        }
        body = body
            .strip_prefix(b"\\\"\"\"")
            .or_else(|| body.get(1..))
            .unwrap_or_default();
    }
    body
}

/// What follows a string whose body (after the opening `"`) starts `body`: it ends after its
/// closing quote or at the end of its line (the parser rejects the latter).
fn skip_string(mut body: &[u8]) -> &[u8] {
    while let Some((&b, after)) = body.split_first() {
        body = match b {
            b'"' | b'\n' => return after,
            // An escape: the backslash and the byte it escapes.
            b'\\' => after.get(1..).unwrap_or_default(),
            _ => after,
        };
    }
    body
}

#[cfg(test)]
#[allow(
    clippy::arithmetic_side_effects,
    reason = "test arithmetic on small constants"
)]
mod tests {
    use async_graphql::{Variables, parser::parse_query};

    use super::OperationLimits;
    use super::{Footprint, check_operation};
    use crate::graphql::document;

    fn check(query: &str, variables: &str) -> Result<Footprint, &'static str> {
        let doc = parse_query(query).unwrap();
        let op = document::selected(&doc, None).unwrap();
        let variables = Variables::from_json(serde_json::from_str(variables).unwrap());
        check_operation(&doc, op, &variables, &OperationLimits::default(), false)
            .map_err(|e| e.code)
    }

    fn ids(query: &str, variables: &str) -> Vec<String> {
        let mut ids: Vec<String> = check(query, variables).unwrap().ids.into_iter().collect();
        ids.sort();
        ids
    }

    /// `fragment F0 { customer(id: "a") { id } }`, each `Fn { ...F(n-1) ...F(n-1) }`.
    fn doubling(n: usize, on: &str, leaf: &str) -> String {
        let mut doc = format!("{{ ...F{n} }} fragment F0 on {on} {{ {leaf} }}");
        for k in 1..=n {
            doc.push_str(&format!(
                " fragment F{k} on {on} {{ ...F{} ...F{} }}",
                k - 1,
                k - 1
            ));
        }
        doc
    }

    #[test]
    fn ids_count_in_every_form_graphql_coerces_to_an_id() {
        assert_eq!(
            ids("{ customers_by_id(ids: [1, 2, \"3\", 2]) { id } }", "{}"),
            ["1", "2", "3"]
        );
        assert_eq!(
            ids(
                "{ customers_by_id(ids: 7) { id } customer(id: 8) { id } }",
                "{}"
            ),
            ["7", "8"]
        );
        assert_eq!(
            ids(
                "query($a: ID!, $l: [ID!]!) { customer(id: $a) { id } x: customers_by_id(ids: $l) { id } y: customers_by_id(ids: [$a, 9]) { id } }",
                r#"{"a": 4, "l": ["5", 6]}"#,
            ),
            ["4", "5", "6", "9"]
        );
        assert_eq!(
            ids(
                "query($l: [ID!]! = [10, \"11\"]) { customers_by_id(ids: $l) { id } }",
                "{}"
            ),
            ["10", "11"]
        );
    }

    #[test]
    fn a_hundred_and_one_integer_ids_pass_the_id_limit() {
        let list: Vec<String> = (0..101).map(|n| n.to_string()).collect();
        let query = format!("{{ customers_by_id(ids: [{}]) {{ id }} }}", list.join(","));
        assert_eq!(check(&query, "{}").err(), Some("TOO_MANY_CUSTOMER_IDS"));
        let query = "query($l: [ID!]!) { customers_by_id(ids: $l) { id } }";
        let variables = format!("{{\"l\": [{}]}}", list.join(","));
        assert_eq!(
            check(query, &variables).err(),
            Some("TOO_MANY_CUSTOMER_IDS")
        );
    }

    #[test]
    fn integer_ids_multiply_the_cost_of_their_list() {
        let list: Vec<String> = (0..100).map(|n| n.to_string()).collect();
        let fields = "id name email status kyc_tier created_at updated_at";
        let one = format!(
            "a: customers_by_id(ids: [{}]) {{ {fields} }}",
            list.join(",")
        );
        let footprint = check(&format!("{{ {one} }}"), "{}").unwrap();
        assert_eq!(footprint.calls(), 100);
        let query = format!("{{ {one} {} }}", one.replacen("a:", "b:", 1).repeat(20));
        assert_eq!(check(&query, "{}").err(), Some("MAX_COMPLEXITY_EXCEEDED"));
    }

    #[test]
    fn the_list_fields_count_one_call_for_the_request() {
        let footprint = check(
            "{ customers(limit: 2) { id } customer_count customer(id: \"x\") { id } }",
            "{}",
        )
        .unwrap();
        assert!(footprint.lists);
        assert_eq!(footprint.calls(), 2);
        assert_eq!(check("{ __typename }", "{}").unwrap().calls(), 0);
    }

    #[test]
    fn relations_are_priced_per_parent_item_through_fragments_and_variables() {
        // The list, then per customer its accounts, and per assumed account (10) two pages
        // of transactions (60 of 50 a page).
        let footprint = check(
            "query($n: Int) { customers(limit: $n) { ...F } } \
             fragment F on Customer { accounts { transactions(limit: 60) { id } } }",
            r#"{"n": 3}"#,
        )
        .unwrap();
        assert_eq!(footprint.calls(), 1 + 3 * (1 + 10 * 2));
        // A relation under a lookup, and the same lookup twice.
        let footprint = check(
            r#"{ a: account(id: "x") { customer { id } } b: account(id: "x") { id }
                 t: transaction(reference: "r") { account { id } } }"#,
            "{}",
        )
        .unwrap();
        assert_eq!(footprint.calls(), 2 + 1 + 1);
        // `limit: 0` makes no call; an inline fragment on Account is priced as one.
        let footprint = check(
            r#"{ customer(id: "c") { transactions(limit: 0) { id }
                 accounts { ... on Account { customer { id } } } } }"#,
            "{}",
        )
        .unwrap();
        assert_eq!(footprint.calls(), 1 + 1 + 10);
    }

    #[test]
    fn doubling_fragments_stop_the_walk_at_the_first_bound_whatever_the_nesting() {
        for n in [20, 30, 64, 200] {
            let customer = doubling(n, "Query", "customer(id: \"a\") { id }");
            assert_eq!(
                check(&customer, "{}").err(),
                Some("MAX_COMPLEXITY_EXCEEDED"),
                "n = {n}"
            );
            let typename = doubling(n, "Query", "__typename");
            assert_eq!(
                check(&typename, "{}").err(),
                Some("MAX_COMPLEXITY_EXCEEDED"),
                "n = {n}"
            );
        }
        // Below the bounds, the summary is still exact.
        let small = check(&doubling(3, "Query", "customer(id: \"a\") { id }"), "{}").unwrap();
        assert_eq!((small.ids.len(), small.fields), (1, 16));
    }

    #[test]
    fn a_list_of_nothing_still_pays_for_its_selection() {
        let inner = doubling(14, "Customer", "name");
        let query = inner.replacen("{ ...F14 }", "{ customers(limit: 0) { ...F14 } }", 1);
        assert_eq!(check(&query, "{}").err(), Some("MAX_COMPLEXITY_EXCEEDED"));
        let query = inner.replacen("{ ...F14 }", "{ customers_by_id(ids: []) { ...F14 } }", 1);
        assert_eq!(check(&query, "{}").err(), Some("MAX_COMPLEXITY_EXCEEDED"));
    }

    #[test]
    fn nesting_far_past_the_depth_limit_stops_the_walk_on_the_way_down() {
        // About as deep as async-graphql's parser allows.
        let query = format!("{{ {} id {} }}", "a { ".repeat(60), "}".repeat(60));
        assert_eq!(check(&query, "{}").err(), Some("MAX_DEPTH_EXCEEDED"));
    }

    #[test]
    fn tokens_are_counted_as_graphql_lexes_them() {
        for (source, tokens) in [
            ("{ customer(id: \"a\") { id } }", 11),
            ("# a comment, then\n a, b", 2),
            ("\"\"\" x \\\"\"\" y \"\"\" z", 2),
            ("\"a\\\"b\" c", 2),
            ("...F é 😀", 4),
            ("1.5e+3 -2", 2),
            ("\"unterminated", 1),
            ("\"\"\"unterminated", 1),
            ("\"to the end of the line\nb", 2),
            ("\"\\", 1),
        ] {
            assert_eq!(
                super::count_tokens(source, usize::MAX),
                tokens,
                "{source:?}"
            );
        }
    }

    #[test]
    fn token_counting_stops_once_past_the_limit() {
        assert_eq!(super::count_tokens("a b c d e", 2), 3);
        assert_eq!(super::count_tokens("a b", 0), 1);
        assert_eq!(super::count_tokens("", 0), 0);
    }
}
