//! `SyncData`.

use async_graphql::{Object, Result};

use super::lenient;
use crate::bloc::models;

/// Bloc's `SyncData`, borrowed from the Bloc record.
pub(crate) struct SyncData<'a>(pub &'a models::SyncData);

/// Bloc's record of a sync with an external provider. Bloc names these fields in Go style
/// (`Provider`, `ID`); they are kept verbatim so queries match Bloc's docs.
// `serial`: the fields read memory only (see `Customer`).
#[Object(name = "SyncData", serial)]
impl SyncData<'_> {
    /// The provider synced with; `null` when none.
    #[graphql(name = "Provider")]
    async fn provider(&self) -> Result<Option<&String>> {
        lenient(&self.0.provider, "Provider")
    }
    /// The record's id at that provider, when there is one.
    #[graphql(name = "ID")]
    async fn id(&self) -> Result<Option<&String>> {
        lenient(&self.0.id, "ID")
    }
}

/// The text field of `SyncData` named `name` in the schema (for direct execution).
pub(crate) fn sync_data_field(name: &str) -> Option<super::Text<models::SyncData>> {
    Some(match name {
        "Provider" => |s| &s.provider,
        "ID" => |s| &s.id,
        _ => return None,
    })
}
