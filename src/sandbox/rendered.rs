//! The sandbox's answers serialised once at start-up: with 10,000 customers the list is about
//! 10 MB of JSON, and re-serialising it (or cloning its `Value`s) on every call would make the
//! sandbox, not the facade, the bottleneck of a benchmark. With live updates, each answer is
//! the stored bytes with the current time spliced in where every `updated_at` goes.
//!
//! Only the customers are stored: a customer's related records are rendered when asked for
//! (`view`), from its record here, which they embed and draw their names from.

use std::{borrow::Cow, collections::HashMap};

use axum::body::Bytes;
use serde_json::{Value, json};

/// Stands in for `updated_at` in the stored bytes when records change live. No value a record
/// holds looks like it, and it needs no JSON escaping, so it is found exactly.
const PLACEHOLDER: &str = "<sandbox:updated_at>";
/// Where an envelope's `data` goes, found the same way.
const DATA_SLOT: &str = "\"<sandbox:data>\"";

/// One record's place in the list body.
struct Span {
    start: usize,
    end: usize,
    /// Where its `updated_at` placeholder starts (live updates only).
    hole: Option<usize>,
}

/// The customers in Bloc's envelopes, ready to send.
pub(super) struct Rendered {
    /// The whole `GET /customers` answer.
    list: Bytes,
    /// Each record's bytes inside `list`, in list order.
    records: Vec<Span>,
    /// Every placeholder in `list`, in order (empty without live updates).
    holes: Vec<usize>,
    /// Record position by id: a lookup among 10,000 customers must not scan them.
    index: HashMap<Box<str>, usize>,
    /// `GET /customers/{id}`'s envelope around the record.
    one_prefix: Bytes,
    one_suffix: Bytes,
}

impl Rendered {
    /// Serialises `customers`; with `live`, every `updated_at` becomes a placeholder that
    /// [`Rendered::list`] and [`Rendered::one`] fill with the time of serving.
    pub(super) fn new(customers: &[Value], live: bool) -> Self {
        let (list_prefix, list_suffix) = envelope(json!({
            "success": true,
            "data": DATA_SLOT.trim_matches('"'),
            "message": "get customers",
            "metadata": { "has_next": false, "has_previous": false },
        }));
        let (one_prefix, one_suffix) = envelope(json!({
            "success": true,
            "data": DATA_SLOT.trim_matches('"'),
            "message": "customer",
        }));
        let mut list = list_prefix;
        list.push(b'[');
        let mut records = Vec::with_capacity(customers.len());
        let mut holes = Vec::new();
        let mut index = HashMap::with_capacity(customers.len());
        for (position, customer) in customers.iter().enumerate() {
            if position > 0 {
                list.push(b',');
            }
            let start = list.len();
            let hole = if live {
                let mut record = customer.clone();
                if let Some(fields) = record.as_object_mut() {
                    fields.insert("updated_at".into(), PLACEHOLDER.into());
                }
                write_record(&mut list, &record);
                find(&list, start, PLACEHOLDER.as_bytes())
            } else {
                write_record(&mut list, customer);
                None
            };
            holes.extend(hole);
            records.push(Span {
                start,
                end: list.len(),
                hole,
            });
            if let Some(id) = customer.get("id").and_then(Value::as_str) {
                index.insert(id.into(), position);
            }
        }
        list.push(b']');
        list.extend_from_slice(&list_suffix);
        Self {
            list: Bytes::from(list),
            records,
            holes,
            index,
            one_prefix: Bytes::from(one_prefix),
            one_suffix: Bytes::from(one_suffix),
        }
    }

    /// The list answer, every `updated_at` set to `now` (RFC 3339) when records change live.
    pub(super) fn list(&self, now: &str) -> Option<Bytes> {
        if self.holes.is_empty() {
            // Cheap: a reference count, not a copy.
            return Some(self.list.clone());
        }
        splice(&self.list, 0, self.list.len(), &self.holes, now).map(Bytes::from)
    }

    /// How many customers there are.
    pub(super) fn len(&self) -> usize {
        self.records.len()
    }

    /// Customer `id`'s place in the list (its index in the seeded stream).
    pub(super) fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The record at `position` as served at `now`: borrowed unless records change live.
    pub(super) fn record(&self, position: usize, now: &str) -> Option<Cow<'_, [u8]>> {
        let span = self.records.get(position)?;
        match span.hole {
            None => self.list.get(span.start..span.end).map(Cow::Borrowed),
            Some(hole) => splice(&self.list, span.start, span.end, &[hole], now).map(Cow::Owned),
        }
    }

    /// The answer for customer `id`, or `None` when there is no such customer.
    pub(super) fn one(&self, id: &str, now: &str) -> Option<Bytes> {
        let record = self.record(self.position(id)?, now)?;
        let capacity = self
            .one_prefix
            .len()
            .checked_add(record.len())?
            .checked_add(self.one_suffix.len())?;
        let mut body = Vec::with_capacity(capacity);
        body.extend_from_slice(&self.one_prefix);
        body.extend_from_slice(&record);
        body.extend_from_slice(&self.one_suffix);
        Some(Bytes::from(body))
    }
}

/// The serialised envelope split around its data slot; serde_json decides the key order, as
/// it did when the sandbox serialised whole envelopes.
fn envelope(value: Value) -> (Vec<u8>, Vec<u8>) {
    let text = value.to_string();
    match text.split_once(DATA_SLOT) {
        Some((prefix, suffix)) => (prefix.as_bytes().to_vec(), suffix.as_bytes().to_vec()),
        // Unreachable: the slot is a plain string serde_json writes as is.
        None => (Vec::new(), Vec::new()),
    }
}

fn write_record(into: &mut Vec<u8>, record: &Value) {
    // Writing a `Value` to a `Vec` cannot fail: its keys are strings and the `Vec` grows.
    if serde_json::to_writer(&mut *into, record).is_err() {
        into.extend_from_slice(b"null");
    }
}

/// Where `needle` first occurs in `haystack` at or after `from`.
fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let position = haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)?;
    from.checked_add(position)
}

/// `bytes[start..end]` with the placeholder at each of `holes` (ascending, inside the range)
/// replaced by `value`; `None` if a hole lies outside the range, which construction rules out.
fn splice(bytes: &[u8], start: usize, end: usize, holes: &[usize], value: &str) -> Option<Vec<u8>> {
    let grown = holes.len().checked_mul(value.len())?;
    let mut out = Vec::with_capacity(end.checked_sub(start)?.checked_add(grown)?);
    let mut from = start;
    for &hole in holes {
        out.extend_from_slice(bytes.get(from..hole)?);
        out.extend_from_slice(value.as_bytes());
        from = hole.checked_add(PLACEHOLDER.len())?;
    }
    out.extend_from_slice(bytes.get(from..end)?);
    Some(out)
}
