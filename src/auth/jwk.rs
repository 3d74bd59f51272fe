//! The keys of a JWKS: which of the identity provider's keys verify tokens, with which one
//! algorithm each, and which key a token names.

use jsonwebtoken::{
    Algorithm, DecodingKey, Header, Validation,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse},
};
use serde::Deserialize;
use serde_json::Value;

/// One verification key from the JWKS.
pub(super) struct Key {
    /// The key's `kid`, which tokens name in their header.
    kid: Option<String>,
    /// The key's one algorithm.
    algorithm: Algorithm,
    key: DecodingKey,
    /// The token rules, accepting the key's algorithm only.
    validation: Validation,
}

impl Key {
    /// The key and the validation to decode a token with.
    pub(super) fn verifying(&self) -> (&DecodingKey, &Validation) {
        (&self.key, &self.validation)
    }

    /// A key from a JWK that can verify signatures, or `None`.
    fn from_jwk(jwk: &Jwk, rules: &Validation) -> Option<Self> {
        let common = &jwk.common;
        if common
            .public_key_use
            .as_ref()
            .is_some_and(|usage| *usage != PublicKeyUse::Signature)
            || common
                .key_operations
                .as_ref()
                .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
        {
            return None;
        }
        let algorithm = algorithm(jwk)?;
        let key = DecodingKey::from_jwk(jwk).ok()?;
        let mut validation = rules.clone();
        validation.algorithms = vec![algorithm];
        Some(Self {
            kid: common.key_id.clone(),
            algorithm,
            key,
            validation,
        })
    }
}

/// The one algorithm a JWK verifies: its `alg` when that fits the key's type, else the type's
/// usual one (RSA: RS256; EC P-256: ES256; P-384: ES384; Ed25519: EdDSA). Never an HMAC
/// algorithm: a JWKS is public, so a symmetric key in it would let anyone sign tokens.
fn algorithm(jwk: &Jwk) -> Option<Algorithm> {
    use Algorithm::{ES256, ES384, EdDSA, PS256, PS384, PS512, RS256, RS384, RS512};
    let fits: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => &[RS256, RS384, RS512, PS256, PS384, PS512],
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => &[ES256],
            EllipticCurve::P384 => &[ES384],
            _ => &[],
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => &[EdDSA],
        _ => &[],
    };
    match jwk.common.key_algorithm {
        None => fits.first().copied(),
        Some(named) => Algorithm::try_from(named)
            .ok()
            .filter(|named| fits.contains(named)),
    }
}

/// The keys of one JWKS document.
#[derive(Default)]
pub(super) struct KeySet {
    keys: Vec<Key>,
}

/// Which key verifies a token.
pub(super) enum Pick<'a> {
    /// This one.
    Found(&'a Key),
    /// None in this set; a newer set may have it.
    Unknown,
    /// None can: the token's algorithm does not fit the key it names, or it names no key and
    /// several could verify it.
    Refused,
}

/// A JWKS document; its keys are read one by one, so that one key of a type we cannot read
/// does not discard the others.
#[derive(Deserialize)]
struct Document {
    keys: Vec<Value>,
}

impl KeySet {
    /// Reads a JWKS document, keeping the keys that verify signatures. A document that is not
    /// a JWKS, or holds no usable key, is an error: a provider always publishes a signing key,
    /// so an empty set is far likelier a broken endpoint than a decision to refuse every token.
    pub(super) fn parse(body: &[u8], rules: &Validation) -> Result<Self, String> {
        let document: Document =
            serde_json::from_slice(body).map_err(|e| format!("not a JWKS document: {e}"))?;
        let published = document.keys.len();
        let keys: Vec<Key> = document
            .keys
            .into_iter()
            .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
            .filter_map(|jwk| Key::from_jwk(&jwk, rules))
            .collect();
        if keys.is_empty() {
            return Err(format!(
                "no usable signing key among the {published} keys published"
            ));
        }
        Ok(Self { keys })
    }

