//! Small helpers over a parsed GraphQL document, shared by the limit checks, the result-shape
//! pass and the runner.

use async_graphql::{
    Name, Value, Variables,
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition},
};

/// The operation a request selects: the named one, or the only one.
pub(crate) fn selected<'a>(
    doc: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    selected_named(doc, name).map(|(_, op)| op)
}

/// The operation a request selects, with the name the document gives it (`None` for an
/// anonymous one, whatever name the request sent).
pub(crate) fn selected_named<'a>(
    doc: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<(Option<&'a Name>, &'a OperationDefinition)> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some((None, &op.node)),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .get_key_value(name)
            .map(|(name, op)| (Some(name), &op.node)),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.iter().next().map(|(name, op)| (Some(name), &op.node))
        }
        _ => None,
    }
}

/// A variable's value: as given, else its declared default, else `null`.
pub(crate) fn variable(
    operation: &OperationDefinition,
    variables: &Variables,
    name: &Name,
) -> Value {
    variables.get(name).cloned().unwrap_or_else(|| {
        operation
            .variable_definitions
            .iter()
            .find(|def| def.node.name.node == *name)
            .and_then(|def| def.node.default_value.as_ref())
            .map_or(Value::Null, |v| v.node.clone())
    })
}

/// A variable's value by reference: as given, else its declared default; `None` when it has
/// neither (then it is `null`).
pub(crate) fn variable_ref<'a>(
    operation: &'a OperationDefinition,
    variables: &'a Variables,
    name: &Name,
) -> Option<&'a Value> {
    variables.get(name).or_else(|| {
        operation
            .variable_definitions
            .iter()
            .find(|def| def.node.name.node == *name)
            .and_then(|def| def.node.default_value.as_ref())
            .map(|v| &v.node)
    })
}

/// Gives every variable the operation declares with a default, and the request leaves out,
/// its default.
pub(crate) fn fill_defaults(operation: &OperationDefinition, variables: &mut Variables) {
    for definition in &operation.variable_definitions {
        let definition = &definition.node;
        if let Some(default) = &definition.default_value
            && !variables.contains_key(&definition.name.node)
        {
            variables.insert(definition.name.node.clone(), default.node.clone());
        }
    }
}

/// The error for the first non-null variable the operation declares without a default that the
/// request leaves out or sets to `null`, as the spec's variable coercion words it.
pub(crate) fn missing_variable(
    operation: &OperationDefinition,
    variables: &Variables,
) -> Option<String> {
    operation
        .variable_definitions
        .iter()
        .find_map(|definition| {
            let definition = &definition.node;
            let ty = &definition.var_type.node;
            if ty.nullable || definition.default_value.is_some() {
                return None;
            }
            let name = &definition.name.node;
            match variables.get(name) {
                None => Some(format!(
                    "Variable \"${name}\" of required type \"{ty}\" was not provided."
                )),
                Some(Value::Null) => Some(format!(
                    "Variable \"${name}\" of non-null type \"{ty}\" must not be null."
                )),
                Some(_) => None,
            }
        })
}
