//! What the direct executor reads from a request: variable values it can take as they are, and
//! arguments read and checked as the resolvers read and check theirs.

use async_graphql::{
    InputType, Value, Variables,
    parser::types::{BaseType, OperationDefinition, Type},
};

use super::Written;
use crate::{
    auth::{Principal, Scope},
    graphql::{
        document,
        query::checked_id,
        types::{CustomerFilter, Matcher},
    },
};

/// Whether the direct executor checks values of this variable type: the scalars and input
/// the schema's arguments take, as lists or not.
pub(super) fn supported(ty: &Type) -> bool {
    match &ty.base {
        BaseType::Named(name) => matches!(
            name.as_str(),
            "ID" | "String" | "Int" | "Boolean" | "CustomerFilter"
        ),
        BaseType::List(item) => supported(item),
    }
}

/// Whether a variable's value is one async-graphql takes as it is: of the declared type
/// without coercion (an integer for an `ID`, say, is async-graphql's to coerce), `null` only
/// where the type is nullable. A variable not given is fine here: one that had to be is
/// refused before anything runs.
pub(super) fn fits(ty: &Type, value: Option<&Value>) -> bool {
    let Some(value) = value else {
        return true;
    };
    if matches!(value, Value::Null) {
        return ty.nullable;
    }
    match &ty.base {
        BaseType::List(item) => match value {
            Value::List(items) => items.iter().all(|v| fits(item, Some(v))),
            one => fits(item, Some(one)),
        },
        BaseType::Named(name) => match (name.as_str(), value) {
            ("ID" | "String", Value::String(_)) | ("Boolean", Value::Boolean(_)) => true,
            ("Int", Value::Number(n)) => n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            ("CustomerFilter", value) => {
                <CustomerFilter as InputType>::parse(Some(value.clone())).is_ok()
            }
            _ => false,
        },
    }
}

/// An optional argument's value: `null` when not given, `None` when unreadable.
pub(super) fn optional(read: Option<Option<Value>>) -> Option<Value> {
    match read {
        None => Some(Value::Null),
        Some(value) => value,
    }
}

/// An id as the resolver takes it: a string it accepts (other values are async-graphql's
/// to coerce or refuse).
pub(super) fn id_of(value: Value) -> Option<String> {
    match value {
        Value::String(id) if checked_id(&id).is_ok() => Some(id),
        _ => None,
    }
}

/// The filter as the resolver would read it, for this caller.
pub(super) fn matcher(filter: Value, principal: &Principal) -> Option<Matcher> {
    let filter = match filter {
        Value::Null => None,
        value => Some(<CustomerFilter as InputType>::parse(Some(value)).ok()?),
    };
    CustomerFilter::matcher(filter.as_ref(), principal.scopes.contains(Scope::Pii)).ok()
}

/// An argument's value with its variables read (a missing one is `null`, as if not given).
pub(super) fn read_argument(
    operation: &OperationDefinition,
    variables: &Variables,
    value: &Written,
) -> Option<Value> {
    match value {
        Written::Variable(name) => Some(document::variable(operation, variables, name)),
        Written::String(text) => Some(Value::String(text.clone())),
        other => other
            .clone()
            .into_const_with(|name| Ok::<_, ()>(document::variable(operation, variables, &name)))
            .ok(),
    }
}
