//! JWT bearer tokens from the client's own identity provider, verified with one configured
//! key or with the provider's published keys (JWKS).

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Map, Value};
use url::Url;

use super::{
    AuthError, PerMinute, Principal, PrincipalKind, Scopes,
    jwk::{Pick, asymmetric},
    jwks::{Jwks, JwksConfig, JwksCounts, KeysStatus},
};

/// How to verify tokens with one key.
pub struct JwtConfig {
    /// The verification key: an HS256 secret, or an RS256/ES256 public key in PEM.
    pub key: DecodingKey,
    /// The one algorithm accepted (`alg: none` and every other algorithm are refused).
    pub algorithm: Algorithm,
    /// Required `iss`.
    pub issuer: String,
    /// Required `aud`.
    pub audience: String,
    /// Claim holding the scopes: a space-separated string or an array of strings.
    pub scopes_claim: String,
    /// Rate limit for each token subject; `None` is unlimited.
    pub rate: Option<PerMinute>,
}

/// A ready verifier.
#[derive(Clone)]
pub struct JwtVerifier(std::sync::Arc<Inner>);

struct Inner {
    keys: Keys,
    scopes_claim: String,
    rate: Option<PerMinute>,
}

enum Keys {
    /// One key, with the validation accepting its one algorithm.
    One(Box<(DecodingKey, Validation)>),
    /// The provider's published keys, each with its own algorithm.
    Published(Jwks),
}

/// Why a token was not verified.
pub(super) enum Refusal {
    /// The token is not valid.
    Invalid,
    /// The token names a key the JWKS does not hold (yet): fetching the keys again may help.
    UnknownKey,
}

/// `exp`, `nbf`, `iss`, `aud` and `sub` required and checked, with 30 s leeway.
fn rules(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = 30;
    validation
}

impl JwtVerifier {
    /// Builds the verifier for one key.
    pub fn new(config: JwtConfig) -> Self {
        let validation = rules(config.algorithm, &config.issuer, &config.audience);
        Self(std::sync::Arc::new(Inner {
            keys: Keys::One(Box::new((config.key, validation))),
            scopes_claim: config.scopes_claim,
            rate: config.rate,
        }))
    }

    /// Builds the verifier for the keys published at `jwks.url`, with the same claim checks
    /// as [`JwtConfig`]'s; the keys are fetched in the background from now on (see
    /// [`JwksConfig`]). Fails when the URL is not `https://` (or `http://` to loopback).
    pub fn from_jwks(
        jwks: JwksConfig,
        issuer: &str,
        audience: &str,
        scopes_claim: &str,
        rate: Option<PerMinute>,
    ) -> Result<Self, String> {
        // Each key replaces the algorithm with its own.
        let rules = rules(Algorithm::RS256, issuer, audience);
        Ok(Self(std::sync::Arc::new(Inner {
            keys: Keys::Published(Jwks::new(jwks, rules)?),
            scopes_claim: scopes_claim.to_owned(),
            rate,
        })))
    }

    /// The rate limit for each token subject.
    pub fn rate(&self) -> Option<PerMinute> {
        self.0.rate
    }

    /// The JWKS URL, when keys come from one.
    pub fn jwks_url(&self) -> Option<&Url> {
        match &self.0.keys {
            Keys::Published(jwks) => Some(jwks.url()),
            Keys::One(_) => None,
        }
    }

    /// The published keys held and the last fetch's outcome (fetching once if none was tried
    /// yet); `None` with one configured key.
    pub async fn keys_status(&self) -> Option<KeysStatus> {
        match &self.0.keys {
            Keys::Published(jwks) => Some(jwks.status().await),
            Keys::One(_) => None,
        }
    }

    /// The published keys' counts (keys held, fetches that worked and failed); `None` when
    /// the key is configured, not published.
    pub fn jwks_counts(&self) -> Option<JwksCounts> {
        match &self.0.keys {
            Keys::Published(jwks) => Some(jwks.counts()),
            Keys::One(_) => None,
        }
    }

    /// Fetches the published keys again after a token named an unknown one (rate-limited:
    /// see [`JwksConfig::min_interval`]).
    pub(super) async fn refresh_keys(&self) {
        if let Keys::Published(jwks) = &self.0.keys {
            jwks.refresh_for_unknown_key().await;
        }
    }

    pub(super) fn verify(&self, token: &str) -> Result<Principal, Refusal> {
        let claims = match &self.0.keys {
            Keys::One(one) => decode::<Map<String, Value>>(token, &one.0, &one.1),
            Keys::Published(jwks) => {
                let header = decode_header(token).map_err(|_| Refusal::Invalid)?;
                // Published keys are public: an HMAC token can never be theirs.
                if !asymmetric(header.alg) {
                    return Err(Refusal::Invalid);
                }
                let keys = jwks.keys();
                let (key, validation) = match keys.pick(&header) {
                    Pick::Found(key) => key.verifying(),
                    Pick::Unknown => return Err(Refusal::UnknownKey),
                    Pick::Refused => return Err(Refusal::Invalid),
                };
                decode::<Map<String, Value>>(token, key, validation)
            }
        }
        .map_err(|_| Refusal::Invalid)?
        .claims;
        self.principal(&claims).ok_or(Refusal::Invalid)
    }

    fn principal(&self, claims: &Map<String, Value>) -> Option<Principal> {
        let subject = claims.get("sub").and_then(Value::as_str)?;
        let scopes = match claims.get(&self.0.scopes_claim) {
            Some(Value::String(list)) => Scopes::from_known(list.split(' ')),
            Some(Value::Array(items)) => Scopes::from_known(items.iter().filter_map(Value::as_str)),
            _ => Scopes::default(),
        };
        Some(Principal {
            kind: PrincipalKind::Jwt,
            id: format!("jwt:{subject}"),
            scopes,
        })
    }
}

impl From<Refusal> for AuthError {
    fn from(_: Refusal) -> Self {
        Self::Invalid
    }
}
