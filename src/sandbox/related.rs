//! The endpoints of a customer's related records: accounts, cards, wallets, transactions.
//! Each answer regenerates the one customer it is about (its index comes from the customer
//! id, or is carried in the account id, number or reference asked for), so nothing is looked
//! up in a table and nothing is stored per record.

use std::{borrow::Cow, sync::Arc};

use axum::{
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::Response,
};
use serde::Serialize;

use super::{
    data::CUSTOMER_COUNT,
    ids::{self, Kind},
    query::Query,
    relations::{Account, Transaction},
    server::{Served, failure, json_body},
    view::View,
};

/// Bloc's success envelope.
#[derive(Serialize)]
struct Envelope<T> {
    success: bool,
    /// `null` for an empty list, as a Go nil slice serialises.
    data: Option<T>,
    message: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata>,
}

#[derive(Serialize)]
struct Metadata {
    has_next: bool,
    has_previous: bool,
}

fn answer<T: Serialize>(
    data: Option<T>,
    message: &'static str,
    metadata: Option<Metadata>,
) -> Response {
    let envelope = Envelope {
        success: true,
        data,
        message,
        metadata,
    };
    match serde_json::to_vec(&envelope) {
        Ok(body) => json_body(body.into()),
        Err(_) => failure(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

fn listed<T: Serialize>(
    items: Vec<T>,
    message: &'static str,
    metadata: Option<Metadata>,
) -> Response {
    answer((!items.is_empty()).then_some(items), message, metadata)
}

/// Runs `render` on customer `id`'s view: the customer-scoped endpoints, which answer 400
/// for a malformed id and 404 for an unknown one.
fn of_customer(served: &Served, id: &str, render: impl FnOnce(&View) -> Response) -> Response {
    if !ids::well_formed(id) {
        return failure(StatusCode::BAD_REQUEST, "invalid customer id");
    }
    let now = served.now();
    let Some((index, record)) = served
        .rendered
        .position(id)
        .and_then(|index| Some((index, served.rendered.record(index, &now)?)))
    else {
        return failure(StatusCode::NOT_FOUND, "customer not found");
    };
    match View::new(index, &record, &now) {
        Some(view) => render(&view),
        None => failure(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

/// `GET /v1/accounts/customers/accounts/{customerID}`.
pub(super) async fn accounts_of(
    State(served): State<Arc<Served>>,
    Path(id): Path<String>,
) -> Response {
    of_customer(&served, &id, |view| {
        listed(view.accounts(), "accounts found", None)
    })
}

/// `GET /v1/cards/customer/{customerID}`.
pub(super) async fn cards_of(
    State(served): State<Arc<Served>>,
    Path(id): Path<String>,
) -> Response {
    of_customer(&served, &id, |view| listed(view.cards(), "cards", None))
}

/// `GET /v1/wallets/customers/{customerID}`: one page holds them all.
pub(super) async fn wallets_of(
    State(served): State<Arc<Served>>,
    Path(id): Path<String>,
) -> Response {
    let metadata = Metadata {
        has_next: false,
        has_previous: false,
    };
    of_customer(&served, &id, |view| {
        listed(view.wallets(), "wallets found", Some(metadata))
    })
}

/// Runs `find` on customer `index`'s view, if there is such a customer; `None` is a 404.
fn in_customer(
    served: &Served,
    index: usize,
    find: impl FnOnce(&View) -> Option<Response>,
) -> Option<Response> {
    let now = served.now();
    let record = served.rendered.record(index, &now)?;
    find(&View::new(index, &record, &now)?)
}

/// `GET /v1/accounts/{accountID}`.
pub(super) async fn account(State(served): State<Arc<Served>>, Path(id): Path<String>) -> Response {
    if !ids::well_formed(&id) {
        return failure(StatusCode::BAD_REQUEST, "invalid account id");
    }
    ids::object_owner(Kind::Account, &id)
        .and_then(|(index, slot)| {
            in_customer(&served, index, |view| {
                let account = view.plan.accounts.get(usize::try_from(slot).ok()?)?;
                (view.account_id(account) == id)
                    .then(|| answer(Some(view.account(account)), "account found", None))
            })
        })
        .unwrap_or_else(|| failure(StatusCode::NOT_FOUND, "account not found"))
}

/// `GET /v1/accounts/number/{accountNumber}`: ten digits.
pub(super) async fn account_by_number(
    State(served): State<Arc<Served>>,
    Path(number): Path<String>,
) -> Response {
    let Some((index, slot)) = ids::number_owner(&number) else {
        return failure(StatusCode::BAD_REQUEST, "invalid account number");
    };
    in_customer(&served, index, |view| {
        // Wallets share the numbers' space; only accounts are found here.
        let account = view.plan.accounts.get(usize::from(slot))?;
        (view.account_number(account) == number)
            .then(|| answer(Some(view.account(account)), "account found", None))
    })
    .unwrap_or_else(|| failure(StatusCode::NOT_FOUND, "account not found"))
}

/// `GET /v1/transactions/reference/{reference}`.
pub(super) async fn transaction(
    State(served): State<Arc<Served>>,
    Path(reference): Path<String>,
) -> Response {
    ids::reference_owner(&reference)
        .and_then(|(index, slot, place)| {
            in_customer(&served, index, |view| {
                let account = view.plan.accounts.get(usize::from(slot))?;
                let transaction = account.transactions.get(usize::from(place))?;
                (view.reference(transaction) == reference).then(|| {
                    answer(
                        Some(view.transaction(account, transaction)),
                        "transaction found",
                        None,
                    )
                })
            })
        })
        .unwrap_or_else(|| failure(StatusCode::NOT_FOUND, "transaction not found"))
}

/// The transactions of `views`' customers (of account `account_id` only, if given) that
/// `admits` lets through, newest first.
pub(super) fn ledger<'v>(
    views: &'v [View<'_>],
    account_id: Option<&str>,
    admits: impl Fn(&Transaction) -> bool,
) -> Vec<(&'v View<'v>, &'v Account, &'v Transaction)> {
    let mut found = Vec::new();
    for view in views {
        for account in &view.plan.accounts {
            if account_id.is_some_and(|id| id != view.account_id(account)) {
                continue;
            }
            let admitted = account.transactions.iter().filter(|t| admits(t));
            found.extend(admitted.map(|t| (view, account, t)));
        }
    }
    // Ties (none in practice) in a fixed order.
    found.sort_unstable_by_key(|(view, _, t)| {
        std::cmp::Reverse((t.created, view.index, t.slot, t.place))
    });
    found
}

/// `GET /v1/transactions`: newest first, filtered and paged as the query says.
pub(super) async fn transactions(
    State(served): State<Arc<Served>>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = match Query::parse(query.as_deref().unwrap_or_default()) {
        Ok(query) => query,
        Err(message) => return failure(StatusCode::BAD_REQUEST, message),
    };
    let count = served.rendered.len();
    // Whose transactions to look through. An unknown customer or account has none.
    let owners: Vec<usize> = match (&query.customer_id, &query.account_id) {
        (Some(id), _) => served.rendered.position(id).into_iter().collect(),
        (None, Some(id)) => ids::object_owner(Kind::Account, id)
            .map(|(index, _)| index)
            .filter(|index| *index < count)
            .into_iter()
            .collect(),
        // The organisation's whole ledger: every customer's records regenerated, which only
        // the default sandbox's size keeps cheap.
        (None, None) if count <= CUSTOMER_COUNT => (0..count).collect(),
        (None, None) => {
            return failure(
                StatusCode::BAD_REQUEST,
                "customer_id or account_id is required in a sandbox this large",
            );
        }
    };
    let now = served.now();
    let records: Vec<(usize, Cow<'_, [u8]>)> = owners
        .into_iter()
        .filter_map(|index| Some((index, served.rendered.record(index, &now)?)))
        .collect();
    let views: Vec<View<'_>> = records
        .iter()
        .filter_map(|(index, record)| View::new(*index, record, &now))
        .collect();
    let matching = ledger(&views, query.account_id.as_deref(), |t| query.admits(t));
    let skip = query.page.saturating_sub(1).saturating_mul(query.per_page);
    let page: Vec<_> = matching
        .iter()
        .skip(skip)
        .take(query.per_page)
        .map(|(view, account, t)| view.transaction(account, t))
        .collect();
    let metadata = Metadata {
        has_next: skip.saturating_add(query.per_page) < matching.len(),
        has_previous: query.page > 1,
    };
    listed(page, "transactions found", Some(metadata))
}
