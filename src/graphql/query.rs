//! The query root: its table (how each root field reaches Bloc, and the scope it needs) and
//! its resolvers.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};

use super::{
    guard::{RootScope, holds},
    loaders::Upstream,
    table::Schema,
    types::{ACCOUNT, Account, CUSTOMER, Customer, CustomerFilter, TRANSACTION, Transaction},
};
use crate::{auth::Scope, error};

// The schema's own bounds, each written once: the constants below, the checks and the schema
// descriptions (through `concat!`) all read these.
macro_rules! max_id_len {
    () => {
        128
    };
}
macro_rules! default_limit {
    () => {
        50
    };
}
macro_rules! max_limit {
    () => {
        500
    };
}
macro_rules! max_ids {
    () => {
        100
    };
}

macro_rules! max_account_number_len {
    () => {
        20
    };
}

/// Longest account number accepted.
pub(crate) const MAX_ACCOUNT_NUMBER_LEN: usize = max_account_number_len!();
/// Longest customer id accepted; Bloc's ids are 24 characters.
pub(crate) const MAX_ID_LEN: usize = max_id_len!();
/// `limit` when none is given.
pub(crate) const DEFAULT_LIMIT: i32 = default_limit!();
/// Largest `limit` accepted.
pub(crate) const MAX_LIMIT: i32 = max_limit!();
/// Most ids in one `customers_by_id` call.
pub(crate) const MAX_IDS: usize = max_ids!();

