//! The direct executor: runs a validated operation from the tables, without async-graphql's
//! executor.
//!
//! async-graphql runs an operation as a tree of boxed futures, one per field, each routed
//! through the extension chain with registry lookups by name; for 50 aliased customers that
//! was most of a request's CPU (BENCHMARKS.md, try 12), and for a list of 500 more still. A
//! [`Plan`] is the operation compiled once per cached document and operation (only after
//! async-graphql has validated it: the caller checks): the spec's field collection done
//! ahead (fragments, inline fragments, `@skip`/`@include`, merging of fields that share a
//! response key), every field found in its type's table (`super::table`), each root field in
//! the root's table. When a `@skip`/`@include` condition is a variable, the collection is
//! done for each run with its values instead.
//!
//! Running a plan reads arguments (written, or from variables), makes the same loader calls
//! in the same order as async-graphql's resolvers would (so the lookups are batched and
//! de-duplicated alike), and renders the data in query order. It renders only the path where
//! nothing goes wrong: when the caller lacks a scope a field needs, an argument or a variable
//! value is one the resolver or async-graphql would refuse, Bloc fails, a list left records
//! out or a value Bloc sent does not parse, it gives up and async-graphql runs the operation.
//! The lookups are then already finished in the loader, so the fallback makes no further
//! call, and every error, path and `null` is async-graphql's own. Introspection, mutations
//! and anything else the tables do not describe never get a plan.

mod collect;
mod input;

use std::borrow::Cow;

use async_graphql::{
    Name, Value, Variables,
    parser::types::{ExecutableDocument, OperationDefinition, OperationType, SelectionSet},
};
use futures::future::join_all;

use self::{
    collect::Collect,
    input::{fits, id_of, matcher, optional, read_argument, supported},
};
use super::{
    Upstream,
    loaders::{Listing, Lookup},
    query::{Calls, DEFAULT_LIMIT, MAX_IDS, MAX_LIMIT, checked_id, root_field},
    table::{self, Row},
    types::Matcher,
};
use crate::auth::{Principal, Scopes};

/// An operation compiled for the direct executor.
pub(crate) enum Plan {
    /// The collected fields, the same for every run.
    Fixed(Compiled),
    /// A `@skip`/`@include` condition reads a variable: the fields are collected per run.
    PerRun,
}

/// The operation's root fields in query order, and the scopes its fields need.
pub(crate) struct Compiled {
    roots: Vec<(Name, Root)>,
    scopes: Scopes,
}

/// An argument as written, variables unresolved.
pub(super) type Written = async_graphql_value::Value;

/// A root field. Arguments are kept as written (variables included) and read per run.
enum Root {
    Typename,
    /// One record by id (`customer`).
    One {
        id: Written,
        selection: table::Selection,
    },
    /// Records by ids, `null` for an unknown one (`customers_by_id`).
    Each {
        ids: Written,
        selection: table::Selection,
    },
    /// A page of the collection (`customers`).
    Page {
        limit: Option<Written>,
        offset: Option<Written>,
        filter: Option<Written>,
        selection: table::Selection,
    },
    /// The collection's size (`customer_count`).
    Count {
        filter: Option<Written>,
    },
}

impl Plan {
    /// The plan of a validated operation, or `None` when something in it is not for the
    /// direct executor.
    pub(crate) fn compile(
        doc: &ExecutableDocument,
        operation: &OperationDefinition,
    ) -> Option<Self> {
        match Compiled::new(doc, operation, None) {
            Ok(compiled) => Some(Plan::Fixed(compiled)),
            Err(Unsupported::NeedsVariables) => Some(Plan::PerRun),
            Err(Unsupported::Other) => None,
        }
    }

