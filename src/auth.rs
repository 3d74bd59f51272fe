//! Client authentication: who is calling, and with which scopes.
//!
//! Clients present `Authorization: Bearer <token>`, never the Bloc key. A token is either one
//! of our API keys (`bgq_` + 64 hex, configured by SHA-256 hash in the clients file) or, when
//! configured, a JWT from the client's identity provider. Without a token the request is
//! anonymous, which is refused unless anonymous access is switched on. A token that is
//! present but wrong is always refused: a bad credential never falls back to anonymous.
//!
//! JWT keys are one configured key, or the provider's published keys (JWKS), fetched in the
//! background; a token naming a key not held yet makes [`AuthConfig::identify`] wait for
//! one (rate-limited) fetch of the keys before it answers.

mod clients;
mod jwk;
mod jwks;
mod jwt;
mod scopes;

use axum::http::{HeaderMap, header};
use jwt::Refusal;

pub(crate) use clients::hex;
pub use clients::{ClientEntry, KEY_PREFIX, generate_key, load_clients, random_hex, sha256_hex};
pub(crate) use jwks::is_loopback;
pub use jwks::{JwksConfig, JwksCounts, KeysStatus};
pub use jwt::{JwtConfig, JwtVerifier};
pub use scopes::{Scope, Scopes};

/// A request budget: this many requests per minute, as a token bucket with a burst of the
/// same size.
pub type PerMinute = std::num::NonZeroU32;

/// How a caller authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    /// With an API key from the clients file.
    Client,
    /// With a JWT.
    Jwt,
    /// Without credentials.
    Anonymous,
}

/// Who is calling.
#[derive(Clone, Debug)]
pub struct Principal {
    /// How the caller authenticated.
    pub kind: PrincipalKind,
    /// Stable id for logs and rate limits: the client id, `jwt:<sub>`, or `anonymous`.
    pub id: String,
    /// What the caller may see.
    pub scopes: Scopes,
}

/// How anonymous requests are treated when they are allowed.
#[derive(Clone, Debug)]
pub struct AnonymousAccess {
    /// Scopes given to requests without credentials.
    pub scopes: Scopes,
    /// One shared budget for all anonymous requests; `None` is unlimited.
    pub rate: Option<PerMinute>,
}

/// Everything needed to authenticate requests.
#[derive(Clone, Default)]
pub struct AuthConfig {
    /// API-key clients from the clients file.
    pub clients: Vec<ClientEntry>,
    /// JWT verification, when configured.
    pub jwt: Option<JwtVerifier>,
    /// Anonymous access, when allowed.
    pub anonymous: Option<AnonymousAccess>,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("clients", &self.clients.len())
            .field("jwt", &self.jwt.is_some())
            .field("anonymous", &self.anonymous)
            .finish()
    }
}

/// Why a request was not authenticated. Messages are safe to show the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials, and anonymous access is off.
    #[error("authentication required: send Authorization: Bearer <API key or token>")]
    Missing,
    /// Credentials that are malformed, unknown, expired or for someone else.
    #[error("the credentials are invalid or expired")]
    Invalid,
}

impl AuthConfig {
    /// True when at least one way in exists.
    pub fn accepts_anyone(&self) -> bool {
        !self.clients.is_empty() || self.jwt.is_some() || self.anonymous.is_some()
    }

    /// Which ways in are configured, for the startup banner (counts and scopes, no keys).
    pub fn summary(&self) -> String {
        let mut ways = Vec::new();
        if !self.clients.is_empty() {
            let n = self.clients.len();
            ways.push(format!(
                "{n} API-key client{}",
                if n == 1 { "" } else { "s" }
            ));
        }
        match self.jwt.as_ref().map(JwtVerifier::jwks_url) {
            Some(Some(url)) => ways.push(format!("JWTs (keys from {url})")),
            Some(None) => ways.push("JWTs".to_owned()),
            None => {}
        }
        if let Some(anonymous) = &self.anonymous {
            ways.push(format!("anonymous with {:?}", anonymous.scopes));
        }
        if ways.is_empty() {
            ways.push("none".to_owned());
        }
        ways.join(", ")
    }

    /// Authenticates a request from its headers, fetching the JWT keys again first when the
    /// token names one not held yet (at most one fetch per [`JwksConfig::min_interval`],
    /// shared by every request waiting for it).
    pub async fn identify(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        match self.attempt(headers) {
            Attempt::Decided(outcome) => outcome,
            Attempt::UnknownKey(jwt) => {
                jwt.refresh_keys().await;
                self.authenticate(headers)
            }
        }
    }

    /// Authenticates a request from its headers with the keys held now, without waiting: a
    /// JWT naming a key not held is refused.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        match self.attempt(headers) {
            Attempt::Decided(outcome) => outcome,
            Attempt::UnknownKey(_) => Err(AuthError::Invalid),
        }
    }

    fn attempt<'a>(&'a self, headers: &'a HeaderMap) -> Attempt<'a> {
        Attempt::Decided(match self.credentials(headers) {
            Ok(Credentials::Anonymous(access)) => Ok(anonymous(access)),
            Ok(Credentials::Key(token)) => {
                clients::find(&self.clients, token).ok_or(AuthError::Invalid)
            }
            Ok(Credentials::Jwt(jwt, token)) => match jwt.verify(token) {
                Err(Refusal::UnknownKey) => return Attempt::UnknownKey(jwt),
                outcome => outcome.map_err(AuthError::from),
            },
            Err(error) => Err(error),
        })
    }

    /// What the request presents.
    fn credentials<'a>(&'a self, headers: &'a HeaderMap) -> Result<Credentials<'a>, AuthError> {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let Some(value) = values.next() else {
            return self
                .anonymous
                .as_ref()
                .map(Credentials::Anonymous)
                .ok_or(AuthError::Missing);
        };
        if values.next().is_some() {
            return Err(AuthError::Invalid);
        }
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or(AuthError::Invalid)?;
        if token.starts_with(KEY_PREFIX) {
            return Ok(Credentials::Key(token));
        }
        match &self.jwt {
            Some(jwt) => Ok(Credentials::Jwt(jwt, token)),
            None => Err(AuthError::Invalid),
        }
    }
}

/// What a request presents.
enum Credentials<'a> {
    Anonymous(&'a AnonymousAccess),
    Key(&'a str),
    Jwt(&'a JwtVerifier, &'a str),
}

/// A verdict, or a JWT naming a key not held yet.
enum Attempt<'a> {
    Decided(Result<Principal, AuthError>),
    UnknownKey(&'a JwtVerifier),
}

fn anonymous(access: &AnonymousAccess) -> Principal {
    Principal {
        kind: PrincipalKind::Anonymous,
        id: "anonymous".into(),
        scopes: access.scopes,
    }
}
