//! Operation limits, checked on the document before anything executes.
//!
//! async-graphql has depth and complexity limits but no alias, root-field, token or
//! per-request id limits, and reports its own with uncoded messages; one walk here does all
//! of them and names the limit in `extensions.code`. Fragment summaries are memoised, so a
//! document that nests fragments exponentially costs linear time to check.

use std::collections::{HashMap, HashSet};

use async_graphql::{
    Name, Value, Variables,
    parser::types::{ExecutableDocument, OperationDefinition, Selection, SelectionSet},
};

use super::{
    document::variable,
    query::{DEFAULT_LIMIT, MAX_LIMIT},
};
use crate::{config::OperationLimits, error::code};

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

/// Checks introspection, depth, aliases, root fields and complexity of the selected operation, and
/// returns the distinct customer ids it names (the caller limits them per HTTP request).
pub(crate) fn check_operation(
    doc: &ExecutableDocument,
    operation: &OperationDefinition,
    variables: &Variables,
    limits: &OperationLimits,
    introspection: bool,
) -> Result<HashSet<String>, Exceeded> {
    let aliases = count_aliases(doc);
    if aliases > limits.max_aliases {
        return Err(exceeded(
            code::TOO_MANY_ALIASES,
            "aliases",
            aliases,
            limits.max_aliases,
        ));
    }
    let mut walk = Walk {
        doc,
        operation,
        variables,
        fragments: HashMap::new(),
        in_progress: Vec::new(),
    };
    let root = walk.summary(&operation.selection_set.node);
    if root.introspects && !introspection {
        return Err(Exceeded {
            code: code::INTROSPECTION_DISABLED,
            message: "introspection is disabled on this server".into(),
        });
    }
    if root.width > limits.max_root_fields {
        return Err(exceeded(
            code::TOO_MANY_ROOT_FIELDS,
            "root fields",
            root.width,
            limits.max_root_fields,
        ));
    }
    if root.depth > limits.max_depth {
        return Err(exceeded(
            code::MAX_DEPTH_EXCEEDED,
            "levels of nesting",
            root.depth,
            limits.max_depth,
        ));
    }
    if root.cost > limits.max_complexity {
        return Err(exceeded(
            code::MAX_COMPLEXITY_EXCEEDED,
            "complexity points",
            root.cost,
            limits.max_complexity,
        ));
    }
    let ids: HashSet<String> = root.ids.into_iter().collect();
    check_ids(ids.len(), limits)?;
    Ok(ids)
}

/// Checks the number of distinct customer ids (of one operation, or a whole batch).
pub(crate) fn check_ids(count: usize, limits: &OperationLimits) -> Result<(), Exceeded> {
    if count > limits.max_customer_ids {
        return Err(exceeded(
            code::TOO_MANY_CUSTOMER_IDS,
            "distinct customer ids",
            count,
            limits.max_customer_ids,
        ));
    }
    Ok(())
}

/// What a selection set adds up to.
#[derive(Clone, Default)]
struct Summary {
    /// Fields directly in the set (fragments expanded).
    width: usize,
    /// Deepest field nesting below and including this set.
    depth: usize,
    /// 1 per field; list selections count once per item the list can hold.
    cost: usize,
    /// Customer ids named as arguments.
    ids: Vec<String>,
    /// Whether `__schema` or `__type` is selected.
    introspects: bool,
}

impl Summary {
    fn add(&mut self, other: &Summary) {
        self.width += other.width;
        self.depth = self.depth.max(other.depth);
        self.cost = self.cost.saturating_add(other.cost);
        self.ids.extend(other.ids.iter().cloned());
        self.introspects |= other.introspects;
    }
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    operation: &'a OperationDefinition,
    variables: &'a Variables,
    fragments: HashMap<&'a Name, Summary>,
    in_progress: Vec<&'a Name>,
}