    /// How many keys the set holds.
    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The key for a token with this header: the one its `kid` names, or, without a `kid`,
    /// the only key for its algorithm. The token's algorithm must be the key's.
    pub(super) fn pick(&self, header: &Header) -> Pick<'_> {
        match &header.kid {
            Some(kid) => {
                let mut named = self
                    .keys
                    .iter()
                    .filter(|key| key.kid.as_deref() == Some(kid.as_str()))
                    .peekable();
                if named.peek().is_none() {
                    return Pick::Unknown;
                }
                named
                    .find(|key| key.algorithm == header.alg)
                    .map_or(Pick::Refused, Pick::Found)
            }
            None => {
                let mut usable = self.keys.iter().filter(|key| key.algorithm == header.alg);
                match (usable.next(), usable.next()) {
                    (Some(key), None) => Pick::Found(key),
                    (None, _) => Pick::Unknown,
                    (Some(_), Some(_)) => Pick::Refused,
                }
            }
        }
    }
}

/// Whether a token's algorithm is one a JWKS key may verify (no HMAC).
pub(super) fn asymmetric(algorithm: Algorithm) -> bool {
    !matches!(
        algorithm,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn set(keys: Value) -> Result<KeySet, String> {
        KeySet::parse(
            json!({ "keys": keys }).to_string().as_bytes(),
            &Validation::default(),
        )
    }

    fn header(alg: Algorithm, kid: Option<&str>) -> Header {
        Header {
            kid: kid.map(str::to_owned),
            ..Header::new(alg)
        }
    }

    // A P-256 public point (the generator), base64url.
    const X: &str = "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY";
    const Y: &str = "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU";

    fn ec(kid: &str, extra: Value) -> Value {
        let mut key = json!({ "kty": "EC", "crv": "P-256", "x": X, "y": Y, "kid": kid });
        key.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        key
    }

    #[test]
    fn keys_for_encryption_symmetric_keys_and_mismatched_algorithms_are_skipped() {
        let keys = set(json!([
            ec("sig", json!({})),
            ec("enc", json!({ "use": "enc" })),
            ec("wrap", json!({ "key_ops": ["wrapKey"] })),
            ec("rsa-alg-on-ec", json!({ "alg": "RS256" })),
            { "kty": "oct", "k": "c2VjcmV0", "kid": "hmac" },
            { "kty": "OKP", "crv": "X25519", "x": X, "kid": "odd" },
            { "kty": "made-up" },
            "not even an object",
        ]))
        .unwrap();

        assert_eq!(keys.len(), 1);
        assert!(matches!(
            keys.pick(&header(Algorithm::ES256, Some("sig"))),
            Pick::Found(_)
        ));
        for kid in ["enc", "wrap", "rsa-alg-on-ec", "hmac", "odd"] {
            assert!(matches!(
                keys.pick(&header(Algorithm::ES256, Some(kid))),
                Pick::Unknown
            ));
        }
        assert!(matches!(
            keys.pick(&header(Algorithm::RS256, Some("sig"))),
            Pick::Refused
        ));
        assert!(!asymmetric(Algorithm::HS256) && asymmetric(Algorithm::ES256));
    }

    #[test]
    fn a_token_without_kid_needs_exactly_one_key_for_its_algorithm() {
        let one = set(json!([ec("a", json!({}))])).unwrap();
        let two = set(json!([ec("a", json!({})), ec("b", json!({}))])).unwrap();

        assert!(matches!(
            one.pick(&header(Algorithm::ES256, None)),
            Pick::Found(_)
        ));
        assert!(matches!(
            two.pick(&header(Algorithm::ES256, None)),
            Pick::Refused
        ));
        assert!(matches!(
            one.pick(&header(Algorithm::RS256, None)),
            Pick::Unknown
        ));
    }

    #[test]
    fn documents_without_a_usable_key_are_errors() {
        assert!(set(json!([])).is_err());
        assert!(set(json!([{ "kty": "oct", "k": "c2VjcmV0" }])).is_err());
        assert!(
            KeySet::parse(b"<html>", &Validation::default())
                .err()
                .unwrap()
                .contains("not a JWKS")
        );
        assert!(KeySet::parse(br#"{"keys": {}}"#, &Validation::default()).is_err());
    }
}
