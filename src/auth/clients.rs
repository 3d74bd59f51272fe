//! API-key clients: the clients file, key generation and constant-time lookup.
//!
//! Keys are 256 random bits, so a plain SHA-256 of the key is as strong as a password hash
//! would be (there is nothing to guess) and costs nothing per request; the file holds only
//! hashes, so leaking it leaks no key.

use std::{cell::RefCell, path::Path};

use aws_lc_rs::{constant_time::verify_slices_are_equal, digest};
use serde::Deserialize;

use super::{PerMinute, Principal, PrincipalKind, Scopes};

/// Every API key starts with this, so tokens can be told from JWTs without parsing them.
pub const KEY_PREFIX: &str = "bgq_";

/// One client from the clients file.
#[derive(Clone, Debug)]
pub struct ClientEntry {
    /// The client's id, shown in logs and used for its rate limit.
    pub id: String,
    /// SHA-256 of the client's key.
    pub key_sha256: [u8; 32],
    /// What the client may read.
    pub scopes: Scopes,
    /// The client's own rate limit, when it has one.
    pub rate: Option<PerMinute>,
}

impl ClientEntry {
    /// An entry for `key`, with no rate limit of its own.
    pub fn new(id: &str, key: &str, scopes: Scopes) -> Self {
        let mut key_sha256 = [0u8; 32];
        key_sha256.copy_from_slice(digest::digest(&digest::SHA256, key.as_bytes()).as_ref());
        Self {
            id: id.to_owned(),
            key_sha256,
            scopes,
            rate: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    clients: Vec<FileEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    id: String,
    key_sha256: String,
    scopes: Vec<String>,
    rate_per_minute: Option<PerMinute>,
}

/// Reads a clients file (TOML, `[[clients]]` tables with `id`, `key_sha256`, `scopes` and an
/// optional `rate_per_minute`).
pub fn load_clients(path: &Path) -> Result<Vec<ClientEntry>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read clients file {}: {e}", path.display()))?;
    let file: File =
        toml::from_str(&text).map_err(|e| format!("clients file {}: {e}", path.display()))?;
    let mut entries = Vec::with_capacity(file.clients.len());
    for entry in file.clients {
        let key_sha256 = parse_hash(&entry.key_sha256)
            .ok_or_else(|| format!("client `{}`: key_sha256 must be 64 hex digits", entry.id))?;
        let scopes = Scopes::parse_list(&entry.scopes.join(","))
            .map_err(|e| format!("client `{}`: {e}", entry.id))?;
        if entries.iter().any(|e: &ClientEntry| e.id == entry.id) {
            return Err(format!("client `{}` appears twice", entry.id));
        }
        entries.push(ClientEntry {
            id: entry.id,
            key_sha256,
            scopes,
            rate: entry.rate_per_minute,
        });
    }
    Ok(entries)
}

/// The client holding `key`. Every entry is compared, in constant time, whatever matches.
pub(super) fn find(clients: &[ClientEntry], key: &str) -> Option<Principal> {
    let hash = digest::digest(&digest::SHA256, key.as_bytes());
    let mut found = None;
    for client in clients {
        if verify_slices_are_equal(hash.as_ref(), &client.key_sha256).is_ok() {
            found = Some(client);
        }
    }
    found.map(|client| Principal {
        kind: PrincipalKind::Client,
        id: client.id.clone(),
        scopes: client.scopes,
    })
}

/// A new random key: `bgq_` and 64 hex digits (256 bits from the OS's CSPRNG, drawn for this
/// key alone: a key's bytes never wait in the pool that request ids draw from).
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    fill_random(&mut bytes);
    format!("{KEY_PREFIX}{}", hex(&bytes))
}

/// Fills `bytes` from the OS-seeded CSPRNG (aws-lc).
#[allow(
    clippy::expect_used,
    reason = "aws-lc aborts the process itself when its entropy source fails, so `fill` does \
              not return an error in practice; and without randomness no key or id is safe"
)]
fn fill_random(bytes: &mut [u8]) {
    aws_lc_rs::rand::fill(bytes).expect("the OS random source works");
}

/// Random bytes that [`random_hex`] hands out, drawn from the CSPRNG this many at a time.
const POOL_BYTES: usize = 512;

/// One thread's random bytes not yet handed out: `bytes[used..]`.
struct Pool {
    bytes: [u8; POOL_BYTES],
    used: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const {
        RefCell::new(Pool { bytes: [0; POOL_BYTES], used: POOL_BYTES })
    };
}

/// `bytes` random bytes from the OS-seeded CSPRNG, as lowercase hex: a request id per request.
///
/// The bytes come from a per-thread pool refilled 512 at a time, each handed out once (and
/// zeroed in the pool as it is). One CSPRNG call per id cost about 2,400 instructions, most of
/// them fixed per call: 1.4 % of a request's, for 16 bytes (BENCHMARKS.md, try 14).
pub fn random_hex(bytes: usize) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.saturating_mul(2));
    POOL.with_borrow_mut(|pool| {
        for _ in 0..bytes {
            if pool.used >= POOL_BYTES {
                fill_random(&mut pool.bytes);
                pool.used = 0;
            }
            let byte = pool.bytes.get_mut(pool.used).map_or(0, std::mem::take);
            pool.used = pool.used.saturating_add(1);
            for nibble in [byte >> 4, byte & 0x0f] {
                out.push(char::from(
                    DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
                ));
            }
        }
    });
    out
}

/// SHA-256 of `text` as lowercase hex, as the clients file stores keys.
pub fn sha256_hex(text: &str) -> String {
    hex(digest::digest(&digest::SHA256, text.as_bytes()).as_ref())
}

/// Lowercase hex. Runs once per request (the request id), so no `format!` per byte: that
/// was 5 % of a request's instructions (BENCHMARKS.md, try 4).
#[allow(
    clippy::indexing_slicing,
    reason = "a nibble (`byte >> 4`, `byte & 0x0f`) is below 16, the table's length"
)]
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let id = random_hex(16);
        assert_eq!(id.len(), 32);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }

    #[test]
    fn request_ids_from_the_pool_do_not_repeat_across_refills() {
        // 1,000 ids of 16 bytes take the pool through about 31 refills.
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| random_hex(16)).collect();
        assert_eq!(ids.len(), 1000);
        assert_eq!(random_hex(0), "");
        let long = random_hex(2 * POOL_BYTES + 3);
        assert_eq!(long.len(), 2 * (2 * POOL_BYTES + 3));
        assert!(
            !long.starts_with(&"0".repeat(64)),
            "fresh bytes, not zeroed ones"
        );
        let key = generate_key();
        assert!(key.starts_with(KEY_PREFIX) && key.len() == KEY_PREFIX.len() + 64);
    }
}
