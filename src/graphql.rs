//! The GraphQL layer: the only module that knows async-graphql.
//!
//! Each object type is a table (`table`, `types`); the query root has its own (`query`).
//! [`schema()`] builds the schema from them, [`prepare`] checks an operation against the
//! limits (`limits`, priced by the tables) with the parsed-document cache (`cache`), and [`run`]
//! runs it on the direct executor (`direct`, rendering from the tables) or async-graphql's
//! (its answer put in the spec's shape by `shape`), with [`Upstream`] as the request's loader.

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
