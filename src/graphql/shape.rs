//! Gives async-graphql's `data` the shape the GraphQL spec requires.
//!
//! async-graphql 7 gets three things wrong that clients see:
//!
//! - sibling fields come back in the order their resolvers finish, not in query order
//!   (async-graphql issue #612; the spec's "Serialized Map Ordering");
//! - a field that errors is dropped from its parent instead of becoming `null`, and an object
//!   left with no fields becomes `null` itself (async-graphql issue #1549), so Apollo Client
//!   reports "Missing field" and hands components `undefined` where the schema promises
//!   `null`;
//! - an error on a non-null field does not make its parent `null` ("Errors and Non-Null
//!   Fields"), so a response can hold `null` where the schema says it never will.
//!
//! A [`Shape`] holds, for the executed operation, each object's response keys in
//! field-collection order (fragments, aliases, `@skip` and `@include` included), each with
//! its schema type and the plan of its value. [`Shape::complete`] walks `data` with it once:
//! it puts keys in order (swapping in place), writes `null` for a key that is missing, and
//! propagates `null` from a non-null position to the nearest nullable one. An object that
//! async-graphql turned into `null` is rebuilt when the errors show it was resolved (some
//! error's path runs through it); an object whose whole selection was skipped is told apart
//! from a `null` one by the sentinel field `super::sentinel` adds to such selection sets
//! before execution, which the walk removes. Errors themselves are kept, one per path and
//! message (async-graphql resolves a field selected twice twice).

use std::{collections::HashMap, sync::OnceLock};

use async_graphql::{
    Name, PathSegment, Positioned, ServerError, Value, Variables,
    indexmap::IndexMap,
    parser::types::{
        BaseType, Directive, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
        Type, TypeKind, TypeSystemDefinition,
    },
};

use super::{document::variable, sentinel::SENTINEL};

/// Plans deeper than this are not built; anything below is left as async-graphql wrote it.
/// Far beyond the depth limit, so it only matters if that limit is raised absurdly.
const MAX_PLAN_DEPTH: usize = 64;

/// The response keys of one object, in order, each with its type and the plan of its value.
pub(crate) struct Shape {
    keys: Vec<Key>,
}

struct Key {
    name: Name,
    /// The field's type in the schema; `None` for fields the walk leaves alone
    /// (introspection's `__schema` and `__type`).
    ty: Option<&'static Type>,
    /// The plan of the value, for object types.
    child: Option<Shape>,
}

impl Shape {
    /// The plan of `operation` run with `variables`. The document must have passed
    /// validation (no fragment cycles, every field exists).
    pub(crate) fn new(
        doc: &ExecutableDocument,
        operation: &OperationDefinition,
        variables: &Variables,
    ) -> Self {
        let walk = Collector {
            doc,
            operation,
            variables,
            types: FieldTypes::get(),
        };
        walk.plan(&[&operation.selection_set.node], "Query", 0)
    }

    /// Gives `data` the spec's shape (see the module doc), and keeps one error per path and
    /// message. `data` is the operation's result: never `null` unless a non-null root field
    /// failed.
    pub(crate) fn complete(&self, data: &mut Value, errors: &mut Vec<ServerError>) {
        // Concurrent resolvers report in the order they finish; a stable order makes equal
        // results equal bytes (for caches, and for clients that diff responses). Sorted
        // before duplicates go, so the one kept is always the first in the query.
        errors.sort_by(|a, b| {
            let at = |e: &ServerError| e.locations.iter().map(|p| (p.line, p.column)).collect();
            let (x, y): (Vec<_>, Vec<_>) = (at(a), at(b));
            x.cmp(&y).then_with(|| compare_paths(&a.path, &b.path))
        });
        dedup(errors);
        let trie = (!errors.is_empty()).then(|| Trie::of(errors));
        if matches!(data, Value::Null) {
            // async-graphql's root object holds no fields: every one failed or was skipped.
            *data = Value::Object(IndexMap::new());
        }
        if let Value::Object(map) = data
            && self.apply(map, trie.as_ref()).is_err()
        {
            *data = Value::Null;
        }
    }

