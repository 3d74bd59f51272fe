//! GraphQL-facing errors: the `extensions.code` values and the one conversion from upstream
//! errors, which is also where upstream failures are logged.
//!
//! Client messages are written here, never taken from Bloc: they contain no key, no upstream
//! URL and no upstream body.

use std::time::Duration;

use async_graphql::ErrorExtensions;

use crate::bloc;

/// Values of `extensions.code` in GraphQL errors.
pub mod code {
    /// An argument is malformed (empty id, negative limit...). Nothing was sent to Bloc.
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    /// Bloc rejected the facade's own key: a server misconfiguration.
    pub const UPSTREAM_UNAUTHORIZED: &str = "UPSTREAM_UNAUTHORIZED";
    /// Bloc answered 429; `extensions.retry_after` holds seconds when Bloc said.
    pub const UPSTREAM_RATE_LIMITED: &str = "UPSTREAM_RATE_LIMITED";
    /// Bloc could not be reached, timed out or answered 5xx.
    pub const UPSTREAM_UNAVAILABLE: &str = "UPSTREAM_UNAVAILABLE";
    /// Bloc answered something the facade cannot read (bad JSON, `success: false`, a field
    /// that does not parse).
    pub const UPSTREAM_BAD_RESPONSE: &str = "UPSTREAM_BAD_RESPONSE";
    /// No credentials, or credentials that are invalid or expired (HTTP 401).
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// The caller lacks the scope a field needs, or the operation is not allowed.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// The caller exceeded its own rate limit (HTTP 429, `Retry-After`).
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    /// A bug in the facade.
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
    /// The operation does not validate against the schema, or its variables do not fit.
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    /// The GraphQL document is not valid GraphQL syntax.
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    /// The HTTP request itself is malformed (not JSON, wrong parameter types...).
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    /// The request ran past the server's request timeout.
    pub const REQUEST_TIMEOUT: &str = "REQUEST_TIMEOUT";
    /// The GraphQL document is larger than `--max-query-bytes`.
    pub const QUERY_TOO_LARGE: &str = "QUERY_TOO_LARGE";
    /// The GraphQL document has more lexical tokens than `--max-tokens`.
    pub const TOO_MANY_TOKENS: &str = "TOO_MANY_TOKENS";
    /// Selections nest deeper than `--max-depth`.
    pub const MAX_DEPTH_EXCEEDED: &str = "MAX_DEPTH_EXCEEDED";
    /// The document has more aliases than `--max-aliases`.
    pub const TOO_MANY_ALIASES: &str = "TOO_MANY_ALIASES";
    /// The operation selects more root fields than `--max-root-fields`.
    pub const TOO_MANY_ROOT_FIELDS: &str = "TOO_MANY_ROOT_FIELDS";
    /// The operation costs more than `--max-complexity`.
    pub const MAX_COMPLEXITY_EXCEEDED: &str = "MAX_COMPLEXITY_EXCEEDED";
    /// The request names more distinct customer ids than `--max-customer-ids`.
    pub const TOO_MANY_CUSTOMER_IDS: &str = "TOO_MANY_CUSTOMER_IDS";
    /// The operation (or request) could make more Bloc calls than `--max-upstream-calls`;
    /// at a field, a list held more items than the cost model assumed.
    pub const MAX_UPSTREAM_CALLS_EXCEEDED: &str = "MAX_UPSTREAM_CALLS_EXCEEDED";
    /// `__schema`/`__type` asked of a server running without `--introspection`.
    pub const INTROSPECTION_DISABLED: &str = "INTROSPECTION_DISABLED";
    /// A persisted-query hash the server does not know (APQ: send the query text too).
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    /// Persisted queries are off, or the protocol version is not 1.
    pub const PERSISTED_QUERY_NOT_SUPPORTED: &str = "PERSISTED_QUERY_NOT_SUPPORTED";
    /// A batched request holds more operations than allowed.
    pub const BATCH_TOO_LARGE: &str = "BATCH_TOO_LARGE";
}

fn coded(message: impl Into<String>, code: &'static str) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", code))
}

/// A client mistake in an argument.
pub(crate) fn bad_user_input(message: impl Into<String>) -> async_graphql::Error {
    coded(message, code::BAD_USER_INPUT)
}

