//! What Bloc answered, before decoding, and the decoders that turn it into records.
//!
//! A call's answer is kept in this form ([`Wire`]) as long as someone may need it again:
//! replicas share it through Redis, and each decodes it with the same code that decoded the
//! call, so drift, identity checks and weights are the same whoever made the call.

use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    Customer, Error,
    models::{Account, Model, Record, Records, Transaction},
};

/// An endpoint's answer, undecoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wire {
    /// The resource does not exist (a 404 where the endpoint means "none", or an id that
    /// cannot be sent, answered without a call).
    Missing,
    /// A successful answer's body.
    Body(Bytes),
}

impl Wire {
    /// Bytes of the body (0 when missing).
    pub fn len(&self) -> usize {
        match self {
            Wire::Missing => 0,
            Wire::Body(body) => body.len(),
        }
    }

    /// Whether there is no body.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Bodies larger than this are best decoded on tokio's blocking pool: decoding a list of
/// 10,000 customers (8 MB) takes tens of milliseconds, which on a request worker would stall
/// every request it carries.
pub const DECODE_ON_WORKER_BELOW: usize = 256 * 1024;

/// Bloc's response envelope: `{ success, data, message, metadata? }`. `data` stays JSON text
/// (borrowed from the body) until the caller decodes it as what it expects.
#[derive(Deserialize)]
struct Envelope<'a> {
    success: bool,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default)]
    has_next: bool,
}

/// The envelope of one customer, read with the record in one pass.
#[derive(Deserialize)]
struct RecordEnvelope {
    success: bool,
    #[serde(default)]
    data: Option<Record>,
}

/// The result of `GET /customers`.
#[derive(Default)]
pub struct CustomerList {
    /// Records that decoded (each may still hold invalid fields).
    pub customers: Vec<Customer>,
    /// Records that were left out because they are not objects with a string `id`.
    pub undecodable: usize,
}

/// `GET /customers/{id}`'s answer. A record whose own id is not `id` (compared exactly) is
/// an error, never an answer: served, it would show one customer's data under another's id.
pub fn customer(id: &str, wire: &Wire) -> Result<Option<Arc<Customer>>, Error> {
    let Wire::Body(body) = wire else {
        return Ok(None);
    };
    // The envelope and the record in one pass (a record that is malformed JSON, or of a
    // shape serde refuses, fails the envelope: `Decode` either way). Checked as UTF-8 once,
    // so that the parser need not check every string it reads.
    let text = std::str::from_utf8(body).map_err(|_| Error::Decode {
        detail: "a body that is not UTF-8".into(),
    })?;
    let envelope: RecordEnvelope = serde_json::from_str(text).map_err(|e| Error::from_json(&e))?;
    if !envelope.success {
        return Err(Error::Unsuccessful);
    }
    let customer = envelope
        .data
        .and_then(|record| record.0.ok())
        .ok_or_else(|| Error::Decode {
            detail: "customer record without a string id".into(),
        })?;
    // Neither id goes in the message: the detail is logged and must stay free of client
    // input.
    if customer.id != id {
        return Err(Error::Decode {
            detail: "the record's id is not the id asked for".into(),
        });
    }
    // Weighed by the whole answer: the record's own text was not kept apart (the envelope
    // around it adds a few dozen bytes). Shared from here on: a record is a few hundred
    // bytes, moved many times otherwise.
    Ok(Some(Arc::new(customer.weighing(body.len()))))
}

/// `GET /customers`' answer: every readable record; a `null` list is an empty one.
pub fn customers(wire: &Wire) -> Result<CustomerList, Error> {
    let Wire::Body(body) = wire else {
        return Ok(CustomerList::default());
    };
    let envelope = unwrap(body)?;
    let records = array(envelope.data, "customer")?;
    let total = records.len();
    let customers: Vec<Customer> = records
        .into_iter()
        .filter_map(|record| Customer::from_json(record.get()).ok())
        .collect();
    Ok(CustomerList {
        undecodable: total.saturating_sub(customers.len()),
        customers,
    })
}

