//! One table per GraphQL object type: for each field, its name, the scope it needs, its cost
//! and how it is read from the Bloc record behind the type.
//!
//! A type's table is written once, with [`object_table!`], one line per field:
//!
//! ```text
//! /// Description (becomes the schema's).
//! kyc_tier: Option<i32> = |c| c.kyc_tier.get().map(|t| t.map(|t| i32::from(t.0)));
//! ```
//!
//! From those lines the macro generates the async-graphql resolvers (so the schema and its
//! descriptions come from the table), the [`Table`] value that the direct executor
//! (`super::direct`) renders from and the cost model (`super::limits`) prices fields by, and
//! the PII policy: a line marked `[pii]` (`bvn [pii]: Option<&String> = ...`) needs
//! `customers:pii` (its resolver checks, its description says so, and the direct executor
//! asks for the scope); an unmarked one only `customers:read`. A read returns `Err(Invalid)` when Bloc sent a value
//! that does not parse: the resolver answers `null` with `UPSTREAM_BAD_RESPONSE` at the field,
//! and the direct executor hands the operation to async-graphql to say so.

use async_graphql::{Name, Value};

use crate::{auth::Scope, bloc::models::Invalid};

/// A field's value on the direct path: a GraphQL value, or a record to render in turn.
pub(crate) enum Cell<'a> {
    /// A leaf, or `null`.
    Value(Value),
    /// An object, rendered from its own table.
    Object(&'a dyn Row),
}

/// One field of an object type backed by the Bloc record `M`.
pub(crate) struct Column<M: 'static> {
    /// The field's GraphQL name.
    pub name: &'static str,
    /// The scope a caller needs to read it.
    pub scope: Scope,
    /// Complexity points the field costs, per item of the lists above it.
    pub cost: usize,
    /// The object type the field returns, when it returns one.
    pub object: Option<&'static dyn Schema>,
    /// Its value, read from the record.
    pub read: for<'a> fn(&'a M) -> Result<Cell<'a>, Invalid>,
}

/// The fields of one GraphQL object type, in schema order.
pub(crate) struct Table<M: 'static> {
    /// The type's GraphQL name.
    pub typename: &'static str,
    pub columns: &'static [Column<M>],
    /// Its fields that reach Bloc again (a customer's accounts, a transaction's account).
    pub relations: &'static [Relation],
}

/// A field that reaches Bloc for each parent it is on: what the cost model counts, and the
/// scope its resolver's guard requires. Its resolver is written beside the type's table.
pub(crate) struct Relation {
    pub name: &'static str,
    /// The scope a caller needs to read it.
    pub scope: Scope,
    pub calls: RelationCalls,
    /// The object type it returns (a list of it unless `calls` is `One`).
    pub returns: &'static dyn Schema,
}

/// How a relation reaches Bloc, per parent item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RelationCalls {
    /// One call, giving one record (or none).
    One,
    /// One call, giving every record Bloc holds (no paging): priced at
    /// [`ASSUMED_LIST_ITEMS`] items for what is selected under it.
    List,
    /// A page of transactions: `limit` items (default and most as given) after `offset`,
    /// one call per page of `TRANSACTIONS_PER_PAGE` that `offset + limit` spans.
    Paged { default: i32, max: i32 },
}

/// Items the cost model assumes a relation without paging returns (a customer's accounts,
/// cards or wallets), for pricing what is selected under it. A request whose lists turn out
/// longer makes no more calls than it was priced at: the extra fields get
/// `MAX_UPSTREAM_CALLS_EXCEEDED`.
pub(crate) const ASSUMED_LIST_ITEMS: usize = 10;

/// What a selection needs to know of a field, whatever record type its table reads.
#[derive(Clone, Copy)]
pub(crate) struct Field {
    /// The column's position in its table.
    pub index: usize,
    pub scope: Scope,
    pub cost: usize,
    pub object: Option<&'static dyn Schema>,
}

/// A table seen without its record type: what compiling or pricing a selection needs.
pub(crate) trait Schema: Sync {
    /// The type's GraphQL name.
    fn typename(&self) -> &'static str;
    /// The field named `name`, if the type has one.
    fn field(&self, name: &str) -> Option<Field>;
    /// The relation named `name`, if the type has one.
    fn relation(&self, name: &str) -> Option<&'static Relation>;
}

