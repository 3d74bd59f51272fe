//! The parsed-document cache, and what is remembered about each cached operation: its
//! footprint under the limits, async-graphql's validation (through the [`ValidationMemo`]
//! extension), its response-shape plan and its direct-execution plan.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use async_graphql::{
    Name, ServerError, ValidationResult,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation},
    parser::types::ExecutableDocument,
};
use lru::LruCache;

use super::{direct, limits, shape::Shape};

/// Parsed bytes of the document cache per unit of [`DocumentCache::new`]'s capacity: a
/// typical operation parses to 2–4 KiB, a dense 4 KiB document to about 400 KiB.
const CACHE_BYTES_PER_ENTRY: usize = 32 * 1024;

/// Estimated bytes per lexical token of a parsed document (measured on async-graphql's
/// parser: 100 for list items and fragment spreads, 210–260 for fields and nesting).
const PARSED_BYTES_PER_TOKEN: usize = 256;

/// Estimated bytes a memo holds per field of its operation: the response-shape plan and the
/// direct-execution plan each keep a few words per field.
const MEMO_BYTES_PER_FIELD: usize = 128;

/// An LRU of parsed documents keyed by query text, bounded by bytes. Clients send the same
/// few query texts over and over; parsing them was the largest cost per request, and
/// validating them the next (BENCHMARKS.md, tries 1 and 5). Only documents whose selected
/// operation passed the limits are kept; each entry is weighed by its text, its parsed form
/// (estimated from its tokens) and its operation memos (estimated from their fields), and
/// one entry may take at most a sixteenth of the budget.
pub struct DocumentCache(Option<Mutex<Documents>>);

struct Documents {
    /// Each entry with its weight in bytes.
    entries: LruCache<String, (Arc<CachedDocument>, usize), foldhash::quality::RandomState>,
    /// The sum of the weights.
    bytes: usize,
    budget: usize,
}

/// A parsed document, and what is known about running its operations.
pub(super) struct CachedDocument {
    pub(super) doc: Arc<ExecutableDocument>,
    /// Per operation of the document, by its own name (`None` for an anonymous one), never
    /// by the name a client sent: the map is bounded by the document. Only operations that
    /// passed the limits have one.
    pub(super) operations: Mutex<HashMap<Option<Name>, Arc<OperationMemo>>>,
}

/// What running one operation of a cached document **without variables** always gives, so
/// it is worked out once. Each result depends only on the schema and the server's limits
/// (fixed for the process), the document, the operation and the variable values; operations
/// run with variables work everything out every time, since their values are part of it.
/// Only the direct-execution plan and `passed` serve runs with variables too.
#[derive(Default)]
pub(super) struct OperationMemo {
    /// Set once async-graphql's validation has passed for the operation, with or without
    /// variables: the document's own rules hold, and only variable values can still fail.
    pub(super) passed: OnceLock<()>,
    /// async-graphql's validation, filled only once it has passed (failures are validated
    /// again each time).
    pub(super) validation: OnceLock<ValidationResult>,
    /// What the operation may cost, once it passed the limits without variables (an
    /// operation over a limit gets no memo).
    pub(super) limits: OnceLock<Arc<limits::Footprint>>,
    /// The response-order plan.
    pub(super) order: OnceLock<Arc<Shape>>,
    /// The direct-execution plan, when the operation has the shape it runs; compiled only
    /// once async-graphql has validated the operation.
    pub(super) direct: OnceLock<Option<Arc<direct::Plan>>>,
}

impl DocumentCache {
    /// A cache of `entries` × 32 KiB (0: no cache); 256 gives 8 MiB.
    pub fn new(entries: usize) -> Self {
        Self::with_budget(entries.saturating_mul(CACHE_BYTES_PER_ENTRY))
    }

    /// A cache of at most `budget` bytes, as estimated (0: no cache).
    pub fn with_budget(budget: usize) -> Self {
        Self((budget > 0).then(|| {
            Mutex::new(Documents {
                entries: LruCache::unbounded_with_hasher(foldhash::quality::RandomState::default()),
                bytes: 0,
                budget,
            })
        }))
    }

