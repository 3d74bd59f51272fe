//! Keeps async-graphql from turning an object whose whole selection was skipped into `null`.
//!
//! async-graphql's container resolution returns `null` for an object that produced no fields,
//! which is also what an object whose fields were all skipped produces; the spec wants `{}`.
//! [`with_sentinels`] adds a `__typename` under a reserved response key ([`SENTINEL`]) to every
//! selection set that might select nothing, so such an object always has one field;
//! `shape::Shape::complete` removes the key again.

use std::sync::Arc;

use async_graphql::{
    Name, Positioned,
    parser::types::{DocumentOperations, ExecutableDocument, Field, Selection, SelectionSet},
};

/// Response key of the `__typename` field [`with_sentinels`] adds to selection sets that may
/// select nothing. Never sent to clients: `shape::Shape::complete` removes it.
pub(crate) const SENTINEL: &str = "__bloc_graphql_resolved";

/// The document with a [`SENTINEL`] `__typename` added to every object selection set
/// that might select nothing (each of its selections carries `@skip`/`@include`, or is a
/// fragment that might select nothing), so async-graphql never turns an object whose
/// selection was skipped into `null`. `None` when no set needs one (the usual case).
pub(crate) fn with_sentinels(doc: &ExecutableDocument) -> Option<Arc<ExecutableDocument>> {
    let sets = Sets { doc };
    let wanted = doc
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node)
        .chain(doc.fragments.values().map(|f| &f.node.selection_set.node))
        .any(|set| sets.wants(set));
    if !wanted {
        return None;
    }
    let mut patched = doc.clone();
    match &mut patched.operations {
        DocumentOperations::Single(op) => sets.add(&mut op.node.selection_set.node),
        DocumentOperations::Multiple(ops) => {
            for op in ops.values_mut() {
                sets.add(&mut op.node.selection_set.node);
            }
        }
    }
    for fragment in patched.fragments.values_mut() {
        sets.add(&mut fragment.node.selection_set.node);
    }
    Some(Arc::new(patched))
}

/// Fragment spreads deeper than this count as possibly empty (validation rejects cycles;
/// this only bounds the look-up before it has run).
const MAX_SPREAD_DEPTH: usize = 16;

/// Reads the original document while a copy of it is patched.
struct Sets<'a> {
    doc: &'a ExecutableDocument,
}

impl Sets<'_> {
    /// Whether `set` always selects at least one field.
    fn selects(&self, set: &SelectionSet, depth: usize) -> bool {
        set.items.iter().any(|s| match &s.node {
            Selection::Field(f) => f.node.directives.is_empty(),
            Selection::InlineFragment(i) => {
                i.node.directives.is_empty() && self.selects(&i.node.selection_set.node, depth)
            }
            Selection::FragmentSpread(spread) => {
                depth < MAX_SPREAD_DEPTH
                    && spread.node.directives.is_empty()
                    && self
                        .doc
                        .fragments
                        .get(&spread.node.fragment_name.node)
                        .is_some_and(|f| {
                            self.selects(&f.node.selection_set.node, depth.saturating_add(1))
                        })
            }
        })
    }

    /// Whether a field within `set` (through inline fragments) selects on an object with a
    /// set that might select nothing.
    fn wants(&self, set: &SelectionSet) -> bool {
        set.items.iter().any(|s| match &s.node {
            // Introspection answers are left as async-graphql writes them (the plan does not
            // look inside them), so they get no sentinel either.
            Selection::Field(f) if f.node.name.node.starts_with("__") => false,
            Selection::Field(f) => {
                let sub = &f.node.selection_set.node;
                !sub.items.is_empty() && (!self.selects(sub, 0) || self.wants(sub))
            }
            Selection::InlineFragment(i) => self.wants(&i.node.selection_set.node),
            Selection::FragmentSpread(_) => false,
        })
    }

    /// Adds the sentinel to the sets of the fields within `set` that need it.
    fn add(&self, set: &mut SelectionSet) {
        for selection in &mut set.items {
            match &mut selection.node {
                Selection::Field(f)
                    if !f.node.selection_set.node.items.is_empty()
                        && !f.node.name.node.starts_with("__") =>
                {
                    let sub = &mut f.node.selection_set.node;
                    self.add(sub);
                    if !self.selects(sub, 0) {
                        let pos = f.pos;
                        let sentinel = Field {
                            alias: Some(Positioned::new(Name::new(SENTINEL), pos)),
                            name: Positioned::new(Name::new("__typename"), pos),
                            arguments: Vec::new(),
                            directives: Vec::new(),
                            selection_set: Positioned::new(SelectionSet::default(), pos),
                        };
                        let field = Positioned::new(sentinel, pos);
                        sub.items
                            .push(Positioned::new(Selection::Field(field), pos));
                    }
                }
                Selection::InlineFragment(i) => self.add(&mut i.node.selection_set.node),
                _ => {}
            }
        }
    }
}
