//! The HTTP client for Bloc: [`BlocClient::fetch`] calls an [`Endpoint`] and returns its
//! answer undecoded; one private `body` helper does auth, status mapping and the body limit
//! for every endpoint. Decoding is [`super::wire`]'s.

use std::{sync::Arc, time::Duration};

use reqwest::{
    StatusCode,
    header::{self, HeaderMap, HeaderValue},
};
use secrecy::ExposeSecret;
use url::Url;

use super::{
    BlocConfig, Customer, Error, RECORD_BODY_LIMIT,
    wire::{self, Wire},
};
use crate::auth::is_loopback;

mod finance;

pub use finance::{Owner, TransactionsQuery};

/// The longest `Retry-After` honoured or passed on. Bloc's budget is per minute, so no honest
/// wait is longer; a larger value (up to `u64::MAX` seconds, which overflowed the retry
/// arithmetic) is read as a minute.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A client for Bloc's customer endpoints. Cheap to clone (one shared connection pool).
#[derive(Clone)]
pub struct BlocClient {
    http: reqwest::Client,
    base: Url,
    /// Most bytes read from a list body.
    body_limit: usize,
    /// Most bytes read from one customer's body.
    record_limit: usize,
}

/// Why a [`BlocClient`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The key holds characters an HTTP header cannot carry (a newline, say).
    #[error("BLOC_SECRET_KEY contains characters that cannot be sent in an HTTP header")]
    KeyNotHeaderSafe,
    /// The Bloc URL is `http://` to a host that is not loopback: the key would travel in
    /// cleartext. (The URL itself is not shown: it may carry credentials.)
    #[error(
        "the Bloc URL (BLOC_API_URL, --bloc-api-url) is plain http:// to a host that is not \
         loopback, which would send the Bloc key in cleartext: use an https:// URL (plain http \
         is allowed only to localhost, 127.0.0.0/8 or ::1, for tests and the sandbox)"
    )]
    CleartextUrl,
    /// The Bloc URL is neither `https://` nor `http://`.
    #[error("the Bloc URL (BLOC_API_URL, --bloc-api-url) must be an https:// URL")]
    NotHttpUrl,
    /// reqwest could not set up TLS or its connection pool.
    #[error("could not build the HTTP client: {0}")]
    Http(reqwest::Error),
}

/// Per-call settings: how long this call may take, and the request id to send upstream.
#[derive(Clone, Debug, Default)]
pub struct CallOptions {
    /// Timeout for this call (never longer than the client's own).
    pub timeout: Option<Duration>,
    /// Sent as `X-Request-Id`, so Bloc-side logs can be matched to ours.
    pub request_id: Option<HeaderValue>,
}

/// What a 404 (or a 400 on an id lookup) means for the endpoint being called.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Missing {
    /// The resource does not exist: answer [`Wire::Missing`].
    IsNone,
    /// The endpoint always exists: treat it as an unexpected status.
    IsError,
}