    fn documents(&self) -> Option<std::sync::MutexGuard<'_, Documents>> {
        // A panic while the lock was held leaves the cache consistent enough to keep using.
        let cache = self.0.as_ref()?;
        Some(
            cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The cache entry for exactly this query text, if there is one.
    pub(super) fn lookup(&self, query: &str) -> Option<Arc<CachedDocument>> {
        let mut documents = self.documents()?;
        documents.entries.get(query).map(|(entry, _)| entry.clone())
    }

    /// The memo of an operation that passed the limits, keeping its document (the cached
    /// entry for this text, or a new one for `doc`) and charging the memo's estimated size
    /// to it. `None` when the cache is off or the entry would be too heavy to keep.
    pub(super) fn remember(
        &self,
        query: &str,
        doc: &Arc<ExecutableDocument>,
        name: Option<&Name>,
        footprint: &limits::Footprint,
    ) -> Option<Arc<OperationMemo>> {
        let mut documents = self.documents()?;
        let max_entry = documents.budget / 16;
        let (entry, mut weight) = match documents.entries.peek(query) {
            Some((entry, weight)) => (entry.clone(), *weight),
            None => {
                let tokens = limits::count_tokens(query, usize::MAX);
                let parsed = tokens.saturating_mul(PARSED_BYTES_PER_TOKEN);
                let entry = Arc::new(CachedDocument {
                    doc: doc.clone(),
                    operations: Mutex::default(),
                });
                (entry, query.len().saturating_add(parsed))
            }
        };
        let memo = {
            let mut operations = entry
                .operations
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(memo) = operations.get(&name.cloned()) {
                return Some(memo.clone());
            }
            let ids: usize = footprint
                .ids
                .iter()
                .map(|id| id.len().saturating_add(64))
                .sum();
            let memo_weight = footprint
                .fields
                .saturating_mul(MEMO_BYTES_PER_FIELD)
                .saturating_add(ids)
                .saturating_add(size_of::<OperationMemo>());
            weight = weight.saturating_add(memo_weight);
            if weight > max_entry {
                return None;
            }
            let memo = Arc::new(OperationMemo::default());
            operations.insert(name.cloned(), memo.clone());
            memo
        };
        let old = documents.entries.put(query.to_owned(), (entry, weight));
        let old_weight = old.map_or(0, |(_, w)| w);
        documents.bytes = documents
            .bytes
            .saturating_sub(old_weight)
            .saturating_add(weight);
        while documents.bytes > documents.budget {
            let Some((_, (_, evicted))) = documents.entries.pop_lru() else {
                break;
            };
            documents.bytes = documents.bytes.saturating_sub(evicted);
        }
        Some(memo)
    }

    /// Entries and their estimated bytes.
    #[cfg(test)]
    pub(super) fn usage(&self) -> (usize, usize) {
        self.documents()
            .map_or((0, 0), |d| (d.entries.len(), d.bytes))
    }
}

impl CachedDocument {
    /// The memo of one of the document's operations, by its own name, if it has one.
    pub(super) fn memo(&self, name: Option<&Name>) -> Option<Arc<OperationMemo>> {
        let operations = self
            .operations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        operations.get(&name.cloned()).cloned()
    }
}

/// Request data telling [`ValidationMemo`] where this operation's validation is remembered,
/// and whether this run may reuse it (only without variables).
pub(super) struct RememberValidation {
    pub(super) memo: Arc<OperationMemo>,
    pub(super) reuse: bool,
}

/// An async-graphql extension: answers validation from the document cache when the same
/// operation of the same document, without variables, passed validation before; otherwise
/// validates and, on success, remembers the result (without variables) and that the
/// operation passed (either way; direct execution waits for it). Failures are never
/// remembered.
pub(crate) struct ValidationMemo;

impl ExtensionFactory for ValidationMemo {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ValidationMemo)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ValidationMemo {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let Some(RememberValidation { memo, reuse }) = ctx.data_opt::<RememberValidation>() else {
            return next.run(ctx).await;
        };
        if *reuse && let Some(result) = memo.validation.get() {
            return Ok(*result);
        }
        let result = next.run(ctx).await?;
        let _ = memo.passed.set(());
        if *reuse {
            let _ = memo.validation.set(result);
        }
        Ok(result)
    }
}
