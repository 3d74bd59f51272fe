//! Puts response fields back in the order the query asked for them.
//!
//! The GraphQL spec ("Serialized Map Ordering") wants each object's fields in the order of
//! its selection set. async-graphql 7 collects sibling fields from a `FuturesUnordered` and
//! so writes them in the order their resolvers finish (async-graphql issue #612): a slow
//! `z: customer(...)` before a fast `a: customer(...)` comes back as `{a, z}`. This pass walks
//! the data with the executed operation's selection sets (fragments, aliases, `@skip` and
//! `@include` included) and rebuilds each object in field-collection order.

use super::document::variable;
use async_graphql::{
    Name, Positioned, Value, Variables,
    indexmap::IndexMap,
    parser::types::{Directive, ExecutableDocument, OperationDefinition, Selection, SelectionSet},
};

/// The response keys of a selection, in collection order, each with the sub-selections
/// that were merged into it.
type Plan<'a> = Vec<(&'a Name, Vec<&'a SelectionSet>)>;

/// What the walk needs to evaluate fragments and `@skip`/`@include`.
pub(crate) struct Ordering<'a> {
    doc: &'a ExecutableDocument,
    operation: &'a OperationDefinition,
    variables: &'a Variables,
}

impl<'a> Ordering<'a> {
    pub(crate) fn new(
        doc: &'a ExecutableDocument,
        operation: &'a OperationDefinition,
        variables: &'a Variables,
    ) -> Self {
        Self {
            doc,
            operation,
            variables,
        }
    }

    /// Reorders the operation's `data` in place.
    pub(crate) fn restore(&self, data: &mut Value) {
        self.reorder(data, &[&self.operation.selection_set.node]);
    }

    fn reorder(&self, value: &mut Value, sets: &[&'a SelectionSet]) {
        match value {
            Value::Object(_) => self.apply(value, &self.plan(sets)),
            Value::List(items) => {
                // One plan serves every item of a list.
                let plan = self.plan(sets);
                for item in items {
                    match item {
                        Value::List(_) => self.reorder(item, sets),
                        _ => self.apply(item, &plan),
                    }
                }
            }
            _ => {}
        }
    }

    fn apply(&self, value: &mut Value, plan: &Plan<'a>) {
        let Value::Object(map) = value else { return };
        let mut ordered = IndexMap::with_capacity(map.len());
        for (key, sets) in plan {
            if let Some((key, mut child)) = map.swap_remove_entry(*key) {
                if sets.iter().any(|s| !s.items.is_empty()) {
                    self.reorder(&mut child, sets);
                }
                ordered.insert(key, child);
            }
        }
        // Anything not in the plan (nothing, in practice) keeps its place after the rest.
        ordered.extend(map.drain(..));
        *map = ordered;
    }

    fn plan(&self, sets: &[&'a SelectionSet]) -> Plan<'a> {
        let mut plan = Plan::new();
        let mut visited = Vec::new();
        for set in sets {
            self.collect(set, &mut plan, &mut visited);
        }
        plan
    }

    fn collect(&self, set: &'a SelectionSet, plan: &mut Plan<'a>, visited: &mut Vec<&'a Name>) {
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