impl<'a> Walk<'a> {
    fn summary(&mut self, set: &'a SelectionSet) -> Summary {
        let mut total = Summary::default();
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let name = field.name.node.as_str();
                    if name.starts_with("__") {
                        // Introspection is bounded by the schema (and off in production).
                        total.add(&Summary {
                            width: 1,
                            depth: 1,
                            cost: 1,
                            ids: Vec::new(),
                            introspects: name != "__typename",
                        });
                        continue;
                    }
                    let child = self.summary(&field.selection_set.node);
                    let (operation, variables) = (self.operation, self.variables);
                    let argument = |arg: &str| {
                        field.get_argument(arg).and_then(|v| {
                            v.node
                                .clone()
                                .into_const_with(|var| {
                                    Ok::<_, ()>(variable(operation, variables, &var))
                                })
                                .ok()
                        })
                    };
                    let (items, ids) = match name {
                        "customer" => (1, argument("id").into_iter().filter_map(text).collect()),
                        "customers_by_id" => {
                            let ids: Vec<String> = match argument("ids") {
                                Some(Value::List(items)) => {
                                    items.into_iter().filter_map(text).collect()
                                }
                                Some(other) => text(other).into_iter().collect(),
                                None => Vec::new(),
                            };
                            (ids.len(), ids)
                        }
                        "customers" => {
                            let limit = match argument("limit") {
                                Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
                                _ => i64::from(DEFAULT_LIMIT),
                            };
                            (limit.clamp(0, i64::from(MAX_LIMIT)) as usize, Vec::new())
                        }
                        _ => (1, Vec::new()),
                    };
                    let mut ids = ids;
                    ids.extend(child.ids);
                    total.add(&Summary {
                        width: 1,
                        depth: 1 + child.depth,
                        cost: 1usize.saturating_add(items.saturating_mul(child.cost)),
                        ids,
                        introspects: child.introspects,
                    });
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if let Some(summary) = self.fragment(name) {
                        total.add(&summary);
                    }
                }
                Selection::InlineFragment(inline) => {
                    let inner = self.summary(&inline.node.selection_set.node);
                    total.add(&inner);
                }
            }
        }
        total
    }

    /// A fragment's summary, computed once. Unknown or cyclic fragments add nothing here;
    /// validation rejects them before execution.
    fn fragment(&mut self, name: &'a Name) -> Option<Summary> {
        if let Some(done) = self.fragments.get(name) {
            return Some(done.clone());
        }
        if self.in_progress.contains(&name) {
            return None;
        }
        let fragment = self.doc.fragments.get(name)?;
        self.in_progress.push(name);
        let summary = self.summary(&fragment.node.selection_set.node);
        self.in_progress.pop();
        self.fragments.insert(name, summary.clone());
        Some(summary)
    }
}

fn text(value: Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// Aliases written in the document (not expanded: each written alias counts once).
fn count_aliases(doc: &ExecutableDocument) -> usize {
    fn in_set(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some()) + in_set(&field.node.selection_set.node)
                }
                Selection::InlineFragment(inline) => in_set(&inline.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let operations: usize = doc
        .operations
        .iter()
        .map(|(_, op)| in_set(&op.node.selection_set.node))
        .sum();
    let fragments: usize = doc
        .fragments
        .values()
        .map(|f| in_set(&f.node.selection_set.node))
        .sum();
    operations + fragments
}

/// Counts GraphQL lexical tokens, stopping once past `max`. Whitespace, commas and comments
/// are not tokens; a string or block string is one.
fn count_tokens(source: &str, max: usize) -> usize {
    let bytes = source.as_bytes();
    let (mut i, mut count) = (0, 0);
    while i < bytes.len() && count <= max {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 3;
                count += 1;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                count += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                i += 3;
                count += 1;
            }
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || matches!(bytes[i], b'_' | b'.' | b'-' | b'+'))
                {
                    i += 1;
                }
                count += 1;
            }
            _ => {
                // Punctuators, and anything else (the parser rejects what is not GraphQL).
                i += source[i..].chars().next().map_or(1, char::len_utf8);
                count += 1;
            }
        }
    }
    count
}
