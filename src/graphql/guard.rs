//! The access policy, attached to fields as data: `#[graphql(guard = "RequireScope(..)")]`.
//!
//! A field whose guard fails resolves to `null` with a `FORBIDDEN` error at its path; the rest
//! of the response is unaffected. No resolver checks scopes itself.

use async_graphql::{Context, Guard, Result};

use crate::{
    auth::{Principal, Scope},
    error,
};

/// Requires the caller to hold one scope.
pub(crate) struct RequireScope(pub Scope);

impl Guard for RequireScope {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        if holds(ctx, self.0) {
            Ok(())
        } else {
            Err(error::forbidden(self.0))
        }
    }
}

/// Whether the caller holds `scope` (false when the request carries no principal).
pub(crate) fn holds(ctx: &Context<'_>, scope: Scope) -> bool {
    ctx.data_opt::<Principal>()
        .is_some_and(|p| p.scopes.contains(scope))
}
