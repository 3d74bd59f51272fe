//! The GraphQL layer: the only module that knows async-graphql.
//!
//! [`schema()`] builds the schema, [`Upstream`] is the per-HTTP-request loader, and
//! [`execute`] runs one operation and returns a response whose fields are in the order the
//! query asked for them.

mod direct;
mod document;
mod execute;
mod guard;
mod limits;
mod loaders;
mod query;
mod sentinel;
mod shape;
mod types;

use async_graphql::{EmptyMutation, EmptySubscription, Schema};

use crate::config::Exposure;

pub use execute::{
    Checked, DocumentCache, Operation, Policy, Prepared, Response, prepare, rejection, run,
};
pub use loaders::Upstream;
pub use query::Query;

/// The facade's schema type.
pub type AppSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Builds the schema. It holds no per-request state: the loader and the caller travel with
/// each request. Introspection and "did you mean" suggestions are on only when asked for.
pub fn schema(exposure: &Exposure) -> AppSchema {
    let mut builder =
        Schema::build(Query, EmptyMutation, EmptySubscription).extension(execute::ValidationMemo);
    if !exposure.introspection {
        builder = builder.disable_introspection();
    }
    if !exposure.suggestions {
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
