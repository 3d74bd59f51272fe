//! Persisted queries: Apollo's automatic persisted queries (APQ), and the trusted-documents
//! mode that lets only a manifest's operations run.
//!
//! A phone sends `extensions.persistedQuery.sha256Hash` instead of the query text. With APQ
//! an unknown hash answers `PERSISTED_QUERY_NOT_FOUND` and the client retries once with the
//! text, which is checked against the hash and remembered (in a cache shared by all clients,
//! bounded by the bytes of the texts it holds). In trusted mode (`--persisted-only FILE`) nothing is learned at run time: only
//! the manifest's documents run, by hash or by identical text.

use std::{collections::HashMap, path::Path};

use moka::sync::Cache;
use serde::Deserialize;
use serde_json::Value;

use crate::{auth::sha256_hex, error::code};

/// `extensions.persistedQuery` of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistedRef {
    /// Protocol version; only 1 exists.
    pub version: i64,
    /// Lowercase hex SHA-256 of the query text.
    pub sha256: String,
}

/// Why a persisted-query request cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// `extensions.code`.
    pub code: &'static str,
    /// The message Apollo clients look for.
    pub message: &'static str,
}

/// How persisted queries are configured.
#[derive(Debug, Clone)]
pub enum PersistedConfig {
    /// APQ with room for this many KiB of query text, each query weighing at least one (so
    /// about this many small queries); 0 turns persisted queries off.
    Automatic(usize),
    /// Trusted documents only, by lowercase hex SHA-256.
    Trusted(HashMap<String, String>),
}

impl PersistedConfig {
    /// Default KiB of APQ query text: about 1,000 small queries, at most about 1 MiB.
    pub const APQ_KIB: usize = 1000;
}

impl Default for PersistedConfig {
    fn default() -> Self {
        Self::Automatic(Self::APQ_KIB)
    }
}

/// The persisted-query store: APQ, trusted documents, or neither.
pub enum PersistedQueries {
    /// Plain GraphQL only.
    Off,
    /// Automatic persisted queries, remembered in a cache weighed in KiB of text.
    Automatic(Cache<String, String>),
    /// Only these documents, by hash, may run.
    Trusted(HashMap<String, String>),
}

/// A query ready to prepare, and the hash to remember once it passes its checks.
pub struct Resolved {
    /// The query text to run.
    pub query: String,
    /// A new APQ entry to store after the query passed the operation limits.
    pub register: Option<String>,
}

impl PersistedQueries {
    /// The store for a configuration.
    pub fn new(config: &PersistedConfig) -> Self {
        match config {
            PersistedConfig::Automatic(0) => Self::Off,
            PersistedConfig::Automatic(kib) => Self::Automatic(
                Cache::builder()
                    .max_capacity(u64::try_from(*kib).unwrap_or(u64::MAX))
                    // Query texts are up to the document limit (32 KiB by default): weighed by
                    // size, a flood of large ones cannot hold more memory than small ones.
                    .weigher(|hash: &String, query: &String| {
                        let bytes = hash.len().saturating_add(query.len());
                        u32::try_from(bytes.div_ceil(1024))
                            .unwrap_or(u32::MAX)
                            .max(1)
                    })
                    .build(),
            ),
            PersistedConfig::Trusted(documents) => Self::Trusted(documents.clone()),
        }
    }