    /// The operation's `data` with these variable values, as JSON, or `None` when
    /// async-graphql must run it (see the module documentation).
    pub(crate) async fn run(
        &self,
        doc: &ExecutableDocument,
        operation: &OperationDefinition,
        upstream: &Upstream,
        principal: &Principal,
        variables: &Variables,
    ) -> Option<Vec<u8>> {
        match self {
            Plan::Fixed(compiled) => {
                compiled
                    .run(operation, upstream, principal, variables)
                    .await
            }
            Plan::PerRun => {
                let compiled = Compiled::new(doc, operation, Some(variables)).ok()?;
                compiled
                    .run(operation, upstream, principal, variables)
                    .await
            }
        }
    }
}

/// Why an operation has no fixed plan.
pub(super) enum Unsupported {
    /// A condition reads a variable; with the variables' values it may well have one.
    NeedsVariables,
    /// Something the tables do not describe, or async-graphql's to report.
    Other,
}

/// What a root field's loader calls gave.
enum Fetched {
    Nothing,
    One(Lookup),
    Each(Vec<Lookup>),
    List(Listing),
}

impl Compiled {
    fn new(
        doc: &ExecutableDocument,
        operation: &OperationDefinition,
        variables: Option<&Variables>,
    ) -> Result<Self, Unsupported> {
        if operation.ty != OperationType::Query || !operation.directives.is_empty() {
            return Err(Unsupported::Other);
        }
        // Variables of the types the direct executor checks values of (see `fits`).
        for definition in &operation.variable_definitions {
            if !definition.node.directives.is_empty() || !supported(&definition.node.var_type.node)
            {
                return Err(Unsupported::Other);
            }
        }
        let collect = Collect {
            doc,
            operation,
            variables,
        };
        let mut scopes = Scopes::default();
        let mut roots = Vec::new();
        for (key, fields) in collect.fields(&[&operation.selection_set.node], "Query")? {
            let field = fields.first().ok_or(Unsupported::Other)?;
            let name = field.name.node.as_str();
            if name == "__typename" {
                roots.push((key, Root::Typename));
                continue;
            }
            let root = root_field(name).ok_or(Unsupported::Other)?;
            scopes = scopes.with(root.scope);
            let sets: Vec<&SelectionSet> = fields.iter().map(|f| &f.selection_set.node).collect();
            let mut selection = || match root.returns {
                Some(object) => collect.selection(&sets, object, &mut scopes),
                None => Ok(Vec::new()),
            };
            let argument = |name: &str| field.get_argument(name).map(|v| v.node.clone());
            let compiled = match root.calls {
                Calls::One(arg) => Root::One {
                    id: argument(arg).ok_or(Unsupported::Other)?,
                    selection: selection()?,
                },
                Calls::Each(arg) => Root::Each {
                    ids: argument(arg).ok_or(Unsupported::Other)?,
                    selection: selection()?,
                },
                Calls::List(Some(_)) => Root::Page {
                    limit: argument("limit"),
                    offset: argument("offset"),
                    filter: argument("filter"),
                    selection: selection()?,
                },
                Calls::List(None) => Root::Count {
                    filter: argument("filter"),
                },
                // Accounts and transactions run on async-graphql.
                Calls::Lookup(_) => return Err(Unsupported::Other),
            };
            roots.push((key, compiled));
        }
        Ok(Compiled { roots, scopes })
    }

