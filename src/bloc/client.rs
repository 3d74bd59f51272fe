//! The HTTP client for Bloc: one private `body` helper does auth, status mapping and the
//! body limit for every endpoint; each endpoint then unwraps Bloc's envelope and decodes.

use std::{sync::Arc, time::Duration};

use reqwest::{
    StatusCode,
    header::{self, HeaderMap, HeaderValue},
};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::value::RawValue;
use url::Url;

use super::{BlocConfig, Customer, Error, RECORD_BODY_LIMIT, models::Record};
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

/// The result of `GET /customers`.
#[derive(Default)]
pub struct CustomerList {
    /// Records that decoded (each may still hold invalid fields).
    pub customers: Vec<Customer>,
    /// Records that were left out because they are not objects with a string `id`.
    pub undecodable: usize,
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

/// Bloc's response envelope: `{ success, data, message, metadata? }`. `data` stays JSON text
/// (borrowed from the body) until the caller decodes it as what it expects.
#[derive(Deserialize)]
struct Envelope<'a> {
    success: bool,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// The envelope of one record (`GET /customers/{id}`), read with the record in one pass.
#[derive(Deserialize)]
struct RecordEnvelope {
    success: bool,
    #[serde(default)]
    data: Option<Record>,
}

/// What a 404 (or a 400 on an id lookup) means for the endpoint being called.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Missing {
    /// The resource does not exist: answer `None`.
    IsNone,
    /// The endpoint always exists: treat it as an unexpected status.
    IsError,
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

    /// `GET /customers/{id}`. `Ok(None)` when Bloc does not know the id.
    ///
    /// The id is opaque: it becomes exactly one percent-encoded path segment. `.` and `..`
    /// cannot be sent safely (URL libraries and proxies resolve them as dot segments), and
    /// no customer has such an id, so they answer `None` without a call.
    ///
    /// A record whose own id is not `id` (compared exactly) is an error, never an answer:
    /// served, it would show one customer's data under another's id.
    pub async fn customer(
        &self,
        id: &str,
        options: &CallOptions,
    ) -> Result<Option<Arc<Customer>>, Error> {
        let Some(url) = self.customer_url(id)? else {
            return Ok(None);
        };
        let Some(body) = self
            .body(url, Missing::IsNone, self.record_limit, options)
            .await?
        else {
            return Ok(None);
        };
        // The envelope and the record in one pass (a record that is malformed JSON, or of a
        // shape serde refuses, fails the envelope: `Decode` either way).
        // Checked as UTF-8 once, so that the parser need not check every string it reads.
        let text = std::str::from_utf8(&body).map_err(|_| Error::Decode {
            detail: "a body that is not UTF-8".into(),
        })?;
        let envelope: RecordEnvelope =
            serde_json::from_str(text).map_err(|e| Error::from_json(&e))?;
        if !envelope.success {
            return Err(Error::Unsuccessful);
        }
        let customer = envelope
            .data
            .and_then(|record| record.0.ok())
            .ok_or_else(|| Error::Decode {
                detail: "customer record without a string id".into(),
            })?;
        // Neither id goes in the message: the detail is logged and must stay free of
        // client input.
        if customer.id != id {
            return Err(Error::Decode {
                detail: "the record's id is not the id asked for".into(),
            });
        }
        // Weighed by the whole answer: the record's own text was not kept apart (the
        // envelope around it adds a few dozen bytes).
        // Shared from here on: a record is a few hundred bytes, moved many times otherwise.
        Ok(Some(Arc::new(customer.weighing(body.len()))))
    }

    /// `GET /customers`: every customer in one call (Bloc documents no paging parameters).
    /// A `null` list is an empty one.
    pub async fn customers(&self, options: &CallOptions) -> Result<CustomerList, Error> {
        let url = self.url(["customers"])?;
        let read = |data: Option<&RawValue>| {
            let records: Vec<&RawValue> = match data {
                None => Vec::new(),
                Some(data) => serde_json::from_str(data.get()).map_err(|_| Error::Decode {
                    detail: "customer list is not an array".into(),
                })?,
            };
            let total = records.len();
            let customers: Vec<Customer> = records
                .into_iter()
                .filter_map(|record| Customer::from_json(record.get()).ok())
                .collect();
            Ok(CustomerList {
                undecodable: total.saturating_sub(customers.len()),
                customers,
            })
        };
        // `Missing::IsError`: never `None`, but an empty list would be the answer.
        let Some(body) = self
            .body(url, Missing::IsError, self.body_limit, options)
            .await?
        else {
            return Ok(CustomerList::default());
        };
        if body.len() < DECODE_ON_WORKER_BELOW {
            return unwrap_envelope(&body, read);
        }
        tokio::task::spawn_blocking(move || unwrap_envelope(&body, read))
            .await
            .unwrap_or(Err(Error::Transport { kind: "internal" }))
    }

    fn customer_url(&self, id: &str) -> Result<Option<Url>, Error> {
        if id == "." || id == ".." {
            return Ok(None);
        }
        self.url(["customers", id]).map(Some)
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

/// Bodies larger than this are decoded on tokio's blocking pool: decoding a list of 10,000
/// customers (8 MB) takes tens of milliseconds, which on a request worker would stall every
/// request it carries.
const DECODE_ON_WORKER_BELOW: usize = 256 * 1024;

/// Unwraps Bloc's envelope and reads its `data` with `read`.
fn unwrap_envelope<T>(
    body: &[u8],
    read: impl FnOnce(Option<&RawValue>) -> Result<T, Error>,
) -> Result<T, Error> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| Error::from_json(&e))?;
    if !envelope.success {
        return Err(Error::Unsuccessful);
    }
    read(envelope.data)
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