    /// Trusted documents from a manifest: Apollo's `apollo-persisted-query-manifest` JSON, or
    /// a plain `{ "<sha256>": "<query>" }` object. Every hash is checked against its text.
    pub fn load_manifest(path: &Path) -> Result<PersistedConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read persisted-query manifest {}: {e}",
                path.display()
            )
        })?;
        let json: Value =
            serde_json::from_str(&text).map_err(|_| format!("{} is not JSON", path.display()))?;
        let pairs: Vec<(String, String)> = if json.get("format").is_some() {
            #[derive(Deserialize)]
            struct Manifest {
                operations: Vec<Entry>,
            }
            #[derive(Deserialize)]
            struct Entry {
                id: String,
                body: String,
            }
            let manifest: Manifest = serde_json::from_value(json)
                .map_err(|e| format!("{}: not an Apollo manifest: {e}", path.display()))?;
            manifest
                .operations
                .into_iter()
                .map(|e| (e.id, e.body))
                .collect()
        } else {
            serde_json::from_value::<HashMap<String, String>>(json)
                .map_err(|_| format!("{}: expected {{\"<sha256>\": \"<query>\"}}", path.display()))?
                .into_iter()
                .collect()
        };
        let mut documents = HashMap::with_capacity(pairs.len());
        for (id, body) in pairs {
            if sha256_hex(&body) != id.to_ascii_lowercase() {
                return Err(format!(
                    "{}: the hash {id} does not match its query",
                    path.display()
                ));
            }
            documents.insert(id.to_ascii_lowercase(), body);
        }
        Ok(PersistedConfig::Trusted(documents))
    }

    /// Works out the query text to run for a request's `query` and `persistedQuery`.
    pub fn resolve(
        &self,
        query: Option<String>,
        persisted: Option<&PersistedRef>,
    ) -> Result<Resolved, Refused> {
        let plain = |query| Resolved {
            query,
            register: None,
        };
        if let Some(p) = persisted {
            if p.version != 1 || matches!(self, Self::Off) {
                return Err(Refused {
                    code: code::PERSISTED_QUERY_NOT_SUPPORTED,
                    message: "PersistedQueryNotSupported",
                });
            }
            if query
                .as_deref()
                .is_some_and(|text| sha256_hex(text) != p.sha256)
            {
                return Err(Refused {
                    code: code::BAD_REQUEST,
                    message: "provided sha does not match query",
                });
            }
        }
        let hash = persisted.map(|p| p.sha256.as_str());
        match (self, query, hash) {
            (Self::Off, Some(query), _) => Ok(plain(query)),
            (Self::Automatic(_), Some(query), None) => Ok(plain(query)),
            (Self::Automatic(_), Some(query), Some(hash)) => Ok(Resolved {
                query,
                register: Some(hash.to_owned()),
            }),
            (Self::Automatic(cache), None, Some(hash)) => {
                cache.get(hash).map(plain).ok_or(NOT_FOUND)
            }
            (Self::Trusted(documents), query, hash) => {
                let hash = match (hash, &query) {
                    (Some(hash), _) => hash.to_owned(),
                    (None, Some(text)) => sha256_hex(text),
                    (None, None) => return Err(MISSING),
                };
                match documents.get(&hash) {
                    Some(body) => Ok(plain(body.clone())),
                    None if persisted.is_some() => Err(NOT_FOUND),
                    None => Err(Refused {
                        code: code::FORBIDDEN,
                        message: "only trusted documents may run on this server",
                    }),
                }
            }
            (_, None, _) => Err(MISSING),
        }
    }

    /// Remembers an APQ entry whose query passed its checks.
    pub fn register(&self, hash: String, query: String) {
        if let Self::Automatic(cache) = self {
            cache.insert(hash, query);
        }
    }
}

const NOT_FOUND: Refused = Refused {
    code: code::PERSISTED_QUERY_NOT_FOUND,
    message: "PersistedQueryNotFound",
};

const MISSING: Refused = Refused {
    code: code::BAD_REQUEST,
    message: "`query` is required",
};

#[cfg(test)]
mod tests {
    use super::{PersistedConfig, PersistedQueries};

    #[test]
    fn apq_holds_kib_of_text_not_a_count_of_queries() {
        let store = PersistedQueries::new(&PersistedConfig::Automatic(64));
        // Forty queries of 8 KiB: 320 KiB of text offered to a 64 KiB cache.
        for n in 0..40 {
            let query = format!("{{ __typename }} # {n} {}", "x".repeat(8 * 1024));
            store.register(format!("{n:064x}"), query);
        }
        let PersistedQueries::Automatic(cache) = &store else {
            panic!("APQ is on");
        };
        cache.run_pending_tasks();

        assert!(cache.weighted_size() <= 64, "{}", cache.weighted_size());
        assert!(cache.entry_count() <= 8, "{}", cache.entry_count());
    }
}