/// How a root field reaches Bloc: what the cost model counts before anything runs, and what
/// the direct executor knows how to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Calls {
    /// One record by the id in this argument: a call per distinct id in the request.
    One(&'static str),
    /// Records by the ids in this list argument, one item each: a call per distinct id.
    Each(&'static str),
    /// The collection's one list call per request, giving up to `limit` items (default and
    /// most as given), or one value when `None`.
    List(Option<(i32, i32)>),
    /// One record by the key in this argument (not a customer id): a call per distinct key
    /// in the request.
    Lookup(&'static str),
}

/// A field of the query root.
pub(crate) struct RootField {
    pub name: &'static str,
    /// The scope a caller needs (its resolver's guard reads it here).
    pub scope: Scope,
    pub calls: Calls,
    /// The object type it returns (a list of it for `Each` and a limited `List`).
    pub returns: Option<&'static dyn Schema>,
}

/// The query root's table.
pub(crate) static ROOT: [RootField; 7] = [
    RootField {
        name: "customer",
        scope: Scope::Read,
        calls: Calls::One("id"),
        returns: Some(&CUSTOMER),
    },
    RootField {
        name: "customers_by_id",
        scope: Scope::Read,
        calls: Calls::Each("ids"),
        returns: Some(&CUSTOMER),
    },
    RootField {
        name: "customers",
        scope: Scope::Read,
        calls: Calls::List(Some((DEFAULT_LIMIT, MAX_LIMIT))),
        returns: Some(&CUSTOMER),
    },
    RootField {
        name: "customer_count",
        scope: Scope::Read,
        calls: Calls::List(None),
        returns: None,
    },
    RootField {
        name: "account",
        scope: Scope::Finance,
        calls: Calls::Lookup("id"),
        returns: Some(&ACCOUNT),
    },
    RootField {
        name: "account_by_number",
        scope: Scope::Finance,
        calls: Calls::Lookup("account_number"),
        returns: Some(&ACCOUNT),
    },
    RootField {
        name: "transaction",
        scope: Scope::Finance,
        calls: Calls::Lookup("reference"),
        returns: Some(&TRANSACTION),
    },
];

/// The root field named `name`.
pub(crate) fn root_field(name: &str) -> Option<&'static RootField> {
    ROOT.iter().find(|field| field.name == name)
}

/// The query root (its GraphQL description is on the `impl`).
pub struct Query;

/// Read access to Bloc customers, and to the accounts, cards, wallets and transactions
/// layered on them.
#[Object(rename_fields = "snake_case", rename_args = "snake_case")]
impl Query {
    /// One customer by Bloc id; `null` when Bloc does not know the id.
    ///
    #[doc = concat!(
        "Ids that are empty, longer than ", max_id_len!(), " characters or hold a control ",
        "character are rejected (`BAD_USER_INPUT`) without calling Bloc."
    )]
    #[graphql(guard = "RootScope")]
    async fn customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Bloc's customer id, e.g. `6410612c7f1b4b36103f872a`.")] id: ID,
    ) -> Result<Option<Customer>> {
        let id = checked_id(&id)?;
        let found = upstream(ctx)?.customer(id).await;
        found
            .map(|c| c.map(Customer))
            .map_err(|e| error::upstream(&e))
    }

    /// Several customers by id, in the order given; an unknown id gives `null` in its place,
    /// and an id Bloc fails on gives `null` with an error at its index. Duplicates cost one
    /// upstream call.
    ///
    #[doc = concat!("At most ", max_ids!(), " ids.")]
    #[graphql(guard = "RootScope")]
    async fn customers_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Bloc customer ids.")] ids: Vec<ID>,
    ) -> Result<Vec<Option<Result<Customer>>>> {
        if ids.len() > MAX_IDS {
            return Err(error::bad_user_input(format!(
                "ids must hold at most {MAX_IDS} ids"
            )));
        }
        for id in &ids {
            checked_id(id)?;
        }
        let upstream = upstream(ctx)?;
        let lookups = ids.iter().map(|id| upstream.customer(id.as_str()));
        Ok(futures::future::join_all(lookups)
            .await
            .into_iter()
            .map(|lookup| match lookup {
                Ok(None) => None,
                Ok(Some(customer)) => Some(Ok(Customer(customer))),
                Err(e) => Some(Err(error::upstream(&e))),
            })
            .collect())
    }

    /// A page of customers, in Bloc's order, optionally filtered.
    ///
    /// Bloc's list endpoint has no paging or filters and returns every customer in one call,
    /// so paging and filtering happen here over that one call (made at most once per
    /// request, however many list fields ask).
    ///
    #[doc = concat!("`limit` is 0 to ", max_limit!(), ".")]
    #[graphql(guard = "RootScope")]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Most customers to return.",
            default_with = "Some(DEFAULT_LIMIT)"
        )]
        limit: Option<i32>,
        #[graphql(desc = "Customers to skip first, default 0.")] offset: Option<i32>,
        #[graphql(desc = "Conditions every returned customer meets.")] filter: Option<
            CustomerFilter,
        >,
    ) -> Result<Vec<Customer>> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(0..=MAX_LIMIT).contains(&limit) {
            return Err(error::bad_user_input(format!(
                "limit must be between 0 and {MAX_LIMIT}"
            )));
        }
        let offset = offset.unwrap_or(0);
        if offset < 0 {
            return Err(error::bad_user_input("offset must not be negative"));
        }
        let matcher = CustomerFilter::matcher(filter.as_ref(), holds(ctx, Scope::Pii))?;
        let listing = listing(ctx).await?;
        Ok(listing
            .customers
            .iter()
            .filter(|c| matcher.matches(c))
            .skip(offset as usize)
            .take(limit as usize)
            .map(|c| Customer(Arc::clone(c)))
            .collect())
    }

    /// How many customers match the filter (all of them without one).
    #[graphql(guard = "RootScope")]
    async fn customer_count(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Conditions the counted customers meet.")] filter: Option<CustomerFilter>,
    ) -> Result<i32> {
        let matcher = CustomerFilter::matcher(filter.as_ref(), holds(ctx, Scope::Pii))?;
        let listing = listing(ctx).await?;
        let count = listing
            .customers
            .iter()
            .filter(|c| matcher.matches(c))
            .count();
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }

    /// One account by Bloc id (`GET /accounts/{id}`); `null` when Bloc does not know it.
    /// Needs `finance:read`.
    #[graphql(guard = "RootScope")]
    async fn account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Bloc's account id (a 24-hex ObjectId).")] id: ID,
    ) -> Result<Option<Account>> {
        let id = checked_id(&id)?;
        let found = upstream(ctx)?.account(id, false).await;
        found
            .map(|a| a.map(Account))
            .map_err(|e| error::upstream(&e))
    }

    /// One account by its account number (`GET /accounts/number/{number}`); `null` when
    /// Bloc does not know it. Needs `finance:read`.
    ///
    #[doc = concat!(
        "The number must be 1 to ", max_account_number_len!(), " digits (a NUBAN is 10); ",
        "anything else is rejected (`BAD_USER_INPUT`) without calling Bloc."
    )]
    #[graphql(guard = "RootScope")]
    async fn account_by_number(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account number, e.g. `9000000001`.")] account_number: String,
    ) -> Result<Option<Account>> {
        let number = checked_account_number(&account_number)?;
        let found = upstream(ctx)?.account(number, true).await;
        found
            .map(|a| a.map(Account))
            .map_err(|e| error::upstream(&e))
    }

    /// One transaction by its reference (`GET /transactions/reference/{reference}`); `null`
    /// when Bloc does not know it. Needs `finance:read`.
    ///
    #[doc = concat!(
        "References that are empty, longer than ", max_id_len!(), " characters or hold a ",
        "control character are rejected (`BAD_USER_INPUT`) without calling Bloc."
    )]
    #[graphql(guard = "RootScope")]
    async fn transaction(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The transaction's reference.")] reference: String,
    ) -> Result<Option<Transaction>> {
        let reference = checked_key("reference", &reference)?;
        let found = upstream(ctx)?.transaction(reference).await;
        found
            .map(|t| t.map(Transaction))
            .map_err(|e| error::upstream(&e))
    }
}

