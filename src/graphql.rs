//! The GraphQL layer: the only module that knows async-graphql.
//!
//! [`schema()`] builds the schema, [`Upstream`] is the per-HTTP-request loader, and
//! [`execute`] runs one operation and returns a response whose fields are in the order the
//! query asked for them.

mod execute;
mod loaders;
mod order;
mod query;
mod types;

use async_graphql::{EmptyMutation, EmptySubscription, Schema};

pub use execute::{Executed, Operation, Response, execute};
pub use loaders::{Upstream, UpstreamStats};
pub use query::Query;

/// The facade's schema type.
pub type AppSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Builds the schema. It holds no per-request state: the loader travels with each request.
pub fn schema() -> AppSchema {
    Schema::build(Query, EmptyMutation, EmptySubscription).finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    schema().sdl()
}
