//! What the relation resolvers of every type share: the loader, the relation's scope, the
//! report of records Bloc sent unreadably, and the arguments of `transactions`.

use std::sync::Arc;

use async_graphql::{Context, InputObject, Result};

use super::{
    Customer, Transaction,
    enums::{Drcr, TransactionStatus},
};
use crate::{
    bloc::{
        self, Owner, Records,
        models::{self, Lenient, Model, ObjectId},
    },
    error,
    graphql::{
        guard,
        loaders::{TransactionPage, Upstream},
        table::Relation,
    },
};

// The bounds of `transactions`, written once: the constants, the checks and the schema's
// descriptions read these.
macro_rules! default_transactions {
    () => {
        20
    };
}
macro_rules! max_transactions {
    () => {
        100
    };
}
macro_rules! max_transactions_offset {
    () => {
        10000
    };
}
pub(crate) use {default_transactions, max_transactions, max_transactions_offset};

/// `transactions(limit:)` when none is given.
pub(crate) const DEFAULT_TRANSACTIONS: i32 = default_transactions!();
/// Largest `transactions(limit:)`.
pub(crate) const MAX_TRANSACTIONS: i32 = max_transactions!();
/// Largest `transactions(offset:)` (the cost model bounds it further: each page of
/// `offset + limit` is a call).
pub(crate) const MAX_TRANSACTIONS_OFFSET: i32 = max_transactions_offset!();

/// The request's loader.
pub(crate) fn loader<'a>(ctx: &Context<'a>) -> Result<&'a Arc<Upstream>> {
    ctx.data::<Arc<Upstream>>()
        .map_err(|_| error::internal("request executed without an Upstream"))
}

/// Requires the scope `relations` (the parent type's) name for the field being resolved.
pub(crate) fn require(ctx: &Context<'_>, relations: &[Relation]) -> Result<()> {
    let name = ctx.item.node.name.node.as_str();
    match relations.iter().find(|r| r.name == name) {
        Some(relation) => guard::require(ctx, relation.scope),
        None => Err(error::internal("a relation missing from its type's table")),
    }
}

/// Reports, at the field, records of type `M` Bloc sent that could not be read at all.
pub(crate) fn report_dropped<M: Model>(ctx: &Context<'_>, undecodable: usize) {
    if undecodable > 0 {
        let error = error::upstream_records_dropped(M::NOUN, undecodable);
        ctx.add_error(ctx.set_error_path(error.into_server_error(ctx.item.pos)));
    }
}

/// A list relation's answer: Bloc's failure as the field's error, records Bloc sent unreadably
/// reported, each record wrapped as its GraphQL type.
pub(crate) fn listed<M: Model, W>(
    ctx: &Context<'_>,
    found: Result<Arc<Records<M>>, bloc::Error>,
    wrap: fn(Arc<M>) -> W,
) -> Result<Option<Vec<W>>> {
    let records = found.map_err(|e| error::upstream(&e))?;
    report_dropped::<M>(ctx, records.undecodable);
    Ok(Some(records.items.iter().cloned().map(wrap).collect()))
}

/// The customer a record names (a back-reference), through the request's loader; `None` when
/// it names none.
pub(crate) async fn customer(
    ctx: &Context<'_>,
    relations: &[Relation],
    id: &Lenient<ObjectId>,
) -> Result<Option<Customer>> {
    require(ctx, relations)?;
    let Some(id) = id.value() else {
        return Ok(None);
    };
    let found = loader(ctx)?.customer(&id.0).await;
    found
        .map(|c| c.map(Customer))
        .map_err(|e| error::upstream(&e))
}

/// `transactions(limit, offset, filter)` of `owner` (a customer or an account).
pub(crate) async fn transactions(
    ctx: &Context<'_>,
    relations: &[Relation],
    owner: Owner,
    (limit, offset, filter): (Option<i32>, Option<i32>, Option<TransactionFilter>),
) -> Result<Option<Vec<Transaction>>> {
    require(ctx, relations)?;
    let page = transaction_page(owner, limit, offset, filter)?;
    let (found, dropped) = loader(ctx)?
        .transactions(&page)
        .await
        .map_err(|e| error::upstream(&e))?;
    report_dropped::<models::Transaction>(ctx, dropped);
    Ok(Some(found.into_iter().map(Transaction).collect()))
}

/// Conditions every returned transaction meets (checked by the facade on what Bloc sends,
/// and sent to Bloc as well).
#[derive(InputObject, Default, Clone, Copy)]
#[graphql(rename_fields = "snake_case")]
pub(crate) struct TransactionFilter {
    /// Only credits, or only debits.
    pub drcr: Option<Drcr>,
    /// Only transactions with this status.
    pub status: Option<TransactionStatus>,
}

/// The page a `transactions` field asks for, once its arguments are checked.
pub(crate) fn transaction_page(
    owner: Owner,
    limit: Option<i32>,
    offset: Option<i32>,
    filter: Option<TransactionFilter>,
) -> Result<TransactionPage> {
    let limit = limit.unwrap_or(DEFAULT_TRANSACTIONS);
    if !(0..=MAX_TRANSACTIONS).contains(&limit) {
        return Err(error::bad_user_input(format!(
            "limit must be between 0 and {MAX_TRANSACTIONS}"
        )));
    }
    let offset = offset.unwrap_or(0);
    if !(0..=MAX_TRANSACTIONS_OFFSET).contains(&offset) {
        return Err(error::bad_user_input(format!(
            "offset must be between 0 and {MAX_TRANSACTIONS_OFFSET}"
        )));
    }
    let filter = filter.unwrap_or_default();
    Ok(TransactionPage {
        owner,
        drcr: filter.drcr.map(Into::into),
        status: filter.status.map(Into::into),
        // Checked non-negative above.
        offset: usize::try_from(offset).unwrap_or(0),
        limit: usize::try_from(limit).unwrap_or(0),
    })
}