    /// Completes one object in place; `Err` when it must become `null` (a non-null field of
    /// it is `null`).
    fn apply(&self, map: &mut IndexMap<Name, Value>, errors: Option<&Trie<'_>>) -> Result<(), ()> {
        // Positions before `next` hold the planned keys seen so far, in order.
        for (next, key) in self.keys.iter().enumerate() {
            let found = match map.get_index(next) {
                Some((k, _)) if *k == key.name => Some(next),
                _ => map.get_index_of(&key.name),
            };
            match found {
                Some(at) if at != next => map.swap_indices(at, next),
                Some(_) => {}
                None => {
                    map.shift_insert(next, key.name.clone(), Value::Null);
                }
            }
            let Some((_, value)) = map.get_index_mut(next) else {
                return Err(());
            };
            let below = errors.and_then(|t| t.field(&key.name));
            let null = complete_value(key.ty, key.child.as_ref(), value, below);
            if null && key.ty.is_some_and(|ty| !ty.nullable) {
                return Err(());
            }
        }
        map.shift_remove(SENTINEL);
        Ok(())
    }
}

/// Completes the value at one position of type `ty`; returns whether it is `null` after.
fn complete_value(
    ty: Option<&Type>,
    plan: Option<&Shape>,
    value: &mut Value,
    errors: Option<&Trie<'_>>,
) -> bool {
    let Some(ty) = ty else {
        return matches!(value, Value::Null);
    };
    match (&ty.base, value) {
        (BaseType::Named(_), value @ Value::Null) => {
            // An object async-graphql turned into null because none of its fields came
            // back, which errors below it prove was resolved: rebuild it.
            let (Some(plan), Some(errors)) = (plan, errors) else {
                return true;
            };
            if !errors.has_children() {
                return true;
            }
            let mut map = IndexMap::new();
            if plan.apply(&mut map, Some(errors)).is_err() {
                return true;
            }
            *value = Value::Object(map);
            false
        }
        (_, Value::Null) => true,
        (BaseType::List(item), value @ Value::List(_)) => {
            let Value::List(items) = value else {
                return false;
            };
            let mut null = false;
            for (index, element) in items.iter_mut().enumerate() {
                let below = errors.and_then(|t| t.index(index));
                if complete_value(Some(item), plan, element, below) && !item.nullable {
                    null = true;
                    break;
                }
            }
            if null {
                *value = Value::Null;
            }
            null
        }
        (BaseType::Named(_), value @ Value::Object(_)) => {
            let (Some(plan), Value::Object(map)) = (plan, &mut *value) else {
                return false;
            };
            if plan.apply(map, errors).is_err() {
                *value = Value::Null;
                return true;
            }
            false
        }
        _ => false,
    }
}

/// Orders paths segment by segment, list indexes by number.
fn compare_paths(a: &[PathSegment], b: &[PathSegment]) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for (x, y) in a.iter().zip(b) {
        let order = match (x, y) {
            (PathSegment::Field(x), PathSegment::Field(y)) => x.cmp(y),
            (PathSegment::Index(x), PathSegment::Index(y)) => x.cmp(y),
            (PathSegment::Field(_), PathSegment::Index(_)) => Ordering::Less,
            (PathSegment::Index(_), PathSegment::Field(_)) => Ordering::Greater,
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// Keeps the first error of each path and message, in order.
fn dedup(errors: &mut Vec<ServerError>) {
    if errors.len() < 2 {
        return;
    }
    /// A path segment that can be hashed (async-graphql's `PathSegment` cannot).
    #[derive(PartialEq, Eq, Hash)]
    enum Segment {
        Field(String),
        Index(usize),
    }
    let key = |e: &ServerError| {
        let path: Vec<Segment> = e
            .path
            .iter()
            .map(|s| match s {
                PathSegment::Field(name) => Segment::Field(name.clone()),
                PathSegment::Index(index) => Segment::Index(*index),
            })
            .collect();
        (path, e.message.clone())
    };
    // A set, not a scan: a response may carry thousands of errors (a list of 500 customers
    // without the PII scope), and pairwise comparison would be quadratic.
    let mut seen = std::collections::HashSet::with_capacity(errors.len());
    errors.retain(|e| seen.insert(key(e)));
}

/// The errors' paths as a tree, to ask whether any error lies at or below a position.
#[derive(Default)]
struct Trie<'a> {
    fields: HashMap<&'a str, Trie<'a>>,
    indexes: HashMap<usize, Trie<'a>>,
}

impl<'a> Trie<'a> {
    fn of(errors: &'a [ServerError]) -> Self {
        let mut root = Trie::default();
        for error in errors {
            let mut node = &mut root;
            for segment in &error.path {
                node = match segment {
                    PathSegment::Field(name) => node.fields.entry(name.as_str()).or_default(),
                    PathSegment::Index(index) => node.indexes.entry(*index).or_default(),
                };
            }
        }
        root
    }

    fn field(&self, name: &str) -> Option<&Trie<'a>> {
        self.fields.get(name)
    }

    fn index(&self, index: usize) -> Option<&Trie<'a>> {
        self.indexes.get(&index)
    }

    fn has_children(&self) -> bool {
        !self.fields.is_empty() || !self.indexes.is_empty()
    }
}

