//! What Redis sees of the facade's state: key names that are HMACs of what they name, and
//! values sealed with AES-256-GCM. Both keys are derived from the Bloc secret key, which every
//! replica already holds, so no new secret has to be deployed; and Redis (its operators, its
//! backups, anyone who reads its traffic) holds no readable customer data or id, and cannot
//! swap one record for another: the value's key name is its associated data.

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey},
    hkdf, hmac,
};

use crate::auth::hex;

/// Keys derived from the Bloc secret key.
pub(super) struct Seal {
    names: hmac::Key,
    values: RandomizedNonceKey,
    /// Public and stable: tells apart the state of facades with different Bloc keys sharing
    /// one Redis (each key has its own budget at Bloc).
    namespace: String,
}

/// Why sealing could not be set up (the crypto library failed; never expected).
#[derive(Debug, thiserror::Error)]
#[error("could not derive the keys for Redis")]
pub struct SealError;

impl Seal {
    pub(super) fn new(secret: &[u8]) -> Result<Self, SealError> {
        let prk =
            hkdf::Salt::new(hkdf::HKDF_SHA256, b"bloc-graphql shared state v1").extract(secret);
        let derive = |info: &[u8]| -> Result<[u8; 32], SealError> {
            let mut out = [0u8; 32];
            prk.expand(&[info], hkdf::HKDF_SHA256)
                .and_then(|okm| okm.fill(&mut out))
                .map_err(|_| SealError)?;
            Ok(out)
        };
        let values =
            RandomizedNonceKey::new(&AES_256_GCM, &derive(b"values")?).map_err(|_| SealError)?;
        let namespace = derive(b"namespace")?;
        Ok(Self {
            names: hmac::Key::new(hmac::HMAC_SHA256, &derive(b"names")?),
            values,
            namespace: format!("bgq:{}:", hex(namespace.get(..6).unwrap_or_default())),
        })
    }

    /// The namespace every key of this Bloc key starts with (`bgq:<12 hex digits>:`).
    #[cfg(test)]
    fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The Redis key for `what` under `kind` (one letter): `<namespace><kind>:<HMAC>`.
    pub(super) fn name(&self, kind: &str, what: &[u8]) -> String {
        let tag = hmac::sign(&self.names, what);
        // 128 bits of the tag: collisions stay out of reach, keys stay short.
        let short = tag.as_ref().get(..16).unwrap_or_default();
        format!("{}{kind}:{}", self.namespace, hex(short))
    }

    /// `value` sealed for the key `name`: nonce, then ciphertext and tag.
    pub(super) fn seal(&self, name: &str, value: &[u8]) -> Option<Vec<u8>> {
        let mut body = value.to_vec();
        let nonce = self
            .values
            .seal_in_place_append_tag(Aad::from(name.as_bytes()), &mut body)
            .ok()?;
        let mut sealed = Vec::with_capacity(NONCE_LEN.saturating_add(body.len()));
        sealed.extend_from_slice(nonce.as_ref());
        sealed.extend_from_slice(&body);
        Some(sealed)
    }

    /// What [`Seal::seal`] sealed for `name`; `None` when it was not (another key, another
    /// Bloc key, tampering, or not ours at all).
    pub(super) fn open(&self, name: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, body) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let plain = self
            .values
            .open_in_place(nonce, Aad::from(name.as_bytes()), &mut body)
            .ok()?;
        let length = plain.len();
        body.truncate(length);
        Some(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_open_only_under_their_own_name_and_bloc_key() {
        let seal = Seal::new(b"sk_test_one").unwrap();
        let name = seal.name("c", b"customer\0abc");
        assert!(name.starts_with(seal.namespace()));
        assert!(!name.contains("abc"), "the id is not in the key");
        let sealed = seal.seal(&name, b"{\"bvn\":\"22212345678\"}").unwrap();
        assert!(
            !sealed.windows(5).any(|w| w == b"22212"),
            "sealed, not encoded"
        );
        assert_eq!(
            seal.open(&name, &sealed).unwrap(),
            b"{\"bvn\":\"22212345678\"}"
        );
        let other_name = seal.name("c", b"customer\0abd");
        assert!(
            seal.open(&other_name, &sealed).is_none(),
            "moved to another key"
        );
        let other_key = Seal::new(b"sk_test_two").unwrap();
        assert_ne!(other_key.namespace(), seal.namespace());
        assert!(other_key.open(&name, &sealed).is_none());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(seal.open(&name, &tampered).is_none());
        assert!(seal.open(&name, b"short").is_none());
    }
}
