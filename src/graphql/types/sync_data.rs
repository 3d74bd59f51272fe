//! `SyncData`: its table, one line per field.

use crate::{
    bloc::models,
    graphql::table::{Cell, IntoCell, object_table},
};

/// Bloc's `SyncData`, borrowed from the Bloc record.
pub(crate) struct SyncData<'a>(pub &'a models::SyncData);

impl<'a> IntoCell<'a> for SyncData<'a> {
    fn into_cell(self) -> Cell<'a> {
        Cell::Object(self.0)
    }
}

object_table! {
    /// Bloc's record of a sync with an external provider. Bloc names these fields in Go style
    /// (`Provider`, `ID`); they are kept verbatim so queries match Bloc's docs.
    // `serial`: the fields read memory only (see `Customer`).
    impl SyncData<'_> => SYNC_DATA: models::SyncData as "SyncData";
    Object(name = "SyncData", serial);
    /// The provider synced with; `null` when none.
    provider as "Provider": Option<&String> = |s| s.provider.get();
    /// The record's id at that provider, when there is one.
    id as "ID": Option<&String> = |s| s.id.get();
}