/// The type of every field of every object type in the schema, read once from its SDL.
struct FieldTypes(HashMap<String, HashMap<String, Type>>);

impl FieldTypes {
    fn get() -> &'static FieldTypes {
        static TYPES: OnceLock<FieldTypes> = OnceLock::new();
        TYPES.get_or_init(|| {
            let mut types = HashMap::new();
            // The SDL is the schema's own export, so it always parses.
            if let Ok(doc) = async_graphql::parser::parse_schema(super::sdl()) {
                for definition in doc.definitions {
                    let TypeSystemDefinition::Type(ty) = definition else {
                        continue;
                    };
                    let TypeKind::Object(object) = &ty.node.kind else {
                        continue;
                    };
                    let fields = object
                        .fields
                        .iter()
                        .map(|f| (f.node.name.node.to_string(), f.node.ty.node.clone()))
                        .collect();
                    types.insert(ty.node.name.node.to_string(), fields);
                }
            }
            FieldTypes(types)
        })
    }

    /// The type of `field` on `object`; `__typename` is `String!` everywhere.
    fn of(&'static self, object: &str, field: &str) -> Option<&'static Type> {
        static TYPENAME: OnceLock<Type> = OnceLock::new();
        if field == "__typename" {
            return Some(TYPENAME.get_or_init(|| Type {
                base: BaseType::Named(Name::new("String")),
                nullable: false,
            }));
        }
        self.0.get(object)?.get(field)
    }
}

/// The named type at the bottom of a (list) type.
fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(item) => named(item),
    }
}

/// What building a plan needs to evaluate fragments and `@skip`/`@include`.
struct Collector<'a> {
    doc: &'a ExecutableDocument,
    operation: &'a OperationDefinition,
    variables: &'a Variables,
    types: &'static FieldTypes,
}

/// One response key while fields are collected: the field name it selects and every
/// selection set given for it.
type Collected<'a> = Vec<(&'a Name, &'a Name, Vec<&'a SelectionSet>)>;