/// One of Bloc's endpoints with its arguments: what a call asks for.
#[derive(Clone, Copy, Debug)]
pub enum Endpoint<'a> {
    /// `GET /customers/{id}`.
    Customer(&'a str),
    /// `GET /customers`: every customer in one call (Bloc documents no paging parameters).
    Customers,
    /// `GET /accounts/customers/accounts/{id}`: a customer's accounts.
    CustomerAccounts(&'a str),
    /// `GET /cards/customer/{id}`.
    CustomerCards(&'a str),
    /// `GET /wallets/customers/{id}`.
    CustomerWallets(&'a str),
    /// `GET /transactions?...`: one page of a customer's or an account's transactions.
    Transactions(&'a TransactionsQuery),
    /// `GET /accounts/{id}`.
    Account(&'a str),
    /// `GET /accounts/number/{number}`.
    AccountByNumber(&'a str),
    /// `GET /transactions/reference/{reference}`.
    Transaction(&'a str),
}

impl BlocClient {
    /// Builds a client; the key goes into a default header marked sensitive, so neither
    /// reqwest's nor our `Debug` output can show it.
    ///
    /// Refuses a Bloc URL that would send the key in cleartext: only `https://`, or `http://`
    /// to a loopback host.
    pub fn new(config: &BlocConfig) -> Result<Self, BuildError> {
        check_url(&config.api_url)?;
        let mut auth =
            HeaderValue::try_from(format!("Bearer {}", config.secret_key.expose_secret()))
                .map_err(|_| BuildError::KeyNotHeaderSafe)?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, auth);
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));

        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("bloc-graphql/", env!("CARGO_PKG_VERSION")))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.call_timeout)
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| BuildError::Http(e.without_url()))?;
        Ok(Self {
            http,
            base: config.api_url.clone(),
            body_limit: config.body_limit,
            record_limit: config.body_limit.min(RECORD_BODY_LIMIT),
        })
    }

    /// Calls `endpoint` and returns its answer undecoded ([`wire`](super::wire) decodes
    /// it): a body of at most the endpoint's limit, or [`Wire::Missing`].
    ///
    /// Ids are opaque: each becomes exactly one percent-encoded path segment. `.` and `..`
    /// cannot be sent safely (URL libraries and proxies resolve them as dot segments), and
    /// no record has such an id, so they answer [`Wire::Missing`] without a call.
    pub async fn fetch(
        &self,
        endpoint: Endpoint<'_>,
        options: &CallOptions,
    ) -> Result<Wire, Error> {
        let (url, missing, limit) = match endpoint {
            Endpoint::Customer(id) => (
                self.segments_url(&["customers", id])?,
                Missing::IsNone,
                self.record_limit,
            ),
            // `Missing::IsError`: never missing, but an empty list would be the answer.
            Endpoint::Customers => (
                Some(self.url(["customers"])?),
                Missing::IsError,
                self.body_limit,
            ),
            Endpoint::CustomerAccounts(id) => (
                self.segments_url(&["accounts", "customers", "accounts", id])?,
                Missing::IsNone,
                self.body_limit,
            ),
            Endpoint::CustomerCards(id) => (
                self.segments_url(&["cards", "customer", id])?,
                Missing::IsNone,
                self.body_limit,
            ),
            Endpoint::CustomerWallets(id) => (
                self.segments_url(&["wallets", "customers", id])?,
                Missing::IsNone,
                self.body_limit,
            ),
            // Always there: a 404 is not "no transactions" but an unexpected answer.
            Endpoint::Transactions(query) => (
                Some(self.transactions_url(query)?),
                Missing::IsError,
                self.body_limit,
            ),
            Endpoint::Account(id) => (
                self.segments_url(&["accounts", id])?,
                Missing::IsNone,
                self.record_limit,
            ),
            Endpoint::AccountByNumber(number) => (
                self.segments_url(&["accounts", "number", number])?,
                Missing::IsNone,
                self.record_limit,
            ),
            Endpoint::Transaction(reference) => (
                self.segments_url(&["transactions", "reference", reference])?,
                Missing::IsNone,
                self.record_limit,
            ),
        };
        let Some(url) = url else {
            return Ok(Wire::Missing);
        };
        Ok(match self.body(url, missing, limit, options).await? {
            Some(body) => Wire::Body(body.into()),
            None => Wire::Missing,
        })
    }

    /// `GET /customers/{id}`, decoded. `Ok(None)` when Bloc does not know the id.
    pub async fn customer(
        &self,
        id: &str,
        options: &CallOptions,
    ) -> Result<Option<Arc<Customer>>, Error> {
        wire::customer(id, &self.fetch(Endpoint::Customer(id), options).await?)
    }

    /// The URL of `segments`, each one percent-encoded path segment; `None` when one is `.`
    /// or `..`.
    fn segments_url(&self, segments: &[&str]) -> Result<Option<Url>, Error> {
        if segments.iter().any(|s| *s == "." || *s == "..") {
            return Ok(None);
        }
        self.url(segments.iter().copied()).map(Some)
    }

    fn url<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> Result<Url, Error> {
        let mut url = self.base.clone();
        // `new` admits only http(s) URLs, which always have a path.
        url.path_segments_mut()
            .map_err(|()| Error::Transport { kind: "base URL" })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Sends one GET and reads at most `limit` bytes of a successful answer's body; `None`
    /// when the resource is missing.
    async fn body(
        &self,
        url: Url,
        missing: Missing,
        limit: usize,
        options: &CallOptions,
    ) -> Result<Option<Vec<u8>>, Error> {
        let mut request = self.http.get(url);
        if let Some(timeout) = options.timeout {
            request = request.timeout(timeout);
        }
        if let Some(id) = &options.request_id {
            request = request.header("x-request-id", id.clone());
        }
        let response = request.send().await.map_err(|e| Error::from_reqwest(&e))?;
        let status = response.status();
        match status {
            s if s.is_success() => {}
            StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST if missing == Missing::IsNone => {
                return Ok(None);
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(Error::Unauthorized {
                    status: status.as_u16(),
                });
            }
            StatusCode::TOO_MANY_REQUESTS => {
                return Err(Error::RateLimited {
                    retry_after: retry_after(response.headers()),
                });
            }
            s if s.is_server_error() => {
                return Err(Error::ServerError {
                    status: status.as_u16(),
                    retry_after: retry_after(response.headers()),
                });
            }
            _ => {
                return Err(Error::UnexpectedStatus {
                    status: status.as_u16(),
                });
            }
        }
        read_body(response, limit).await.map(Some)
    }
}

/// Reads a body of at most `limit` bytes, chunk by chunk, so that a body claiming or turning
/// out to be larger is refused before it is held: a broken or hostile upstream cannot make
/// the facade allocate past the limit. A larger body is a bad response (not retried: it
/// would be as large again).
async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, Error> {
    let too_large = || Error::BodyTooLarge { limit };
    let declared = match response.content_length() {
        Some(length) => Some(usize::try_from(length).map_err(|_| too_large())?),
        None => None,
    };
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Error::from_reqwest(&e))?
    {
        if chunk.len() > limit.saturating_sub(body.len()) {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `Retry-After` as delta-seconds, at most [`MAX_RETRY_AFTER`]. Bloc documents none; the
/// HTTP-date form is ignored.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// Refuses a Bloc URL on which the key would travel in cleartext. Loopback is the one rule
/// for every URL the service fetches (the JWKS's too), kept in `auth`, the lowest module
/// that needs it.
fn check_url(url: &Url) -> Result<(), BuildError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if url.host().is_some_and(|host| is_loopback(&host)) => Ok(()),
        "http" => Err(BuildError::CleartextUrl),
        _ => Err(BuildError::NotHttpUrl),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(retry_after).unwrap();
        headers.insert(header::RETRY_AFTER, value);
        headers
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_capped_at_a_minute() {
        assert_eq!(retry_after(&headers("30")), Some(Duration::from_secs(30)));
        assert_eq!(retry_after(&headers(" 60 ")), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after(&headers("61")), Some(MAX_RETRY_AFTER));
        let endless = u64::MAX.to_string();
        assert_eq!(retry_after(&headers(&endless)), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after(&headers("-1")), None);
        assert_eq!(retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")), None);
    }

    #[test]
    fn only_loopback_hosts_may_be_reached_over_plain_http() {
        let check = |url: &str| check_url(&Url::parse(url).unwrap()).is_ok();
        for allowed in [
            "https://api.blochq.io/v1",
            "http://127.0.0.1:1/v1",
            "http://127.1:1/v1",
            "http://127.255.0.9/v1",
            "http://[::1]/v1",
            "http://[::ffff:127.0.0.1]/v1",
            "http://localhost/v1",
            "http://LocalHost:8081/v1",
        ] {
            assert!(check(allowed), "{allowed}");
        }
        for refused in [
            "http://api.blochq.io/v1",
            "http://128.0.0.1/v1",
            "http://0.0.0.0/v1",
            "http://[::]/v1",
            "http://[::ffff:10.0.0.1]/v1",
            "http://localhost.evil.example/v1",
            "http://localhost@evil.example/v1",
            "ftp://localhost/v1",
            "unix:/run/bloc.sock",
        ] {
            assert!(!check(refused), "{refused}");
        }
    }
}
