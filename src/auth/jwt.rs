//! JWT bearer tokens from the client's own identity provider.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde_json::{Map, Value};

use super::{AuthError, PerMinute, Principal, PrincipalKind, Scopes};

/// How to verify tokens.
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
pub struct JwtVerifier(std::sync::Arc<(JwtConfig, Validation)>);

impl JwtVerifier {
    /// Builds the verifier: `exp`, `nbf`, `iss` and `aud` are all checked, with 30 s leeway.
    pub fn new(config: JwtConfig) -> Self {
        let mut validation = Validation::new(config.algorithm);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        Self(std::sync::Arc::new((config, validation)))
    }

    /// The rate limit for each token subject.
    pub fn rate(&self) -> Option<PerMinute> {
        self.0.0.rate
    }

    pub(super) fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let (config, validation) = &*self.0;
        let claims = decode::<Map<String, Value>>(token, &config.key, validation)
            .map_err(|_| AuthError::Invalid)?
            .claims;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .ok_or(AuthError::Invalid)?;
        let scopes = match claims.get(&config.scopes_claim) {
            Some(Value::String(list)) => Scopes::from_known(list.split(' ')),
            Some(Value::Array(items)) => Scopes::from_known(items.iter().filter_map(Value::as_str)),
            _ => Scopes::default(),
        };
        Ok(Principal {
            kind: PrincipalKind::Jwt,
            id: format!("jwt:{subject}"),
            scopes,
        })
    }
}