impl<M: 'static> Schema for Table<M> {
    fn typename(&self) -> &'static str {
        self.typename
    }

    fn field(&self, name: &str) -> Option<Field> {
        let index = self.columns.iter().position(|c| c.name == name)?;
        let column = self.columns.get(index)?;
        Some(Field {
            index,
            scope: column.scope,
            cost: column.cost,
            object: column.object,
        })
    }

    fn relation(&self, name: &str) -> Option<&'static Relation> {
        self.relations.iter().find(|r| r.name == name)
    }
}

/// A compiled selection of an object's fields: response keys in query order.
pub(crate) type Selection = Vec<(Name, Selected)>;

/// One selected field.
pub(crate) enum Selected {
    /// `__typename`.
    Typename,
    /// A column of the type's table, with the selection of its object type (empty for a
    /// leaf).
    Column { index: usize, sub: Selection },
}

/// A Bloc record behind an object type, rendered by its table.
pub(crate) trait Record: Sync + Sized + 'static {
    /// The table of the record's GraphQL type.
    fn table() -> &'static Table<Self>;
}

/// A record of some type, writing a selection compiled against that type's table.
pub(crate) trait Row: Sync {
    /// The selected fields in order, as a JSON object appended to `out`; `None` when one of
    /// them is unreadable (`out` then holds a partial object the caller discards).
    fn write_json(&self, selection: &[(Name, Selected)], out: &mut Vec<u8>) -> Option<()>;
}

impl<M: Record> Row for M {
    fn write_json(&self, selection: &[(Name, Selected)], out: &mut Vec<u8>) -> Option<()> {
        let table = M::table();
        out.push(b'{');
        for (n, (key, selected)) in selection.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            write_json(out, key.as_str())?;
            out.push(b':');
            match selected {
                Selected::Typename => write_json(out, table.typename)?,
                Selected::Column { index, sub } => {
                    match (table.columns.get(*index)?.read)(self).ok()? {
                        Cell::Value(value) => write_json(out, &value)?,
                        Cell::Object(row) => row.write_json(sub, out)?,
                    }
                }
            }
        }
        out.push(b'}');
        Some(())
    }
}

/// Appends `value` as JSON, exactly as serialising a whole async-graphql response writes it.
pub(crate) fn write_json(
    out: &mut Vec<u8>,
    value: &(impl serde::Serialize + ?Sized),
) -> Option<()> {
    serde_json::to_writer(out, value).ok()
}

/// How a resolver's value becomes a [`Cell`] on the direct path.
pub(crate) trait IntoCell<'a> {
    fn into_cell(self) -> Cell<'a>;
}

impl<'a, T: IntoCell<'a>> IntoCell<'a> for Option<T> {
    fn into_cell(self) -> Cell<'a> {
        match self {
            Some(value) => value.into_cell(),
            None => Cell::Value(Value::Null),
        }
    }
}

impl<'a> IntoCell<'a> for &String {
    fn into_cell(self) -> Cell<'a> {
        Cell::Value(Value::String(self.clone()))
    }
}

impl<'a> IntoCell<'a> for String {
    fn into_cell(self) -> Cell<'a> {
        Cell::Value(Value::String(self))
    }
}

impl<'a> IntoCell<'a> for &str {
    fn into_cell(self) -> Cell<'a> {
        Cell::Value(Value::String(self.to_owned()))
    }
}

impl<'a> IntoCell<'a> for i32 {
    fn into_cell(self) -> Cell<'a> {
        Cell::Value(Value::from(self))
    }
}

impl<'a> IntoCell<'a> for async_graphql::ID {
    fn into_cell(self) -> Cell<'a> {
        Cell::Value(Value::String(self.0))
    }
}

/// The object type a field's Rust type stands for, if any (leaves have none).
pub(crate) trait ColumnType {
    const OBJECT: Option<&'static dyn Schema> = None;
}

impl<T: ColumnType> ColumnType for Option<T> {
    const OBJECT: Option<&'static dyn Schema> = T::OBJECT;
}

impl ColumnType for String {}
impl ColumnType for &String {}
impl ColumnType for &str {}
impl ColumnType for i32 {}
impl ColumnType for async_graphql::ID {}

/// Enums and scalars as leaf columns: rendered as async-graphql renders them
/// (`InputType::to_value`), with no object type.
macro_rules! leaf_columns {
    ($($leaf:ty),* $(,)?) => {
        $(
            impl<'a> crate::graphql::table::IntoCell<'a> for $leaf {
                fn into_cell(self) -> crate::graphql::table::Cell<'a> {
                    crate::graphql::table::Cell::Value(async_graphql::InputType::to_value(&self))
                }
            }

            impl crate::graphql::table::ColumnType for $leaf {}
        )*
    };
}

