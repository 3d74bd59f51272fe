//! Direct execution of the common operation shape, without async-graphql's executor.
//!
//! The queries the facade is built for are mostly one shape: `customer(id: "…")` root fields,
//! often aliased, selecting plain `Customer`, `Address` and `SyncData` fields. async-graphql runs
//! such an operation as a tree of boxed futures, one per field, each routed through the
//! extension chain with registry lookups by name; for 50 aliased customers that was most of
//! a request's CPU (BENCHMARKS.md, try 12).
//!
//! A [`Plan`] is that shape compiled once per cached document and operation, and only after
//! async-graphql has validated the operation (the caller checks). Running it fetches the
//! distinct ids through the request's loader, as the resolvers would, and builds the data in
//! selection order. It renders only the path where nothing goes wrong: when the caller lacks
//! a scope a field needs, Bloc fails an id, or a value Bloc sent does not parse, it gives up
//! and async-graphql runs the operation instead. The lookups are then already finished in
//! the loader, so the fallback makes no further call, and every error, path and `null` is
//! async-graphql's own. Ids may be written in the document or passed as `ID!` variables;
//! a variable value that is not a string falls back too. Anything the compiler does not know
//! (fragments, directives, other variables, other root fields, a field with no rendering
//! here) never gets a plan.

use async_graphql::{
    Name, Value, Variables,
    indexmap::IndexMap,
    parser::types::{BaseType, Field, OperationDefinition, OperationType, Selection, SelectionSet},
};

use super::{
    Upstream,
    query::{Calls, checked_id, root_field},
    table::{self, Row, Schema},
};
use crate::auth::{Principal, Scopes};

/// A compiled operation: its root fields in order and the distinct ids they name.
pub(crate) struct Plan {
    roots: Vec<(Name, Root)>,
    /// Distinct customer ids, in first-seen order; roots refer to them by index.
    ids: Vec<Id>,
    /// The scopes the selected fields need, as their tables say.
    scopes: Scopes,
}

/// A `customer` field's `id`: written in the document, or an `ID!` variable.
#[derive(PartialEq, Debug)]
enum Id {
    Literal(String),
    Variable(Name),
}

enum Root {
    Typename,
    /// A record looked up by id: the index of its id, and the selected fields.
    Record(usize, table::Selection),
}

impl Plan {
    /// The plan of `operation` when every part of it is one direct execution renders;
    /// `None` otherwise. The operation must have passed validation.
    pub(crate) fn compile(operation: &OperationDefinition) -> Option<Self> {
        if operation.ty != OperationType::Query || !operation.directives.is_empty() {
            return None;
        }
        // Variables: only `ID!` ones without a default, as clients pass ids.
        for definition in &operation.variable_definitions {
            let definition = &definition.node;
            let ty = &definition.var_type.node;
            let is_id = matches!(&ty.base, BaseType::Named(name) if name == "ID");
            if !is_id
                || ty.nullable
                || definition.default_value.is_some()
                || !definition.directives.is_empty()
            {
                return None;
            }
        }
        let mut plan = Plan {
            roots: Vec::new(),
            ids: Vec::new(),
            scopes: Scopes::default(),
        };
        for (key, field) in fields(&operation.selection_set.node)? {
            let name = field.name.node.as_str();
            if name == "__typename" {
                plan.roots.push((key, Root::Typename));
                continue;
            }
            // Root fields that look one record up by id; the rest are async-graphql's.
            let root = root_field(name)?;
            let (Calls::One(argument), Some(returns)) = (root.calls, root.returns) else {
                return None;
            };
            let id = match field.arguments.as_slice() {
                [(name, value)] if name.node == argument => {
                    match value.node.clone().into_const_with(Err) {
                        Ok(Value::String(id)) => Id::Literal(id),
                        Err(variable) => Id::Variable(variable),
                        Ok(_) => return None,
                    }
                }
                _ => return None,
            };
            // Ids the resolver rejects are its error to report.
            if matches!(&id, Id::Literal(id) if checked_id(id).is_err()) {
                return None;
            }
            let index = match plan.ids.iter().position(|known| *known == id) {
                Some(index) => index,
                None => {
                    let index = plan.ids.len();
                    plan.ids.push(id);
                    index
                }
            };
            plan.scopes = plan.scopes.with(root.scope);
            let selection = selection(&field.selection_set.node, returns, &mut plan.scopes)?;
            plan.roots.push((key, Root::Record(index, selection)));
        }
        Some(plan)
    }

    /// The operation's `data` with these variable values, or `None` when async-graphql must
    /// run it (see the module documentation).
    pub(crate) async fn run(
        &self,
        upstream: &Upstream,
        principal: &Principal,
        variables: &Variables,
    ) -> Option<Value> {
        if !principal.scopes.covers(self.scopes) {
            return None;
        }
        // A variable that is missing, not a string, or an id the resolver rejects: the
        // error (validation's or the resolver's) is async-graphql's to report.
        let mut ids = Vec::with_capacity(self.ids.len());
        for id in &self.ids {
            ids.push(match id {
                Id::Literal(id) => id.as_str(),
                Id::Variable(name) => match variables.get(name) {
                    Some(Value::String(id)) if checked_id(id).is_ok() => id.as_str(),
                    _ => return None,
                },
            });
        }
        // All in one pass, as async-graphql's executor asks for them: one loader batch.
        let found =
            futures::future::join_all(ids.into_iter().map(|id| upstream.customer(id))).await;
        let mut data = IndexMap::with_capacity(self.roots.len());
        for (key, root) in &self.roots {
            let value = match root {
                Root::Typename => Value::String("Query".to_owned()),
                Root::Record(index, selection) => match found.get(*index)? {
                    Ok(Some(customer)) => customer.as_ref().render(selection)?,
                    Ok(None) => Value::Null,
                    Err(_) => return None,
                },
            };
            data.insert(key.clone(), value);
        }
        Some(Value::Object(data))
    }
}

