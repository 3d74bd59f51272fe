//! Upstream failures, in Bloc's terms.
//!
//! No variant carries the secret key, the upstream URL or Bloc's raw body: messages are safe
//! to log as they are. Bloc's own error text is dropped because it can echo customer data
//! ("customer bvn already exist" today, who knows what tomorrow).

use std::time::Duration;

/// A call to Bloc that did not produce a usable answer.
#[derive(Debug, Clone, thiserror::Error)]
#[allow(
    clippy::enum_variant_names,
    reason = "`ServerError` is HTTP's name for a 5xx answer"
)]
pub enum Error {
    /// Bloc rejected our key (401) or its permissions (403): the facade is misconfigured.
    #[error("Bloc rejected the secret key (HTTP {status})")]
    Unauthorized {
        /// The HTTP status Bloc answered with.
        status: u16,
    },
    /// Bloc answered 429.
    #[error("Bloc's rate limit was reached")]
    RateLimited {
        /// How long Bloc asked us to wait, when it said (`Retry-After` in seconds).
        retry_after: Option<Duration>,
    },
    /// Bloc answered with a 5xx status.
    #[error("Bloc answered HTTP {status}")]
    ServerError {
        /// The HTTP status Bloc answered with.
        status: u16,
        /// `Retry-After` in seconds, when Bloc sent one (a 503 may).
        retry_after: Option<Duration>,
    },
    /// The call took longer than the upstream timeout.
    #[error("Bloc did not answer in time")]
    Timeout,
    /// The connection failed or broke (DNS, refused, reset, TLS).
    #[error("could not reach Bloc ({kind})")]
    Transport {
        /// A short, URL-free description of what failed.
        kind: &'static str,
    },
    /// A status the contract does not explain (3xx, 405, 418...).
    #[error("Bloc answered an unexpected HTTP {status}")]
    UnexpectedStatus {
        /// The HTTP status Bloc answered with.
        status: u16,
    },
    /// A 2xx whose body is not Bloc's envelope or not the expected shape.
    #[error("Bloc's response could not be decoded ({detail})")]
    Decode {
        /// Where decoding failed (category, line and column), never the offending value.
        detail: String,
    },
    /// A body larger than the configured limit (`UPSTREAM_BODY_LIMIT_BYTES`), refused before
    /// it was held (not retried: it would be as large again).
    #[error("Bloc's response is larger than the {limit}-byte limit (UPSTREAM_BODY_LIMIT_BYTES)")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A 2xx with `"success": false`.
    #[error("Bloc answered success=false")]
    Unsuccessful,
    /// Bloc failed repeatedly; calls are paused for a cool-down (the circuit is open).
    #[error("Bloc is failing; calls are paused for a moment")]
    CircuitOpen,
    /// The request's deadline passed before the call could be made or finished.
    #[error("the request's deadline passed")]
    DeadlineExceeded,
    /// The process-wide budget for Bloc calls would not allow a call before the deadline.
    #[error("the upstream request budget is exhausted")]
    BudgetExhausted {
        /// How long until the budget allows a call.
        retry_after: Duration,
    },
    /// The request has made every Bloc call it was priced at (`--max-upstream-calls`): a
    /// list came back longer than the cost model assumed, and a relation under it would
    /// need one more.
    #[error("the request's priced upstream calls are used up")]
    NotPriced,
}

impl Error {
    /// Whether trying again may help: 5xx, 429, timeouts and broken connections.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::ServerError { .. }
                | Self::RateLimited { .. }
                | Self::Timeout
                | Self::Transport { .. }
        )
    }

    /// Whether this says Bloc itself is unwell (what opens the circuit). A 429 does not: it
    /// is about our budget, not Bloc's health.
    pub fn is_outage(&self) -> bool {
        matches!(
            self,
            Self::ServerError { .. } | Self::Timeout | Self::Transport { .. }
        )
    }

    /// Whether Bloc was reached and answered (with a failure), as opposed to the call not
    /// being made (circuit open, deadline, budget).
    pub fn is_answer(&self) -> bool {
        !matches!(
            self,
            Self::CircuitOpen | Self::DeadlineExceeded | Self::BudgetExhausted { .. }
        )
    }

    /// How long Bloc asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } | Self::ServerError { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    pub(crate) fn from_reqwest(err: &reqwest::Error) -> Self {
        if err.is_timeout() {
            Self::Timeout
        } else if err.is_connect() {
            Self::Transport { kind: "connect" }
        } else if err.is_body() || err.is_decode() {
            Self::Transport { kind: "body" }
        } else {
            Self::Transport { kind: "request" }
        }
    }

    pub(crate) fn from_json(err: &serde_json::Error) -> Self {
        // serde_json's Display can quote the value it choked on; keep only where it was.
        let category = match err.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "invalid JSON",
            serde_json::error::Category::Data => "unexpected shape",
            serde_json::error::Category::Eof => "truncated JSON",
        };
        Self::Decode {
            detail: format!("{category} at line {} column {}", err.line(), err.column()),
        }
    }
}