    async fn run<'p>(
        &'p self,
        operation: &OperationDefinition,
        upstream: &Upstream,
        principal: &Principal,
        variables: &Variables,
    ) -> Option<Vec<u8>> {
        if !principal.scopes.covers(self.scopes) {
            return None;
        }
        // A value async-graphql's coercion would refuse (or coerce) is its to handle.
        for definition in &operation.variable_definitions {
            let definition = &definition.node;
            if !fits(
                &definition.var_type.node,
                variables.get(&definition.name.node),
            ) {
                return None;
            }
        }
        let read = |value: &Written| read_argument(operation, variables, value);
        // An id written in the document is borrowed from it; one from a variable is read.
        let id_argument = |written: &'p Written| -> Option<Cow<'p, str>> {
            match written {
                Written::String(id) => checked_id(id).is_ok().then_some(Cow::Borrowed(id.as_str())),
                other => id_of(read(other)?).map(Cow::Owned),
            }
        };
        // Every argument first, as the resolvers check theirs before any call.
        let mut arguments = Vec::with_capacity(self.roots.len());
        for (_, root) in &self.roots {
            arguments.push(match root {
                Root::Typename => Arguments::None,
                Root::One { id, .. } => Arguments::One(id_argument(id)?),
                Root::Each { ids, .. } => {
                    let ids = match ids {
                        Written::List(items) => {
                            items.iter().map(&id_argument).collect::<Option<Vec<_>>>()?
                        }
                        Written::Variable(_) => match read(ids)? {
                            Value::List(ids) => ids
                                .into_iter()
                                .map(|id| id_of(id).map(Cow::Owned))
                                .collect::<Option<Vec<_>>>()?,
                            one => vec![Cow::Owned(id_of(one)?)],
                        },
                        one => vec![id_argument(one)?],
                    };
                    if ids.len() > MAX_IDS {
                        return None;
                    }
                    Arguments::Many(ids)
                }
                Root::Page {
                    limit,
                    offset,
                    filter,
                    ..
                } => {
                    let limit = match optional(limit.as_ref().map(read))? {
                        Value::Null => DEFAULT_LIMIT,
                        Value::Number(n) => i32::try_from(n.as_i64()?).ok()?,
                        _ => return None,
                    };
                    let offset = match optional(offset.as_ref().map(read))? {
                        Value::Null => 0,
                        Value::Number(n) => i32::try_from(n.as_i64()?).ok()?,
                        _ => return None,
                    };
                    if !(0..=MAX_LIMIT).contains(&limit) || offset < 0 {
                        return None;
                    }
                    Arguments::Page {
                        offset: usize::try_from(offset).ok()?,
                        limit: usize::try_from(limit).ok()?,
                        matcher: matcher(optional(filter.as_ref().map(read))?, principal)?,
                    }
                }
                Root::Count { filter } => Arguments::Count {
                    matcher: matcher(optional(filter.as_ref().map(read))?, principal)?,
                },
            });
        }
        let lists = arguments
            .iter()
            .any(|a| matches!(a, Arguments::Page { .. } | Arguments::Count { .. }));
        let fetched = if lists {
            // With a list in the operation, the loader is asked root by root, as the
            // resolvers ask it: ids asked for after the list starts wait for it.
            let fetches = arguments.iter().map(|arguments| async move {
                match arguments {
                    Arguments::None => Fetched::Nothing,
                    Arguments::One(id) => Fetched::One(upstream.customer(id).await),
                    Arguments::Many(ids) => {
                        Fetched::Each(join_all(ids.iter().map(|id| upstream.customer(id))).await)
                    }
                    Arguments::Page { .. } | Arguments::Count { .. } => {
                        Fetched::List(upstream.listing().await)
                    }
                }
            });
            join_all(fetches).await
        } else {
            // Otherwise every id is known now: each distinct id is looked up once, all as one
            // batch, and the roots take their answers from there.
            let mut distinct: Vec<&str> = Vec::new();
            for arguments in &arguments {
                for id in arguments.ids() {
                    if !distinct.contains(&id.as_ref()) {
                        distinct.push(id);
                    }
                }
            }
            upstream.prefetch(&distinct);
            let found = join_all(distinct.iter().map(|id| upstream.customer(id))).await;
            let answer = |id: &Cow<'_, str>| {
                let index = distinct.iter().position(|d| *d == id.as_ref())?;
                found.get(index).cloned()
            };
            arguments
                .iter()
                .map(|arguments| match arguments {
                    Arguments::One(id) => answer(id).map_or(Fetched::Nothing, Fetched::One),
                    Arguments::Many(ids) => ids
                        .iter()
                        .map(answer)
                        .collect::<Option<Vec<_>>>()
                        .map_or(Fetched::Nothing, Fetched::Each),
                    _ => Fetched::Nothing,
                })
                .collect()
        };
        // The data object, written as JSON as it is rendered: no value tree in between.
        let mut out = Vec::with_capacity(1024);
        out.push(b'{');
        for (n, (((key, root), arguments), fetched)) in
            self.roots.iter().zip(&arguments).zip(fetched).enumerate()
        {
            if n > 0 {
                out.push(b',');
            }
            table::write_json(&mut out, key.as_str())?;
            out.push(b':');
            match (root, arguments, fetched) {
                (Root::Typename, _, _) => table::write_json(&mut out, "Query")?,
                (Root::One { selection, .. }, _, Fetched::One(lookup)) => {
                    record(&lookup, selection, &mut out)?;
                }
                (Root::Each { selection, .. }, _, Fetched::Each(lookups)) => {
                    out.push(b'[');
                    for (i, lookup) in lookups.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        record(lookup, selection, &mut out)?;
                    }
                    out.push(b']');
                }
                (
                    Root::Page { selection, .. },
                    Arguments::Page {
                        offset,
                        limit,
                        matcher,
                    },
                    Fetched::List(listing),
                ) => {
                    let listing = listing.ok().filter(|l| l.undecodable == 0)?;
                    out.push(b'[');
                    let page = listing
                        .customers
                        .iter()
                        .filter(|c| matcher.matches(c))
                        .skip(*offset)
                        .take(*limit);
                    for (i, customer) in page.enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        customer.as_ref().write_json(selection, &mut out)?;
                    }
                    out.push(b']');
                }
                (Root::Count { .. }, Arguments::Count { matcher }, Fetched::List(listing)) => {
                    let listing = listing.ok().filter(|l| l.undecodable == 0)?;
                    let count = listing
                        .customers
                        .iter()
                        .filter(|c| matcher.matches(c))
                        .count();
                    table::write_json(&mut out, &i32::try_from(count).unwrap_or(i32::MAX))?;
                }
                _ => return None,
            }
        }
        out.push(b'}');
        Some(out)
    }
}