/// The fields of a selection set with their response keys, when it holds only fields
/// without directives and no response key twice (merging is async-graphql's business).
fn fields(set: &SelectionSet) -> Option<Vec<(Name, &Field)>> {
    let mut out: Vec<(Name, &Field)> = Vec::with_capacity(set.items.len());
    for selection in &set.items {
        let Selection::Field(field) = &selection.node else {
            return None;
        };
        let field = &field.node;
        if !field.directives.is_empty() {
            return None;
        }
        let key = field.response_key().node.clone();
        if out.iter().any(|(seen, _)| *seen == key) {
            return None;
        }
        out.push((key, field));
    }
    Some(out)
}

/// A selection on an object type, compiled against its table, adding the scopes its fields
/// need; `None` for anything the table does not have.
fn selection(
    set: &SelectionSet,
    object: &dyn Schema,
    scopes: &mut Scopes,
) -> Option<table::Selection> {
    let mut out = Vec::new();
    for (key, field) in fields(set)? {
        let name = field.name.node.as_str();
        if name == "__typename" {
            out.push((key, table::Selected::Typename));
            continue;
        }
        if !field.arguments.is_empty() {
            return None;
        }
        let column = object.field(name)?;
        *scopes = scopes.with(column.scope);
        let sub = match column.object {
            Some(child) => selection(&field.selection_set.node, child, scopes)?,
            None => Vec::new(),
        };
        out.push((
            key,
            table::Selected::Column {
                index: column.index,
                sub,
            },
        ));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::Plan;
    use crate::auth::Scope;
    use crate::graphql::document;

    fn compiles(query: &str) -> bool {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        Plan::compile(document::selected(&doc, None).unwrap()).is_some()
    }

    #[test]
    fn only_the_common_shape_compiles() {
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
        ] {
            assert!(compiles(&query), "{query}");
        }
        for query in [
            // Other variables, fragments, directives: async-graphql's to interpret.
            r#"query($id: ID! = "x") { customer(id: $id) { name } }"#.to_owned(),
            r#"query($id: String!) { customer(id: $id) { name } }"#.to_owned(),
            format!(r#"query($n: Int) {{ customer(id: "{id}") {{ name }} }}"#),
            format!(r#"{{ customer(id: "{id}") {{ ...f }} }} fragment f on Customer {{ name }}"#),
            format!(r#"{{ customer(id: "{id}") {{ ... on Customer {{ name }} }} }}"#),
            format!(r#"{{ customer(id: "{id}") {{ name @include(if: true) }} }}"#),
            // One response key twice: merging is async-graphql's.
            format!(r#"{{ customer(id: "{id}") {{ name }} customer(id: "{id}") {{ id }} }}"#),
            format!(r#"{{ customer(id: "{id}") {{ name name }} }}"#),
            // Other root fields, ids the resolver rejects, an id written as a number.
            "{ customer_count }".to_owned(),
            format!(r#"{{ customers_by_id(ids: ["{id}"]) {{ name }} }}"#),
            r#"{ customer(id: "") { name } }"#.to_owned(),
            format!(r#"{{ customer(id: "{}") {{ name }} }}"#, "x".repeat(129)),
            "{ customer(id: 7) { name } }".to_owned(),
            // A field direct execution does not know.
            format!(r#"{{ customer(id: "{id}") {{ no_such_field }} }}"#),
            format!(r#"{{ customer(id: "{id}") {{ address {{ planet }} }} }}"#),
            "mutation { customer_count }".to_owned(),
        ] {
            assert!(!compiles(&query), "{query}");
        }
    }

    #[test]
    fn ids_are_fetched_once_each_and_pii_is_noted() {
        let id = |n: u8| format!("{n:024}");
        let query = format!(
            r#"{{ a: customer(id: "{}") {{ name }} b: customer(id: "{}") {{ name }} c: customer(id: "{}") {{ name }} }}"#,
            id(1),
            id(2),
            id(1)
        );
        let doc = async_graphql::parser::parse_query(&query).unwrap();
        let plan = Plan::compile(document::selected(&doc, None).unwrap()).unwrap();
        assert_eq!(
            plan.ids,
            [super::Id::Literal(id(1)), super::Id::Literal(id(2))]
        );
        assert!(!plan.scopes.contains(Scope::Pii));
        assert!(plan.scopes.contains(Scope::Read));

        for pii in ["bvn", "date_of_birth", "phone_number", "email"] {
            let query = format!(r#"{{ customer(id: "{}") {{ name {pii} }} }}"#, id(1));
            let doc = async_graphql::parser::parse_query(&query).unwrap();
            let plan = Plan::compile(document::selected(&doc, None).unwrap()).unwrap();
            assert!(plan.scopes.contains(Scope::Pii), "{pii}");
        }
    }
}
