//! The spec's field collection (CollectFields), done when an operation is compiled: fragments
//! and inline fragments expanded, `@skip`/`@include` applied, fields merged by response key,
//! each field found in its type's table.

use async_graphql::{
    Name, Positioned, Value, Variables,
    parser::types::{
        Directive, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
    },
};

use super::{Unsupported, Written, input::read_argument};
use crate::{
    auth::Scopes,
    graphql::table::{self, Schema},
};

/// The spec's field collection over the document, ahead of execution.
pub(super) struct Collect<'a> {
    pub(super) doc: &'a ExecutableDocument,
    pub(super) operation: &'a OperationDefinition,
    /// The variables' values when collecting for one run; `None` when compiling once.
    pub(super) variables: Option<&'a Variables>,
}

/// Collected fields: each response key with every field written for it, in query order.
pub(super) type Collected<'a> = Vec<(Name, Vec<&'a Field>)>;

impl<'a> Collect<'a> {
    /// The fields `sets` select on an object of type `typename`, merged by response key.
    pub(super) fn fields(
        &self,
        sets: &[&'a SelectionSet],
        typename: &str,
    ) -> Result<Collected<'a>, Unsupported> {
        let mut collected: Collected<'a> = Vec::new();
        for set in sets {
            self.collect(set, typename, &mut collected, 0)?;
        }
        Ok(collected)
    }

    fn collect(
        &self,
        set: &'a SelectionSet,
        typename: &str,
        out: &mut Collected<'a>,
        depth: usize,
    ) -> Result<(), Unsupported> {
        // Validation has ruled out fragment cycles; this only bounds the work.
        if depth > 64 {
            return Err(Unsupported::Other);
        }
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    if !self.included(&field.node.directives)? {
                        continue;
                    }
                    let key = field.node.response_key().node.clone();
                    match out.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, fields)) => fields.push(&field.node),
                        None => out.push((key, vec![&field.node])),
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let fragment = self
                        .doc
                        .fragments
                        .get(&spread.node.fragment_name.node)
                        .ok_or(Unsupported::Other)?;
                    let on = Some(&fragment.node.type_condition.node.on.node);
                    let set = &fragment.node.selection_set.node;
                    self.fragment(&spread.node.directives, on, set, typename, out, depth)?;
                }
                Selection::InlineFragment(inline) => {
                    let on = inline.node.type_condition.as_ref().map(|c| &c.node.on.node);
                    let set = &inline.node.selection_set.node;
                    self.fragment(&inline.node.directives, on, set, typename, out, depth)?;
                }
            }
        }
        Ok(())
    }

    /// A fragment's fields, when its conditions keep it. Its type condition must be the type
    /// collected for (only objects here, so validation allows no other).
    fn fragment(
        &self,
        directives: &[Positioned<Directive>],
        on: Option<&Name>,
        set: &'a SelectionSet,
        typename: &str,
        out: &mut Collected<'a>,
        depth: usize,
    ) -> Result<(), Unsupported> {
        if !self.included(directives)? {
            return Ok(());
        }
        if on.is_some_and(|on| on != typename) {
            return Err(Unsupported::Other);
        }
        self.collect(set, typename, out, depth.saturating_add(1))
    }

    /// Whether `@skip`/`@include` keep a selection; any other directive is not for the
    /// direct executor.
    fn included(&self, directives: &[Positioned<Directive>]) -> Result<bool, Unsupported> {
        let mut included = true;
        for directive in directives {
            let skip = match directive.node.name.node.as_str() {
                "skip" => true,
                "include" => false,
                _ => return Err(Unsupported::Other),
            };
            let condition = directive
                .node
                .get_argument("if")
                .ok_or(Unsupported::Other)?;
            let value = match (&condition.node, self.variables) {
                (Written::Variable(_), None) => return Err(Unsupported::NeedsVariables),
                (value, Some(variables)) => read_argument(self.operation, variables, value),
                (value, None) => value.clone().into_const_with(|_| Err(())).ok(),
            };
            let Some(Value::Boolean(value)) = value else {
                return Err(Unsupported::Other);
            };
            included &= value != skip;
        }
        Ok(included)
    }

    /// The merged selection of fields on an object type, compiled against its table, adding
    /// the scopes its fields need.
    pub(super) fn selection(
        &self,
        sets: &[&'a SelectionSet],
        object: &dyn Schema,
        scopes: &mut Scopes,
    ) -> Result<table::Selection, Unsupported> {
        let mut out = Vec::new();
        for (key, fields) in self.fields(sets, object.typename())? {
            let field = fields.first().ok_or(Unsupported::Other)?;
            let name = field.name.node.as_str();
            if name == "__typename" {
                out.push((key, table::Selected::Typename));
                continue;
            }
            if !field.arguments.is_empty() {
                return Err(Unsupported::Other);
            }
            let column = object.field(name).ok_or(Unsupported::Other)?;
            *scopes = scopes.with(column.scope);
            let sub = match column.object {
                Some(child) => {
                    let sets: Vec<&SelectionSet> =
                        fields.iter().map(|f| &f.selection_set.node).collect();
                    self.selection(&sets, child, scopes)?
                }
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
        Ok(out)
    }
}
