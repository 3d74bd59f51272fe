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
    InputType, Name, ScalarType, Value, Variables,
    indexmap::IndexMap,
    parser::types::{BaseType, Field, OperationDefinition, OperationType, Selection, SelectionSet},
};

use super::{
    Upstream,
    query::checked_id,
    types::{self, CustomerStatus, Date, DateTime, Environment, Text},
};
use crate::{
    auth::{Principal, Scope},
    bloc::models,
};

/// A compiled operation: its root fields in order and the distinct ids they name.
pub(crate) struct Plan {
    roots: Vec<(Name, Root)>,
    /// Distinct customer ids, in first-seen order; roots refer to them by index.
    ids: Vec<Id>,
    /// Whether any field needs `customers:pii`.
    pii: bool,
}

/// A `customer` field's `id`: written in the document, or an `ID!` variable.
#[derive(PartialEq, Debug)]
enum Id {
    Literal(String),
    Variable(Name),
}

enum Root {
    Typename,
    /// `customer(id:)`: the index of its id, and the selected fields.
    Customer(usize, Vec<(Name, CustomerField)>),
}

enum CustomerField {
    Typename,
    Id,
    Name,
    KycTier,
    Status,
    Environment,
    CreatedAt,
    UpdatedAt,
    DateOfBirth,
    Text(Text<models::Customer>),
    Address(Vec<(Name, Leaf<models::Address>)>),
    SyncData(Vec<(Name, Leaf<models::SyncData>)>),
}

/// A field of `Address` or `SyncData`: all text, plus `__typename`.
enum Leaf<T> {
    Typename,
    Text(Text<T>),
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
            pii: false,
        };
        for (key, field) in fields(&operation.selection_set.node)? {
            let root = match field.name.node.as_str() {
                "__typename" => Root::Typename,
                "customer" => {
                    let id = match field.arguments.as_slice() {
                        [(name, value)] if name.node == "id" => {
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
                    let selected = customer_fields(&field.selection_set.node, &mut plan.pii)?;
                    Root::Customer(index, selected)
                }
                _ => return None,
            };
            plan.roots.push((key, root));
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
        if !self.ids.is_empty() && !principal.scopes.contains(Scope::Read) {
            return None;
        }
        if self.pii && !principal.scopes.contains(Scope::Pii) {
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
                Root::Customer(index, selected) => match found.get(*index)? {
                    Ok(Some(customer)) => customer_value(customer, selected)?,
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

fn customer_fields(set: &SelectionSet, pii: &mut bool) -> Option<Vec<(Name, CustomerField)>> {
    let mut out = Vec::new();
    for (key, field) in fields(set)? {
        let name = field.name.node.as_str();
        let compiled = match name {
            "__typename" => CustomerField::Typename,
            "id" => CustomerField::Id,
            "name" => CustomerField::Name,
            "kyc_tier" => CustomerField::KycTier,
            "status" => CustomerField::Status,
            "environment" => CustomerField::Environment,
            "created_at" => CustomerField::CreatedAt,
            "updated_at" => CustomerField::UpdatedAt,
            "date_of_birth" => {
                *pii = true;
                CustomerField::DateOfBirth
            }
            "address" => CustomerField::Address(leaves(&field.selection_set.node, |name| {
                types::address_field(name)
            })?),
            "SyncData" => CustomerField::SyncData(leaves(&field.selection_set.node, |name| {
                types::sync_data_field(name)
            })?),
            _ => {
                let (text, needs_pii) = types::customer_text_field(name)?;
                *pii |= needs_pii;
                CustomerField::Text(text)
            }
        };
        out.push((key, compiled));
    }
    Some(out)
}

fn leaves<T>(
    set: &SelectionSet,
    lookup: impl Fn(&str) -> Option<Text<T>>,
) -> Option<Vec<(Name, Leaf<T>)>> {
    fields(set)?
        .into_iter()
        .map(|(key, field)| match field.name.node.as_str() {
            "__typename" => Some((key, Leaf::Typename)),
            name => lookup(name).map(|text| (key, Leaf::Text(text))),
        })
        .collect()
}

/// One customer's selected fields; `None` when a value is unreadable.
fn customer_value(
    customer: &models::Customer,
    selected: &[(Name, CustomerField)],
) -> Option<Value> {
    let mut object = IndexMap::with_capacity(selected.len());
    for (key, field) in selected {
        let value = match field {
            CustomerField::Typename => Value::String("Customer".to_owned()),
            CustomerField::Id => Value::String(customer.id.clone()),
            CustomerField::Name => Value::String(customer.display_name().to_owned()),
            CustomerField::KycTier => {
                optional(&customer.kyc_tier, |t| Value::from(i32::from(t.0)))?
            }
            CustomerField::Status => {
                optional(&customer.status, |s| CustomerStatus::from(*s).to_value())?
            }
            CustomerField::Environment => {
                optional(&customer.environment, |e| Environment::from(*e).to_value())?
            }
            CustomerField::CreatedAt => optional(&customer.created_at, |t| {
                ScalarType::to_value(&DateTime(*t))
            })?,
            CustomerField::UpdatedAt => optional(&customer.updated_at, |t| {
                ScalarType::to_value(&DateTime(*t))
            })?,
            CustomerField::DateOfBirth => {
                optional(&customer.date_of_birth, |d| ScalarType::to_value(&Date(*d)))?
            }
            CustomerField::Text(text) => optional(text(customer), |s| Value::String(s.clone()))?,
            CustomerField::Address(leaves) => match customer.address.get() {
                Ok(Some(address)) => leaves_value(address, leaves, "Address")?,
                Ok(None) => Value::Null,
                Err(_) => return None,
            },
            CustomerField::SyncData(leaves) => match customer.sync_data.get() {
                Ok(Some(sync)) => leaves_value(sync, leaves, "SyncData")?,
                Ok(None) => Value::Null,
                Err(_) => return None,
            },
        };
        object.insert(key.clone(), value);
    }
    Some(Value::Object(object))
}

fn leaves_value<T>(record: &T, leaves: &[(Name, Leaf<T>)], typename: &str) -> Option<Value> {
    let mut object = IndexMap::with_capacity(leaves.len());
    for (key, leaf) in leaves {
        let value = match leaf {
            Leaf::Typename => Value::String(typename.to_owned()),
            Leaf::Text(text) => optional(text(record), |s| Value::String(s.clone()))?,
        };
        object.insert(key.clone(), value);
    }
    Some(Value::Object(object))
}

/// A nullable field: `null` when unset, `None` (fall back) when unreadable.
fn optional<T>(value: &models::Lenient<T>, render: impl FnOnce(&T) -> Value) -> Option<Value> {
    match value.get() {
        Ok(Some(v)) => Some(render(v)),
        Ok(None) => Some(Value::Null),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Plan;
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
        assert!(!plan.pii);

        for pii in ["bvn", "date_of_birth", "phone_number", "email"] {
            let query = format!(r#"{{ customer(id: "{}") {{ name {pii} }} }}"#, id(1));
            let doc = async_graphql::parser::parse_query(&query).unwrap();
            let plan = Plan::compile(document::selected(&doc, None).unwrap()).unwrap();
            assert!(plan.pii, "{pii}");
        }
    }
}
