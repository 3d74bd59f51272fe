//! The HTTP client for Bloc: one private `get` helper does auth, status mapping, envelope
//! unwrapping and decoding for every endpoint.

use std::time::Duration;

use reqwest::{
    StatusCode,
    header::{self, HeaderMap, HeaderValue},
};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::value::RawValue;
use url::Url;

use super::{Customer, Error};
use crate::config::BlocConfig;

/// A client for Bloc's customer endpoints. Cheap to clone (one shared connection pool).
#[derive(Clone)]
pub struct BlocClient {
    http: reqwest::Client,
    base: Url,
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
    pub fn new(config: &BlocConfig) -> Result<Self, BuildError> {
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
        })
    }

    /// `GET /customers/{id}`. `Ok(None)` when Bloc does not know the id.
    ///
    /// The id is opaque: it becomes exactly one percent-encoded path segment. `.` and `..`
    /// cannot be sent safely (URL libraries and proxies resolve them as dot segments), and
    /// no customer has such an id, so they answer `None` without a call.
    pub async fn customer(
        &self,
        id: &str,
        options: &CallOptions,
    ) -> Result<Option<Customer>, Error> {
        let Some(url) = self.customer_url(id) else {
            return Ok(None);
        };
        let read = |data: Option<&RawValue>| {
            data.and_then(|data| Customer::from_json(data.get()).ok())
                .ok_or_else(|| Error::Decode {
                    detail: "customer record without a string id".into(),
                })
        };
        self.get(url, Missing::IsNone, options, read).await
    }

    /// `GET /customers`: every customer in one call (Bloc documents no paging parameters).
    /// A `null` list is an empty one.
    pub async fn customers(&self, options: &CallOptions) -> Result<CustomerList, Error> {
        let url = self.url(["customers"]);
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
                undecodable: total - customers.len(),
                customers,
            })
        };
        // `Missing::IsError`: never `None`, but an empty list would be the answer.
        Ok(self
            .get(url, Missing::IsError, options, read)
            .await?
            .unwrap_or_default())
    }

    fn customer_url(&self, id: &str) -> Option<Url> {
        if id == "." || id == ".." {
            return None;
        }
        Some(self.url(["customers", id]))
    }

    fn url<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("base URL is http(s), which always has a path")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// Sends one GET, unwraps Bloc's envelope and reads its `data` (`None` when absent or
    /// `null`) with `read`. `Ok(None)` when the resource is missing.
    async fn get<T>(
        &self,
        url: Url,
        missing: Missing,
        options: &CallOptions,
        read: impl FnOnce(Option<&RawValue>) -> Result<T, Error>,
    ) -> Result<Option<T>, Error> {
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
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::from_reqwest(&e))?;
        let envelope: Envelope = serde_json::from_slice(&body).map_err(|e| Error::from_json(&e))?;
        if !envelope.success {
            return Err(Error::Unsuccessful);
        }
        read(envelope.data).map(Some)
    }
}

/// `Retry-After` as delta-seconds. Bloc documents none; the HTTP-date form is ignored.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}
