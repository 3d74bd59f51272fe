//! The access policy, read from the tables: a root field's scope from the query root's table
//! (`RootScope`, its resolvers' guard), an object field's from its line in its type's table
//! (the generated resolver calls [`require`]).
//!
//! A field the caller may not read resolves to `null` with a `FORBIDDEN` error at its path;
//! the rest of the response is unaffected.

use async_graphql::{Context, Guard, Result};

use crate::{
    auth::{Principal, Scope},
    error,
};

/// Requires the scope the query root's table names for the field being resolved.
pub(crate) struct RootScope;

impl Guard for RootScope {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        let name = ctx.item.node.name.node.as_str();
        match super::query::root_field(name) {
            Some(field) => require(ctx, field.scope),
            None => Err(error::internal("a root field missing from the root table")),
        }
    }
}

/// Fails with `FORBIDDEN` unless the caller holds `scope`.
pub(crate) fn require(ctx: &Context<'_>, scope: Scope) -> Result<()> {
    if holds(ctx, scope) {
        Ok(())
    } else {
        Err(error::forbidden(scope))
    }
}

/// Whether the caller holds `scope` (false when the request carries no principal).
pub(crate) fn holds(ctx: &Context<'_>, scope: Scope) -> bool {
    ctx.data_opt::<Principal>()
        .is_some_and(|p| p.scopes.contains(scope))
}