impl<'a> Collector<'a> {
    /// The plan for the fields that `sets` (merged) select on an object of type `object`.
    fn plan(&self, sets: &[&'a SelectionSet], object: &str, depth: usize) -> Shape {
        let mut collected: Collected<'a> = Vec::new();
        let mut visited = Vec::new();
        for set in sets {
            self.collect(set, &mut collected, &mut visited);
        }
        let keys = collected
            .into_iter()
            .filter(|(key, _, _)| key.as_str() != SENTINEL)
            .map(|(key, field, sub)| {
                let ty = match field.as_str() {
                    "__schema" | "__type" => None,
                    field => self.types.of(object, field),
                };
                let selects = sub.iter().any(|s| !s.items.is_empty());
                let child = match ty {
                    Some(ty) if selects && depth < MAX_PLAN_DEPTH => {
                        Some(self.plan(&sub, named(ty), depth.saturating_add(1)))
                    }
                    _ => None,
                };
                Key {
                    name: key.clone(),
                    ty,
                    child,
                }
            })
            .collect();
        Shape { keys }
    }

    fn collect(
        &self,
        set: &'a SelectionSet,
        plan: &mut Collected<'a>,
        visited: &mut Vec<&'a Name>,
    ) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    if !self.included(&field.directives) {
                        continue;
                    }
                    let key = &field.response_key().node;
                    let sub = &field.selection_set.node;
                    match plan.iter_mut().find(|(k, _, _)| *k == key) {
                        Some((_, _, sets)) => sets.push(sub),
                        None => plan.push((key, &field.name.node, vec![sub])),
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if !self.included(&spread.node.directives) || visited.contains(&name) {
                        continue;
                    }
                    visited.push(name);
                    if let Some(fragment) = self.doc.fragments.get(name) {
                        self.collect(&fragment.node.selection_set.node, plan, visited);
                    }
                }
                Selection::InlineFragment(inline) => {
                    if self.included(&inline.node.directives) {
                        self.collect(&inline.node.selection_set.node, plan, visited);
                    }
                }
            }
        }
    }

    fn included(&self, directives: &[Positioned<Directive>]) -> bool {
        // An unknown condition keeps the field in the plan (validation rejects such a
        // document before it runs).
        directives.iter().all(|d| match d.node.name.node.as_str() {
            "skip" => self.condition(&d.node) != Some(true),
            "include" => self.condition(&d.node) != Some(false),
            _ => true,
        })
    }

    /// The value of a directive's `if:` argument, literal or from a variable (or its default).
    fn condition(&self, directive: &Directive) -> Option<bool> {
        let arg = directive.get_argument("if")?;
        let value = arg
            .node
            .clone()
            .into_const_with(|var| Ok::<_, ()>(variable(self.operation, self.variables, &var)));
        match value {
            Ok(Value::Boolean(b)) => Some(b),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{
        Name, PathSegment, ServerError, Value, Variables, indexmap::IndexMap, parser::parse_query,
    };
    use serde_json::json;

    use super::Shape;
    use crate::graphql::document;
    use crate::graphql::sentinel::{SENTINEL, with_sentinels};

    fn object(keys: &[&str]) -> Value {
        let map: IndexMap<Name, Value> = keys
            .iter()
            .map(|k| (Name::new(k), Value::from(*k)))
            .collect();
        Value::Object(map)
    }

    fn keys(value: &Value) -> Vec<String> {
        match value {
            Value::Object(map) => map.keys().map(|k| k.to_string()).collect(),
            _ => panic!("not an object: {value}"),
        }
    }

    fn plan(query: &str) -> Shape {
        let doc = parse_query(query).unwrap();
        let op = document::selected(&doc, None).unwrap();
        Shape::new(&doc, op, &Variables::default())
    }

    fn error(path: &[PathSegment]) -> ServerError {
        let mut error = ServerError::new("failed", None);
        error.path = path.to_vec();
        error
    }

    fn field(name: &str) -> PathSegment {
        PathSegment::Field(name.into())
    }

    /// Completes async-graphql's `data` (given as JSON) with errors at `paths`.
    fn complete(query: &str, data: serde_json::Value, paths: &[&[PathSegment]]) -> String {
        let mut data = Value::from_json(data).unwrap();
        let mut errors = paths.iter().map(|p| error(p)).collect();
        plan(query).complete(&mut data, &mut errors);
        serde_json::to_string(&data).unwrap()
    }

    #[test]
    fn objects_are_reordered_in_place() {
        let plan = plan("{ __typename customer_count customers { id } customers_by_id { id } }");
        let planned = [
            "__typename",
            "customer_count",
            "customers",
            "customers_by_id",
        ];
        for shuffled in [
            &planned[..],
            &[
                "customers_by_id",
                "customers",
                "customer_count",
                "__typename",
            ],
            &[
                "customers",
                "__typename",
                "customers_by_id",
                "customer_count",
            ],
        ] {
            let mut data = object(shuffled);
            plan.complete(&mut data, &mut Vec::new());
            assert_eq!(keys(&data), planned, "from {shuffled:?}");
        }
    }

    #[test]
    fn a_dropped_nullable_field_becomes_null_in_its_place() {
        let got = complete(
            r#"{ customer(id: "1") { id kyc_tier name } }"#,
            json!({"customer": {"name": "Ada", "id": "1"}}),
            &[&[field("customer"), field("kyc_tier")]],
        );
        assert_eq!(
            got,
            r#"{"customer":{"id":"1","kyc_tier":null,"name":"Ada"}}"#
        );
    }

    #[test]
    fn an_object_nulled_because_all_its_fields_failed_is_rebuilt() {
        let got = complete(
            r#"{ customer(id: "1") { kyc_tier address { city } } }"#,
            json!({"customer": null}),
            &[
                &[field("customer"), field("kyc_tier")],
                &[field("customer"), field("address"), field("city")],
            ],
        );
        assert_eq!(
            got,
            r#"{"customer":{"kyc_tier":null,"address":{"city":null}}}"#
        );
    }

    #[test]
    fn a_null_object_without_errors_below_it_stays_null() {
        let got = complete(
            r#"{ a: customer(id: "1") { id } b: customer(id: "2") { id } }"#,
            json!({"b": null}),
            &[&[field("a")]],
        );
        assert_eq!(got, r#"{"a":null,"b":null}"#);
    }

    #[test]
    fn null_in_a_non_null_field_propagates_to_the_nearest_nullable_ancestor() {
        let got = complete(
            r#"{ customer(id: "1") { id name } customer_count }"#,
            json!({"customer": {"id": "1"}, "customer_count": 3}),
            &[&[field("customer"), field("name")]],
        );
        assert_eq!(got, r#"{"customer":null,"customer_count":3}"#);

        // `customers: [Customer!]!`: an item's null nulls the list, and the list's the root.
        let got = complete(
            "{ customers { name } customer_count }",
            json!({"customers": [{"name": "A"}, {}], "customer_count": 2}),
            &[&[field("customers"), PathSegment::Index(1), field("name")]],
        );
        assert_eq!(got, "null");
    }

    #[test]
    fn nullable_list_items_take_the_null_themselves() {
        let got = complete(
            "{ customers_by_id(ids: []) { name } }",
            json!({"customers_by_id": [{"name": "A"}, {}]}),
            &[&[
                field("customers_by_id"),
                PathSegment::Index(1),
                field("name"),
            ]],
        );
        assert_eq!(got, r#"{"customers_by_id":[{"name":"A"},null]}"#);
    }

    #[test]
    fn an_empty_root_is_an_empty_object_and_errors_are_kept_once() {
        let mut data = Value::Null;
        let mut errors = vec![error(&[field("x")]), error(&[field("x")])];
        plan("{ customer_count @skip(if: true) }").complete(&mut data, &mut errors);
        assert_eq!(serde_json::to_string(&data).unwrap(), "{}");
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn of_an_error_reported_twice_the_one_first_in_the_query_is_kept() {
        let at = |column| {
            let mut e = error(&[field("c")]);
            e.locations = vec![async_graphql::Pos { line: 1, column }];
            e
        };
        for order in [[9, 3], [3, 9]] {
            let mut data = Value::Null;
            let mut errors = order.iter().map(|c| at(*c)).collect();
            plan(r#"{ c: customer(id: "1") { id } c: customer(id: "1") { name } }"#)
                .complete(&mut data, &mut errors);
            let columns: Vec<usize> = errors.iter().map(|e| e.locations[0].column).collect();
            assert_eq!(columns, [3], "from {order:?}");
        }
    }

    #[test]
    fn sentinels_go_only_where_a_selection_may_select_nothing() {
        let needs = |q: &str| with_sentinels(&parse_query(q).unwrap()).is_some();
        assert!(!needs(
            r#"{ customer(id: "1") { id name @skip(if: true) } }"#
        ));
        assert!(!needs(
            r#"{ customer(id: "1") { ...F } } fragment F on Customer { id }"#
        ));
        assert!(needs(r#"{ customer(id: "1") { name @skip(if: true) } }"#));
        assert!(needs(
            r#"{ customer(id: "1") { ...F @include(if: false) } } fragment F on Customer { id }"#
        ));
        assert!(needs(
            r#"{ customer(id: "1") { address { ... @skip(if: true) { city } } id } }"#
        ));
        assert!(!needs("{ __schema { types { name @skip(if: true) } } }"));

        let doc = with_sentinels(
            &parse_query(r#"{ customer(id: "1") { name @skip(if: true) } }"#).unwrap(),
        )
        .unwrap();
        let plan = Shape::new(
            &doc,
            document::selected(&doc, None).unwrap(),
            &Variables::default(),
        );
        let mut data = Value::from_json(json!({"customer": {SENTINEL: "Customer"}})).unwrap();
        plan.complete(&mut data, &mut Vec::new());
        assert_eq!(serde_json::to_string(&data).unwrap(), r#"{"customer":{}}"#);
    }
}