pub(crate) use leaf_columns;

/// A field's GraphQL name: the one given, else the Rust name.
pub(crate) const fn field_name(rust: &'static str, given: &[&'static str]) -> &'static str {
    match given {
        [name, ..] => name,
        [] => rust,
    }
}

/// The scopes a table line may name in its `[...]` marker (only `pii` today); a line without
/// one needs only `customers:read`, as every field under a root field does.
#[allow(non_upper_case_globals, reason = "named as the table lines write them")]
pub(crate) mod scope {
    use crate::auth::Scope;

    /// `customers:pii`.
    pub(crate) const pii: Scope = Scope::Pii;
}

/// The relations a table names, else none.
pub(crate) const fn relations(given: &[&'static [Relation]]) -> &'static [Relation] {
    match given {
        [relations, ..] => relations,
        [] => &[],
    }
}

/// The scope a line's marker names, else `customers:read`.
pub(crate) const fn line_scope(marked: &[Scope]) -> Scope {
    match marked {
        [scope, ..] => *scope,
        [] => Scope::Read,
    }
}

/// Generates an object type from its table: the async-graphql resolvers (with the table's
/// descriptions, scope checks and drift handling), the [`Table`] static and the [`Record`]
/// impl. See the module documentation for the line format; `[pii]` after a field's name
/// marks it PII.
macro_rules! object_table {
    (
        $(#[$type_doc:meta])*
        impl $wrapper:ty => $table:ident: $model:ty as $typename:literal $(with $relations:expr)?;
        Object($($object_args:tt)*);
        $(
            $(#[$doc:meta])*
            $field:ident $(as $gql:literal)? $([$scope:ident])? : $ty:ty = |$c:ident| $read:expr;
        )*
        $(@resolvers { $($resolvers:tt)* })?
    ) => {
        $(#[$type_doc])*
        #[async_graphql::Object($($object_args)*)]
        impl $wrapper {
            $(
                $(#[$doc])*
                $(
                    ///
                    /// PII: needs the `customers:pii` scope; without it, `null` with a `FORBIDDEN` error.
                    #[cfg_attr(any(), $scope)]
                )?
                $(#[graphql(name = $gql)])?
                async fn $field(
                    &self,
                    _ctx: &async_graphql::Context<'_>,
                ) -> async_graphql::Result<$ty> {
                    $(crate::graphql::guard::require(_ctx, crate::graphql::table::scope::$scope)?;)?
                    let $c: &$model = &self.0;
                    let value: Result<$ty, crate::bloc::models::Invalid> = $read;
                    value.map_err(|_| {
                        crate::error::upstream_field(
                            crate::graphql::table::field_name(stringify!($field), &[$($gql)?]),
                        )
                    })
                }
            )*
            $($($resolvers)*)?
        }

        /// The type's table (see `crate::graphql::table`).
        pub(crate) static $table: crate::graphql::table::Table<$model> =
            crate::graphql::table::Table {
                typename: $typename,
                columns: &[
                    $(
                        crate::graphql::table::Column {
                            name: crate::graphql::table::field_name(stringify!($field), &[$($gql)?]),
                            scope: crate::graphql::table::line_scope(
                                &[$(crate::graphql::table::scope::$scope)?],
                            ),
                            cost: 1,
                            object: <$ty as crate::graphql::table::ColumnType>::OBJECT,
                            read: {
                                fn read<'a>(
                                    $c: &'a $model,
                                ) -> Result<crate::graphql::table::Cell<'a>, crate::bloc::models::Invalid> {
                                    let value: Result<$ty, crate::bloc::models::Invalid> = $read;
                                    value.map(crate::graphql::table::IntoCell::into_cell)
                                }
                                read
                            },
                        },
                    )*
                ],
                relations: crate::graphql::table::relations(&[$($relations)?]),
            };

        impl crate::graphql::table::ColumnType for $wrapper {
            const OBJECT: Option<&'static dyn crate::graphql::table::Schema> = Some(&$table);
        }

        impl crate::graphql::table::Record for $model {
            fn table() -> &'static crate::graphql::table::Table<Self> {
                &$table
            }
        }
    };
}

pub(crate) use object_table;
