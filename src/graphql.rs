//! The GraphQL layer: the only module that knows async-graphql.
//!
//! [`schema()`] builds the schema, [`Upstream`] is the per-HTTP-request loader, and
//! [`execute`] runs one operation and returns a response whose fields are in the order the
//! query asked for them.

mod cache;
mod direct;
mod document;
mod execute;
mod guard;
mod limits;
mod loaders;
mod query;
mod response;
mod sentinel;
mod shape;
mod table;
mod types;

use async_graphql::{EmptyMutation, EmptySubscription, Schema};

pub use cache::DocumentCache;
pub use execute::{Checked, Operation, Policy, Prepared, prepare, run, upstream_calls};
pub use limits::OperationLimits;
pub use loaders::Upstream;
pub use query::Query;
pub use response::{Response, rejection};

/// The facade's schema type.
pub type AppSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Builds the schema. It holds no per-request state: the loader and the caller travel with
/// each request. Introspection and "did you mean" suggestions are on only when asked for.
pub fn schema(introspection: bool, suggestions: bool) -> AppSchema {
    let mut builder =
        Schema::build(Query, EmptyMutation, EmptySubscription).extension(cache::ValidationMemo);
    if !introspection {
        builder = builder.disable_introspection();
    }
    if !suggestions {
        builder = builder.disable_suggestions();
    }
    builder.finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .finish()
        .sdl()
}