fn upstream<'a>(ctx: &Context<'a>) -> Result<&'a Arc<Upstream>> {
    super::types::loader(ctx)
}

/// Fetches the list once per request; records Bloc sent unreadably are reported once.
async fn listing(ctx: &Context<'_>) -> Result<Arc<crate::upstream::ListSnapshot>> {
    // Boxed, so the list call's large future is not inlined into every root field's
    // future (async-graphql boxes and moves one per field, whichever field it is).
    let listing = Box::pin(upstream(ctx)?.listing())
        .await
        .map_err(|e| error::upstream(&e))?;
    if listing.undecodable > 0 {
        let error = error::upstream_records_dropped("customer", listing.undecodable);
        ctx.add_error(ctx.set_error_path(error.into_server_error(ctx.item.pos)));
    }
    Ok(listing)
}

/// The id, when the resolvers accept it.
pub(crate) fn checked_id(id: &str) -> Result<&str> {
    checked_key("id", id)
}

/// A key sent to Bloc in a URL path (an id, a reference), when the resolvers accept it.
fn checked_key<'a>(what: &str, key: &'a str) -> Result<&'a str> {
    if key.is_empty() {
        return Err(error::bad_user_input(format!("{what} must not be empty")));
    }
    if key.chars().count() > MAX_ID_LEN {
        return Err(error::bad_user_input(format!(
            "{what} must be at most {MAX_ID_LEN} characters"
        )));
    }
    // URL parsers drop tab, CR and LF, so `.\t.` would reach Bloc as the dot segment `..`
    // (`GET /v1/`); no Bloc key holds a control character, so none is let through.
    if key.chars().any(char::is_control) {
        return Err(error::bad_user_input(format!(
            "{what} must not contain control characters"
        )));
    }
    Ok(key)
}

/// An account number, when the resolvers accept it: digits only.
fn checked_account_number(number: &str) -> Result<&str> {
    if number.is_empty()
        || number.len() > MAX_ACCOUNT_NUMBER_LEN
        || !number.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(error::bad_user_input(format!(
            "account_number must be 1 to {MAX_ACCOUNT_NUMBER_LEN} digits"
        )));
    }
    Ok(number)
}
