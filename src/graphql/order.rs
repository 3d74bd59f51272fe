//! Puts response fields back in the order the query asked for them.
//!
//! The GraphQL spec ("Serialized Map Ordering") wants each object's fields in the order of
//! its selection set. async-graphql 7 collects sibling fields from a `FuturesUnordered` and
//! so writes them in the order their resolvers finish (async-graphql issue #612): a slow
//! `z: customer(...)` before a fast `a: customer(...)` comes back as `{a, z}`.
//!
//! A [`Plan`] holds, for the executed operation, each object's response keys in
//! field-collection order (fragments, aliases, `@skip` and `@include` included) with the plan
//! of each key's value. It depends only on the document, the operation and the variables, so
//! the caller builds it once per cached document and operation when there are no variables.
//! Applying it reorders each object in place by swapping entries; an object already in order
//! (the usual case below the root) costs one key comparison per field.

use super::document::variable;
use async_graphql::{
    Name, Positioned, Value, Variables,
    indexmap::IndexMap,
    parser::types::{Directive, ExecutableDocument, OperationDefinition, Selection, SelectionSet},
};

/// Plans deeper than this are not built; anything below keeps async-graphql's order. Far
/// beyond the depth limit, so it only matters if that limit is raised absurdly.
const MAX_PLAN_DEPTH: usize = 64;

/// The response keys of one object, in order, each with the plan of its value (`None` for a
/// leaf).
pub(crate) struct Plan {
    keys: Vec<(Name, Option<Plan>)>,
}

impl Plan {
    /// The plan of `operation` run with `variables`. The document must have passed
    /// validation (no fragment cycles).
    pub(crate) fn new(
        doc: &ExecutableDocument,
        operation: &OperationDefinition,
        variables: &Variables,
    ) -> Self {
        let walk = Walk {
            doc,
            operation,
            variables,
        };
        walk.plan(&[&operation.selection_set.node], 0)
    }

    /// Reorders the operation's `data` in place.
    pub(crate) fn restore(&self, data: &mut Value) {
        match data {
            Value::Object(map) => self.apply(map),
            // One plan serves every item of a list (and of nested lists).
            Value::List(items) => items.iter_mut().for_each(|item| self.restore(item)),
            _ => {}
        }
    }

    fn apply(&self, map: &mut IndexMap<Name, Value>) {
        // Positions before `next` hold the planned keys seen so far, in order. Keys not in
        // the plan (none, in practice) end up after them.
        let mut next = 0;
        for (key, child) in &self.keys {
            let at = match map.get_index(next) {
                Some((k, _)) if k == key => next,
                _ => match map.get_index_of(key) {
                    Some(at) => at,
                    None => continue,
                },
            };
            if at != next {
                map.swap_indices(at, next);
            }
            if let Some(child) = child {
                child.restore(&mut map[next]);
            }
            next += 1;
        }
    }
}

/// What building a plan needs to evaluate fragments and `@skip`/`@include`.
struct Walk<'a> {
    doc: &'a ExecutableDocument,
    operation: &'a OperationDefinition,
    variables: &'a Variables,
}

impl<'a> Walk<'a> {
    /// The plan for the fields that `sets` (merged) select.
    fn plan(&self, sets: &[&'a SelectionSet], depth: usize) -> Plan {
        let mut collected: Vec<(&'a Name, Vec<&'a SelectionSet>)> = Vec::new();
        let mut visited = Vec::new();
        for set in sets {
            self.collect(set, &mut collected, &mut visited);
        }
        let keys = collected
            .into_iter()
            .map(|(key, sub)| {
                let leaf = sub.iter().all(|s| s.items.is_empty()) || depth >= MAX_PLAN_DEPTH;
                let child = (!leaf).then(|| self.plan(&sub, depth + 1));
                (key.clone(), child)
            })
            .collect();
        Plan { keys }
    }

    fn collect(
        &self,
        set: &'a SelectionSet,
        plan: &mut Vec<(&'a Name, Vec<&'a SelectionSet>)>,
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
                    match plan.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, sets)) => sets.push(sub),
                        None => plan.push((key, vec![sub])),
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
        // An unknown condition keeps the field in the plan: a planned key that is absent
        // from the data costs nothing.
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
    use async_graphql::{Name, Value, Variables, indexmap::IndexMap, parser::parse_query};

    use super::Plan;
    use crate::graphql::document;

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

    fn plan(query: &str) -> Plan {
        let doc = parse_query(query).unwrap();
        let op = document::selected(&doc, None).unwrap();
        Plan::new(&doc, op, &Variables::default())
    }

    #[test]
    fn objects_are_reordered_in_place_and_unplanned_keys_go_last() {
        let plan = plan("{ a b c d }");
        for shuffled in [
            &["a", "b", "c", "d"][..],
            &["d", "c", "b", "a"],
            &["c", "a", "d", "b"],
            &["b", "x", "d", "a", "c"],
        ] {
            let mut data = object(shuffled);
            plan.restore(&mut data);
            let got = keys(&data);
            assert_eq!(got[..4], ["a", "b", "c", "d"], "from {shuffled:?}");
            assert_eq!(got.len(), shuffled.len());
        }
    }

    #[test]
    fn absent_keys_are_skipped_and_lists_share_one_plan() {
        let plan = plan("{ list { a b c } }");
        let mut data = Value::Object(
            [(
                Name::new("list"),
                Value::List(vec![
                    object(&["c", "a"]),
                    object(&["b", "c", "a"]),
                    Value::Null,
                ]),
            )]
            .into_iter()
            .collect(),
        );
        plan.restore(&mut data);
        let Value::Object(root) = &data else { panic!() };
        let Value::List(items) = &root["list"] else {
            panic!()
        };
        assert_eq!(keys(&items[0]), ["a", "c"]);
        assert_eq!(keys(&items[1]), ["a", "b", "c"]);
        assert_eq!(items[2], Value::Null);
    }
}