/// A list of money records; `null` (or a missing resource) is an empty list.
pub fn records<T: Model>(wire: &Wire) -> Result<Records<T>, Error> {
    let Wire::Body(body) = wire else {
        return Ok(Records::default());
    };
    let envelope = unwrap(body)?;
    let raw = array(envelope.data, T::NOUN)?;
    let total = raw.len();
    let items: Vec<Arc<T>> = raw
        .into_iter()
        .filter_map(|record| T::from_json(record.get()).ok().map(Arc::new))
        .collect();
    Ok(Records {
        undecodable: total.saturating_sub(items.len()),
        items,
        has_next: envelope.metadata.unwrap_or_default().has_next,
        wire_bytes: body.len(),
    })
}

/// `GET /accounts/{id}`'s answer.
pub fn account(id: &str, wire: &Wire) -> Result<Option<Arc<Account>>, Error> {
    record(wire, |a: &Account| a.id == id)
}

/// `GET /accounts/number/{number}`'s answer.
pub fn account_by_number(number: &str, wire: &Wire) -> Result<Option<Arc<Account>>, Error> {
    record(wire, |a: &Account| {
        a.account_number.value().is_some_and(|n| n == number)
    })
}

/// `GET /transactions/reference/{reference}`'s answer.
pub fn transaction(reference: &str, wire: &Wire) -> Result<Option<Arc<Transaction>>, Error> {
    record(wire, |t: &Transaction| {
        t.reference.value().is_some_and(|r| r == reference)
    })
}

/// One record; `None` when the resource is missing. A record that is not the one asked for
/// (`matches` says) is an error, never an answer.
fn record<T: Model>(wire: &Wire, matches: impl Fn(&T) -> bool) -> Result<Option<Arc<T>>, Error> {
    let Wire::Body(body) = wire else {
        return Ok(None);
    };
    let data = unwrap(body)?.data.ok_or_else(|| Error::Decode {
        detail: format!("{} answer without data", T::NOUN),
    })?;
    let record = T::from_json(data.get()).map_err(|_| Error::Decode {
        detail: format!("{} record without a string id", T::NOUN),
    })?;
    if !matches(&record) {
        return Err(Error::Decode {
            detail: format!("the {} is not the one asked for", T::NOUN),
        });
    }
    Ok(Some(Arc::new(record)))
}

/// Each record of a list answer as the answer of its own lookup (`{"success":true,"data":…}`),
/// by its id: what a list brings for the lookups it answers too. Records without a string
/// id are left out, as the list's decoder leaves them out.
pub fn split(wire: &Wire) -> Vec<(String, Wire)> {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    let Wire::Body(body) = wire else {
        return Vec::new();
    };
    let Ok(envelope) = unwrap(body) else {
        return Vec::new();
    };
    let Ok(records) = array(envelope.data, "record") else {
        return Vec::new();
    };
    records
        .into_iter()
        .filter_map(|record| {
            let id = serde_json::from_str::<Id>(record.get()).ok()?.id;
            let mut single = Vec::with_capacity(record.get().len().saturating_add(32));
            single.extend_from_slice(br#"{"success":true,"data":"#);
            single.extend_from_slice(record.get().as_bytes());
            single.push(b'}');
            (!id.is_empty()).then(|| (id, Wire::Body(Bytes::from(single))))
        })
        .collect()
}

/// The envelope of a successful answer.
fn unwrap(body: &[u8]) -> Result<Envelope<'_>, Error> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| Error::from_json(&e))?;
    if !envelope.success {
        return Err(Error::Unsuccessful);
    }
    Ok(envelope)
}

/// `data` as an array of records (`null` or absent: none).
fn array<'a>(data: Option<&'a RawValue>, noun: &str) -> Result<Vec<&'a RawValue>, Error> {
    match data {
        None => Ok(Vec::new()),
        Some(data) => serde_json::from_str(data.get()).map_err(|_| Error::Decode {
            detail: format!("{noun} list is not an array"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_splits_into_the_answers_of_its_lookups() {
        let body = br#"{"success":true,"data":[{"id":"a","first_name":"Ada"},{"first_name":"no id"},{"id":"b"}]}"#;
        let wire = Wire::Body(Bytes::from_static(body));
        let records = split(&wire);
        let ids: Vec<&str> = records.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        let ada = customer("a", &records[0].1).unwrap().unwrap();
        assert_eq!(ada.first_name.value().map(String::as_str), Some("Ada"));
        assert!(
            customer("b", &records[0].1).is_err(),
            "another id is refused"
        );
        assert!(split(&Wire::Missing).is_empty());
    }
}