/// A field whose value Bloc sent in a form that does not parse.
pub(crate) fn upstream_field(field: &'static str) -> async_graphql::Error {
    tracing::warn!(
        field,
        "Bloc sent a value that does not parse; answering null"
    );
    coded(
        format!("Bloc sent a value for `{field}` that could not be read"),
        code::UPSTREAM_BAD_RESPONSE,
    )
}

/// Bloc list records (of a `noun`: "customer", "account"...) that were left out because they
/// could not be read at all.
pub(crate) fn upstream_records_dropped(noun: &'static str, count: usize) -> async_graphql::Error {
    tracing::warn!(count, noun, "left out records without a readable id");
    coded(
        format!("{count} {noun} record(s) from Bloc could not be read and were left out"),
        code::UPSTREAM_BAD_RESPONSE,
    )
}

/// The one conversion from an upstream failure to a client-facing error.
pub(crate) fn upstream(err: &bloc::Error) -> async_graphql::Error {
    use bloc::Error as E;
    match err {
        E::Unauthorized { status } => {
            tracing::error!(
                status,
                "Bloc rejected the secret key: check BLOC_SECRET_KEY (test and live keys differ)"
            );
            coded(
                "the service's Bloc credentials were rejected; this is a server problem",
                code::UPSTREAM_UNAUTHORIZED,
            )
        }
        E::RateLimited { retry_after } => {
            tracing::warn!(retry_after = ?retry_after, "Bloc rate limit reached");
            let retry_after = retry_after.map(|d| d.as_secs());
            coded(
                "Bloc's rate limit was reached; retry later",
                code::UPSTREAM_RATE_LIMITED,
            )
            .extend_with(|_, ext| {
                if let Some(seconds) = retry_after {
                    ext.set("retry_after", seconds);
                }
            })
        }
        E::ServerError { .. }
        | E::Timeout
        | E::Transport { .. }
        | E::CircuitOpen
        | E::DeadlineExceeded => {
            tracing::warn!(error = %err, "Bloc unavailable");
            let message = match err {
                E::Timeout => "Bloc timed out",
                E::ServerError { .. } => "Bloc answered with a server error",
                E::CircuitOpen => "Bloc is failing; calls to it are paused for a moment",
                E::DeadlineExceeded => "Bloc did not answer within the request's deadline",
                _ => "Bloc could not be reached",
            };
            coded(message, code::UPSTREAM_UNAVAILABLE)
        }
        E::BudgetExhausted { retry_after } => {
            tracing::warn!(?retry_after, "upstream budget exhausted");
            let seconds = retry_after_seconds(*retry_after);
            coded(
                "the service's budget for Bloc calls is exhausted; retry later",
                code::UPSTREAM_RATE_LIMITED,
            )
            .extend_with(move |_, ext| ext.set("retry_after", seconds))
        }
        E::NotPriced => coded(
            "this field needs more Bloc calls than the operation was priced at (a list above \
             it held more items than the cost model assumes); ask for fewer items or fetch \
             this field in a separate operation",
            code::MAX_UPSTREAM_CALLS_EXCEEDED,
        ),
        E::UnexpectedStatus { .. }
        | E::Decode { .. }
        | E::BodyTooLarge { .. }
        | E::Unsuccessful => {
            tracing::warn!(error = %err, "unreadable response from Bloc");
            coded(
                "Bloc sent a response that could not be read",
                code::UPSTREAM_BAD_RESPONSE,
            )
        }
    }
}

/// A wait as `retry_after` seconds (the extension and the `Retry-After` header): whole
/// seconds, rounded up, at least 1; saturating, so no wait is too long to report.
pub(crate) fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0))
        .max(1)
}

/// A field the caller's scopes do not cover.
pub(crate) fn forbidden(scope: crate::auth::Scope) -> async_graphql::Error {
    coded(
        format!("this field needs the `{}` scope", scope.name()),
        code::FORBIDDEN,
    )
}

/// A failure inside the facade; details go to the log only.
pub(crate) fn internal(detail: &str) -> async_graphql::Error {
    tracing::error!(detail, "internal error");
    coded("internal server error", code::INTERNAL_SERVER_ERROR)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::retry_after_seconds;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_and_saturates() {
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1_500)), 2);
        assert_eq!(retry_after_seconds(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_seconds(Duration::MAX), u64::MAX);
    }
}
