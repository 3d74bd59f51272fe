//! Small helpers over a parsed GraphQL document, shared by the limit checks and the
//! field-order fix-up.

use async_graphql::{
    Name, Value, Variables,
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition},
};

/// The operation a request selects: the named one, or the only one.
pub(crate) fn selected<'a>(
    doc: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
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
