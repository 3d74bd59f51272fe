//! The identity provider's signing keys, fetched from its JWKS URL: at start-up, on a
//! schedule, and when a token names a key not seen yet.
//!
//! At most one fetch is in flight, and a token naming an unknown key causes a fetch only when
//! none was made in the last [`JwksConfig::MIN_INTERVAL`], so a flood of tokens with made-up
//! `kid`s costs the provider one request per interval at most. A failed fetch keeps the keys
//! already held (a provider outage does not lock clients out) and is retried after the same
//! interval. The keys are read with jsonwebtoken's own JWK types; the fetch and its schedule
//! are written here, on reqwest, because the policy is this facade's own (one rate limit for
//! unknown `kid`s shared by every request, keys kept across failures, a body limit).

use std::{
    sync::{
        Arc, RwLock, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::http::{HeaderMap, header};
use jsonwebtoken::Validation;
use tokio::{sync::Mutex, time::Instant};
use url::{Host, Url};

use super::jwk::KeySet;

/// Where the keys are and how they are fetched.
#[derive(Clone, Debug)]
pub struct JwksConfig {
    /// The JWKS URL: `https://`, or `http://` to a loopback host.
    pub url: Url,
    /// Longest time between fetches. A `Cache-Control: max-age` shorter than this (and at
    /// least `min_interval`) is honoured instead.
    pub refresh: Duration,
    /// Shortest time between fetches asked for by tokens naming an unknown key; also the wait
    /// before retrying a failed fetch (or `refresh`, when shorter).
    pub min_interval: Duration,
    /// Timeout of one fetch, connection included.
    pub timeout: Duration,
    /// Largest JWKS body read; a larger one fails the fetch.
    pub body_limit: usize,
}

impl JwksConfig {
    /// Default of [`JwksConfig::refresh`].
    pub const REFRESH: Duration = Duration::from_secs(600);
    /// Default of [`JwksConfig::min_interval`].
    pub const MIN_INTERVAL: Duration = Duration::from_secs(30);
    /// Default of [`JwksConfig::timeout`].
    pub const TIMEOUT: Duration = Duration::from_secs(5);
    /// Default of [`JwksConfig::body_limit`]: some 150 RSA keys.
    pub const BODY_LIMIT: usize = 64 * 1024;

    /// How long after a fetch that worked the next one is due: the provider's `max-age`
    /// within `min_interval..=refresh`, else `refresh`.
    fn next_fetch(&self, max_age: Option<Duration>) -> Duration {
        max_age.map_or(self.refresh, |age| age.clamp(self.retry(), self.refresh))
    }

    /// How long after a failed fetch the next one is due.
    fn retry(&self) -> Duration {
        self.min_interval.min(self.refresh)
    }

    /// The defaults, for the keys at `url`.
    pub fn new(url: Url) -> Self {
        Self {
            url,
            refresh: Self::REFRESH,
            min_interval: Self::MIN_INTERVAL,
            timeout: Self::TIMEOUT,
            body_limit: Self::BODY_LIMIT,
        }
    }
}

/// The keys, shared by every request, and the task that keeps them fresh.
#[derive(Clone)]
pub(super) struct Jwks(Arc<Inner>);

struct Inner {
    config: JwksConfig,
    http: reqwest::Client,
    /// The token rules each key's validation starts from.
    rules: Validation,
    keys: RwLock<Arc<KeySet>>,
    /// Held for the whole of a fetch: one fetch in flight.
    fetches: Mutex<Schedule>,
    /// The refresh task has been started.
    running: AtomicBool,
    /// Fetches that brought a usable key set, and fetches that failed, for `/metrics`.
    fetched: AtomicU64,
    failed: AtomicU64,
}

struct Schedule {
    /// When the last fetch started; `None` before the first.
    last: Option<Instant>,
    /// When the refresh task fetches next.
    next: Instant,
    /// Why the last fetch failed; `None` when it worked.
    error: Option<String>,
}

/// The JWKS's counts, for `/metrics`.
#[derive(Clone, Copy, Debug, Default)]
pub struct JwksCounts {
    /// Keys held now.
    pub keys: usize,
    /// Fetches that brought a usable key set.
    pub fetched: u64,
    /// Fetches that failed (the keys held were kept).
    pub failed: u64,
}

/// What the last fetch gave, for `bloc-graphql check`.
#[derive(Clone, Debug)]
pub struct KeysStatus {
    /// Keys held.
    pub keys: usize,
    /// Why the last fetch failed, when it did.
    pub error: Option<String>,
}

impl Jwks {
    /// Checks the URL and builds the HTTP client; the keys are fetched by the refresh task,
    /// started here when a Tokio runtime is running (else on first use).
    pub(super) fn new(config: JwksConfig, rules: Validation) -> Result<Self, String> {
        if !fetchable(&config.url) {
            return Err(format!(
                "--jwt-jwks-url {} must be https:// (http:// only to a loopback host)",
                config.url
            ));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("bloc-graphql/", env!("CARGO_PKG_VERSION")))
            .no_proxy()
            .redirect(same_origin_redirects())
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| format!("cannot build the JWKS client: {}", e.without_url()))?;
        let jwks = Self(Arc::new(Inner {
            config,
            http,
            rules,
            keys: RwLock::new(Arc::default()),
            fetches: Mutex::new(Schedule {
                last: None,
                next: Instant::now(),
                error: None,
            }),
            running: AtomicBool::new(false),
            fetched: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }));
        jwks.ensure_running();
        Ok(jwks)
    }

    /// The JWKS URL.
    pub(super) fn url(&self) -> &Url {
        &self.0.config.url
    }

    /// The keys held now.
    pub(super) fn keys(&self) -> Arc<KeySet> {
        self.ensure_running();
        match self.0.keys.read() {
            Ok(keys) => keys.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Fetches the keys again for a token naming one not held, unless a fetch started less
    /// than `min_interval` ago; waits for a fetch in flight rather than starting another.
    pub(super) async fn refresh_for_unknown_key(&self) {
        let mut schedule = self.0.fetches.lock().await;
        let recent = schedule
            .last
            .is_some_and(|last| last.elapsed() < self.0.config.min_interval);
        if !recent {
            self.0.fetch(&mut schedule).await;
        }
    }

    /// The keys held and the last fetch's error, fetching first if none was tried yet.
    pub(super) async fn status(&self) -> KeysStatus {
        let mut schedule = self.0.fetches.lock().await;
        if schedule.last.is_none() {
            self.0.fetch(&mut schedule).await;
        }
        KeysStatus {
            keys: self.keys().len(),
            error: schedule.error.clone(),
        }
    }

    /// The keys held and the fetches so far (never fetches itself).
    pub(super) fn counts(&self) -> JwksCounts {
        JwksCounts {
            keys: self.keys().len(),
            fetched: self.0.fetched.load(Ordering::Relaxed),
            failed: self.0.failed.load(Ordering::Relaxed),
        }
    }

    /// Starts the refresh task once, when there is a runtime to run it on.
    fn ensure_running(&self) {
        if self.0.running.load(Ordering::Acquire) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if !self.0.running.swap(true, Ordering::AcqRel) {
            runtime.spawn(refresh(Arc::downgrade(&self.0)));
        }
    }
}

/// Fetches when the schedule says so, until the keys are dropped.
async fn refresh(keys: Weak<Inner>) {
    loop {
        let Some(inner) = keys.upgrade() else {
            return;
        };
        let next = {
            let mut schedule = inner.fetches.lock().await;
            if Instant::now() >= schedule.next {
                inner.fetch(&mut schedule).await;
            }
            schedule.next
        };
        drop(inner);
        tokio::time::sleep_until(next).await;
    }
}

impl Inner {
    /// One fetch; called with the schedule locked. A failure keeps the keys held and is logged
    /// once per outage (never with a token: none is at hand here).
    async fn fetch(&self, schedule: &mut Schedule) {
        let started = Instant::now();
        schedule.last = Some(started);
        match self.download().await {
            Ok((keys, max_age)) => {
                self.fetched.fetch_add(1, Ordering::Relaxed);
                let count = keys.len();
                match self.keys.write() {
                    Ok(mut held) => *held = Arc::new(keys),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(keys),
                }
                if schedule.error.take().is_some() {
                    tracing::info!(url = %self.config.url, keys = count, "JWKS fetched again");
                } else {
                    tracing::debug!(url = %self.config.url, keys = count, "JWKS fetched");
                }
                let wait = self.config.next_fetch(max_age);
                schedule.next = started.checked_add(wait).unwrap_or(started);
            }
            Err(error) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                if schedule.error.is_none() {
                    tracing::warn!(
                        url = %self.config.url, %error,
                        "cannot fetch the JWKS; JWTs signed with keys not held are refused until it works"
                    );
                } else {
                    tracing::debug!(url = %self.config.url, %error, "JWKS fetch failed again");
                }
                schedule.error = Some(error);
                let wait = self.config.retry();
                schedule.next = started.checked_add(wait).unwrap_or(started);
            }
        }
    }

    /// GET the JWKS: a 2xx within the body limit holding at least one usable key.
    async fn download(&self) -> Result<(KeySet, Option<Duration>), String> {
        let mut response = self
            .http
            .get(self.config.url.clone())
            .header(header::ACCEPT, "application/json, application/jwk-set+json")
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if !response.status().is_success() {
            return Err(format!("the provider answered {}", response.status()));
        }
        let max_age = max_age(response.headers());
        let limit = self.config.body_limit;
        let too_large = || format!("the JWKS is larger than {limit} bytes");
        if response
            .content_length()
            .is_some_and(|length| usize::try_from(length).map_or(true, |l| l > limit))
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| e.without_url().to_string())?
        {
            if chunk.len() > limit.saturating_sub(body.len()) {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok((KeySet::parse(&body, &self.rules)?, max_age))
    }
}

/// `Cache-Control: max-age`, when the provider sends one.
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|directive| {
            let seconds = directive.trim().strip_prefix("max-age=")?;
            seconds.trim_matches('"').parse().ok()
        })
        .map(Duration::from_secs)
}

/// Redirects are followed only within the URL's own origin (scheme, host and port), three
/// at most: a provider moving its JWKS path is fine, a redirect to another host is not.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first();
        let same_origin = first.is_some_and(|first| first.origin() == attempt.url().origin());
        if same_origin && attempt.previous().len() <= 3 {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// Whether keys may be fetched from `url`: `https://`, or `http://` to a loopback host (for
/// tests; the same rule as the Bloc URL's).
fn fetchable(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => url.host().is_some_and(|host| is_loopback(&host)),
        _ => false,
    }
}

/// `localhost`, 127.0.0.0/8 and `::1` (also as `::ffff:127.x.y.z`). The url crate has already
/// normalised the host (`127.1` is 127.0.0.1, names are lowercase).
pub(crate) fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => *name == "localhost",
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        let mut headers = HeaderMap::new();
        assert_eq!(max_age(&headers), None);
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=15, stale-while-revalidate=15"),
        );
        assert_eq!(max_age(&headers), Some(Duration::from_secs(15)));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        assert_eq!(max_age(&headers), None);
    }

    #[test]
    fn the_providers_max_age_is_honoured_between_the_minimum_interval_and_the_refresh() {
        let config = JwksConfig::new("https://id.example.ng/jwks".parse().unwrap());
        let wait = |seconds: Option<u64>| config.next_fetch(seconds.map(Duration::from_secs));

        assert_eq!(wait(None), JwksConfig::REFRESH);
        assert_eq!(wait(Some(15)), JwksConfig::MIN_INTERVAL);
        assert_eq!(wait(Some(120)), Duration::from_secs(120));
        assert_eq!(wait(Some(20_000)), JwksConfig::REFRESH);
    }

    #[test]
    fn only_https_or_loopback_http_urls_are_fetched() {
        let allowed = |url: &str| fetchable(&url.parse().unwrap());
        assert!(allowed("https://id.example.ng/.well-known/jwks.json"));
        assert!(allowed("http://127.0.0.1:9/jwks"));
        assert!(allowed("http://[::1]:9/jwks"));
        assert!(allowed("http://localhost/jwks"));
        assert!(!allowed("http://id.example.ng/jwks"));
        assert!(!allowed("http://127.0.0.1.example.ng/jwks"));
        assert!(!allowed("file:///etc/jwks.json"));
    }
}
