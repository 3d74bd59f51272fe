//! GraphQL request parameters from a JSON body or a GET query string.

use serde_json::{Map, Value};

use crate::persisted::PersistedRef;

/// One operation as the client sent it: the query text may be missing when a persisted-query
/// hash stands in for it.
pub(crate) struct Incoming {
    pub query: Option<String>,
    pub operation_name: Option<String>,
    pub variables: Option<Map<String, Value>>,
    pub persisted: Option<PersistedRef>,
}

/// Why request parameters could not be read; the message is shown to the client.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BadParams(pub String);

/// A POST body: one operation, or a batch of them (a JSON array).
pub(crate) enum Body {
    Single(Incoming),
    Batch(Vec<Incoming>),
}

/// Reads a POST body.
pub(crate) fn from_body(body: &[u8]) -> Result<Body, BadParams> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| BadParams("the request body is not valid JSON".into()))?;
    match value {
        Value::Object(object) => Ok(Body::Single(from_object(object)?)),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(BadParams("a batch must hold at least one operation".into()));
            }
            items
                .into_iter()
                .map(|item| match item {
                    Value::Object(object) => from_object(object),
                    _ => Err(BadParams(
                        "each operation of a batch must be a JSON object".into(),
                    )),
                })
                .collect::<Result<_, _>>()
                .map(Body::Batch)
        }
        _ => Err(BadParams(
            "the request body must be a JSON object (or an array of them)".into(),
        )),
    }
}

fn from_object(mut object: Map<String, Value>) -> Result<Incoming, BadParams> {
    let query = match object.remove("query") {
        Some(Value::String(query)) => Some(query),
        None | Some(Value::Null) => None,
        Some(_) => return Err(BadParams("`query` must be a string".into())),
    };
    let operation_name = match object.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => return Err(BadParams("`operationName` must be a string".into())),
    };
    let variables = optional_object(object.remove("variables"), "variables")?;
    let extensions = optional_object(object.remove("extensions"), "extensions")?;
    let persisted = match extensions.and_then(|mut e| e.remove("persistedQuery")) {
        None | Some(Value::Null) => None,
        Some(Value::Object(p)) => match (p.get("version"), p.get("sha256Hash")) {
            (Some(Value::Number(version)), Some(Value::String(hash))) => Some(PersistedRef {
                version: version.as_i64().unwrap_or(0),
                sha256: hash.to_ascii_lowercase(),
            }),
            _ => {
                return Err(BadParams(
                    "`extensions.persistedQuery` needs a numeric `version` and a `sha256Hash`"
                        .into(),
                ));
            }
        },
        Some(_) => {
            return Err(BadParams(
                "`extensions.persistedQuery` must be an object".into(),
            ));
        }
    };
    if query.is_none() && persisted.is_none() {
        return Err(BadParams("`query` is required".into()));
    }
    Ok(Incoming {
        query,
        operation_name,
        variables,
        persisted,
    })
}

fn optional_object(
    value: Option<Value>,
    name: &str,
) -> Result<Option<Map<String, Value>>, BadParams> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(object)) => Ok(Some(object)),
        Some(_) => Err(BadParams(format!("`{name}` must be a JSON object"))),
    }
}

/// Reads a GET query string: `query`, `operationName`, and `variables`/`extensions` as JSON
/// text.
pub(crate) fn from_query_string(raw: Option<&str>) -> Result<Incoming, BadParams> {
    let mut object = Map::new();
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let value = match key.as_ref() {
            "query" | "operationName" => Value::String(value.into_owned()),
            "variables" | "extensions" => serde_json::from_str(&value)
                .map_err(|_| BadParams(format!("`{key}` must be JSON text")))?,
            _ => continue,
        };
        if object.insert(key.into_owned(), value).is_some() {
            return Err(BadParams("each parameter may be given only once".into()));
        }
    }
    from_object(object)
}