impl Arguments<'_> {
    /// The ids a root looks up.
    fn ids(&self) -> &[Cow<'_, str>] {
        match self {
            Arguments::One(id) => std::slice::from_ref(id),
            Arguments::Many(ids) => ids,
            _ => &[],
        }
    }
}

/// A root field's arguments, read and checked as its resolver would.
enum Arguments<'a> {
    None,
    /// An id, borrowed from the plan when written in the document.
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
    Page {
        offset: usize,
        limit: usize,
        matcher: Matcher,
    },
    Count {
        matcher: Matcher,
    },
}

/// A record as a value: `null` for an id Bloc does not know; `None` when Bloc failed or a
/// value does not parse.
fn record(lookup: &Lookup, selection: &table::Selection, out: &mut Vec<u8>) -> Option<()> {
    match lookup {
        Ok(Some(customer)) => customer.as_ref().write_json(selection, out),
        Ok(None) => {
            out.extend_from_slice(b"null");
            Some(())
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{Compiled, Plan, Unsupported};
    use crate::auth::Scope;
    use crate::graphql::document;

    fn compile(query: &str) -> Result<Compiled, Unsupported> {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        Compiled::new(&doc, document::selected(&doc, None).unwrap(), None)
    }

    fn compiles(query: &str) -> bool {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        Plan::compile(&doc, document::selected(&doc, None).unwrap()).is_some()
    }

    #[test]
    fn every_query_the_tables_describe_compiles_and_nothing_else() {
        let id = "6410612c7f1b4b36103f872a";
        for query in [
            format!(r#"{{ customer(id: "{id}") {{ name kyc_tier status }} }}"#),
            format!(
                r#"{{ a: customer(id: "{id}") {{ n: name }} b: customer(id: "{id}") {{ id }} __typename }}"#
            ),
            format!(
                r#"query Named {{ customer(id: "{id}") {{ __typename address {{ city __typename }} SyncData {{ ID }} bvn }} }}"#
            ),
            r#"query($a: ID!, $b: ID!) { a: customer(id: $a) { name } b: customer(id: $b) { id } }"#.to_owned(),
            r#"query($id: ID! = "x") { customer(id: $id) { name } }"#.to_owned(),
            format!(r#"query($n: Int) {{ customer(id: "{id}") {{ name }} }}"#),
            format!(r#"{{ customer(id: "{id}") {{ ...f }} }} fragment f on Customer {{ name }}"#),
            format!(r#"{{ customer(id: "{id}") {{ ... on Customer {{ name }} }} }}"#),
            format!(r#"{{ customer(id: "{id}") {{ name @include(if: true) id @skip(if: true) }} }}"#),
            format!(r#"{{ customer(id: "{id}") {{ name }} customer(id: "{id}") {{ id }} }}"#),
            format!(r#"{{ customer(id: "{id}") {{ name name address {{ city }} address {{ street }} }} }}"#),
            "{ customer_count }".to_owned(),
            format!(r#"{{ customers_by_id(ids: ["{id}"]) {{ name }} }}"#),
            r#"query($f: CustomerFilter, $l: Int) { customers(limit: $l, filter: $f) { name } customer_count(filter: $f) }"#.to_owned(),
            r#"{ customer(id: "") { name } }"#.to_owned(),
            // @skip/@include on a variable: collected per run.
            r#"query($v: Boolean!) { customers { name @include(if: $v) } }"#.to_owned(),
        ] {
            assert!(compiles(&query), "{query}");
        }
        for query in [
            // Fields and types the tables do not describe; introspection; other operations.
            format!(r#"{{ customer(id: "{id}") {{ no_such_field }} }}"#),
            format!(r#"{{ customer(id: "{id}") {{ address {{ planet }} }} }}"#),
            "{ __schema { types { name } } }".to_owned(),
            "mutation { customer_count }".to_owned(),
            // Variables of types whose values it does not check, and other directives.
            r#"query($x: Float) { customer_count }"#.to_owned(),
            format!(r#"{{ customer(id: "{id}") {{ name @deprecated }} }}"#),
        ] {
            assert!(!compiles(&query), "{query}");
        }
        assert!(matches!(
            compile(r#"query($v: Boolean!) { customers { name @include(if: $v) } }"#),
            Err(Unsupported::NeedsVariables)
        ));
    }

    #[test]
    fn fields_that_share_a_key_are_merged_and_pii_is_noted() {
        let compiled = compile(
            r#"{ c: customer(id: "1") { name ...F } c: customer(id: "1") { address { city } } }
               fragment F on Customer { name address { street } }"#,
        )
        .map_err(|_| ())
        .unwrap();
        assert_eq!(compiled.roots.len(), 1);
        let super::Root::One { selection, .. } = &compiled.roots[0].1 else {
            panic!("not a record root");
        };
        let keys: Vec<&str> = selection.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["name", "address"]);
        let crate::graphql::table::Selected::Column { sub, .. } = &selection[1].1 else {
            panic!("address is a column");
        };
        let sub: Vec<&str> = sub.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(sub, ["street", "city"]);
        assert!(!compiled.scopes.contains(Scope::Pii));
        assert!(compiled.scopes.contains(Scope::Read));

        for pii in ["bvn", "date_of_birth", "phone_number", "email"] {
            let compiled = compile(&format!(r#"{{ customers {{ name {pii} }} }}"#))
                .map_err(|_| ())
                .unwrap();
            assert!(compiled.scopes.contains(Scope::Pii), "{pii}");
        }
    }
}
