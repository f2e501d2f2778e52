//! Who owns what after a write: the bookkeeping of an update, and server-side apply. Pure
//! functions from (entries, old object, new object or configuration) to (entries, object).

use serde_json::Value;

use super::entries::{ManagedEntry, Operation};
use super::fieldset::{FieldSet, PathElement};
use super::merge::{merge, removable, remove_fields};
use super::typed::{compare, created_fields, to_field_set};
use super::{Conflict, FieldManagerError};
use crate::patch::schema::PatchSchema;

/// Metadata the server keeps: never owned by anyone.
const STRIPPED: &[&[&str]] = &[
    &["apiVersion"],
    &["kind"],
    &["metadata"],
    &["metadata", "name"],
    &["metadata", "namespace"],
    &["metadata", "creationTimestamp"],
    &["metadata", "selfLink"],
    &["metadata", "uid"],
    &["metadata", "clusterName"],
    &["metadata", "generation"],
    &["metadata", "managedFields"],
    &["metadata", "resourceVersion"],
];

/// Which part of the object a write may own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything (types without a status subresource).
    Whole,
    /// Everything but `status` (the main resource of a type with a status subresource).
    AllButStatus,
    /// Only `status` (the status subresource).
    OnlyStatus,
}

impl Scope {
    /// `set` restricted to what this scope may own, without the server's metadata.
    pub fn filter(self, set: &FieldSet) -> FieldSet {
        let mut scoped = set.clone();
        self.restrict(&mut scoped);
        scoped
    }

    /// [`Scope::filter`] in place.
    pub fn restrict(self, set: &mut FieldSet) {
        let status = PathElement::Field("status".to_owned());
        match self {
            Scope::Whole => {}
            Scope::AllButStatus => set.retain_top_level(|pe| *pe != status),
            Scope::OnlyStatus => set.retain_top_level(|pe| *pe == status),
        }
        set.subtract(stripped());
    }
}

/// [`STRIPPED`] as a field set, built once.
fn stripped() -> &'static FieldSet {
    static SET: std::sync::OnceLock<FieldSet> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        let mut stripped = FieldSet::new();
        for path in STRIPPED {
            let path: Vec<PathElement> = path
                .iter()
                .map(|f| PathElement::Field((*f).to_owned()))
                .collect();
            stripped.insert(&path);
        }
        stripped
    })
}

/// The writer of one request.
#[derive(Debug, Clone)]
pub struct Writer<'a> {
    /// The manager name.
    pub manager: &'a str,
    /// The API version written with.
    pub api_version: &'a str,
    /// The subresource written through ("" for the main resource).
    pub subresource: &'a str,
    /// What the write may own.
    pub scope: Scope,
    /// The current time (RFC 3339).
    pub now: &'a str,
}

impl Writer<'_> {
    fn position(&self, entries: &[ManagedEntry], op: Operation) -> Option<usize> {
        entries
            .iter()
            .position(|e| e.is(self.manager, op, self.api_version, self.subresource))
    }

    fn entry(&self, op: Operation) -> ManagedEntry {
        ManagedEntry {
            manager: self.manager.to_owned(),
            operation: op,
            api_version: self.api_version.to_owned(),
            subresource: self.subresource.to_owned(),
            time: Some(self.now.to_owned()),
            fields: FieldSet::new(),
        }
    }
}

/// The fields a change from `old` to `new` set (added or modified) and removed.
fn changes(
    old: &Value,
    new: &Value,
    schema: &PatchSchema<'_>,
    scope: Scope,
) -> (FieldSet, FieldSet) {
    let cmp = compare(old, new, schema);
    let set = scope.filter(&cmp.added.union(&cmp.modified));
    (set, scope.filter(&cmp.removed))
}

/// The entries after `writer` changed `old` into `new` by an update: it takes the fields it set
/// from everyone else, removed fields leave every manager, and empty entries go.
pub fn update(
    mut entries: Vec<ManagedEntry>,
    old: &Value,
    new: &Value,
    schema: &PatchSchema<'_>,
    writer: &Writer<'_>,
) -> Vec<ManagedEntry> {
    let (set, removed) = changes(old, new, schema, writer.scope);
    if set.is_empty() && removed.is_empty() {
        return entries;
    }
    let mine = writer.position(&entries, Operation::Update);
    for (i, entry) in entries.iter_mut().enumerate() {
        if Some(i) != mine {
            entry.fields = entry.fields.difference(&set).difference(&removed);
        }
    }
    let mut entry = match mine {
        Some(i) => entries.remove(i),
        None => writer.entry(Operation::Update),
    };
    entry.fields = entry.fields.union(&set).difference(&removed);
    entry.time = Some(writer.now.to_owned());
    entries.push(entry);
    entries.retain(|e| !e.fields.is_empty());
    entries
}

/// The entries of a new object `new` whose writer sent none: the writer owns every field it
/// set. The same as [`update`] from an empty object with no entries, in one walk of `new`.
pub fn create(new: &Value, schema: &PatchSchema<'_>, writer: &Writer<'_>) -> Vec<ManagedEntry> {
    let mut set = created_fields(new, schema);
    writer.scope.restrict(&mut set);
    if set.is_empty() {
        return Vec::new();
    }
    let mut entry = writer.entry(Operation::Update);
    entry.fields = set;
    vec![entry]
}

/// Applies `config` to `live` for `writer`: the merged object and the new entries.
///
/// # Errors
/// [`FieldManagerError::Conflicts`] when, without `force`, the configuration changes fields
/// other managers own.
pub fn apply(
    mut entries: Vec<ManagedEntry>,
    live: &Value,
    config: &Value,
    schema: &PatchSchema<'_>,
    writer: &Writer<'_>,
    force: bool,
) -> Result<(Value, Vec<ManagedEntry>), FieldManagerError> {
    let mut merged = merge(live, config, schema);
    let applied = writer.scope.filter(&to_field_set(config, schema));
    let (last, previous_time) = match writer.position(&entries, Operation::Apply) {
        Some(i) => {
            let entry = entries.remove(i);
            (entry.fields, entry.time)
        }
        None => (FieldSet::new(), None),
    };
    let owned = entries
        .iter()
        .fold(applied.clone(), |acc, e| acc.union(&e.fields));
    remove_fields(
        &mut merged,
        &removable(&last.difference(&owned), &owned),
        schema,
    );

    let (set, removed) = changes(live, &merged, schema, writer.scope);
    let conflicts: Vec<Conflict> = entries
        .iter()
        .flat_map(|e| {
            let manager = e.describe();
            e.fields
                .intersection(&set)
                .paths()
                .into_iter()
                .map(move |path| Conflict {
                    manager: manager.clone(),
                    path,
                })
        })
        .collect();
    if !force && !conflicts.is_empty() {
        return Err(FieldManagerError::Conflicts(sorted(conflicts)));
    }
    for entry in &mut entries {
        entry.fields = entry.fields.difference(&set).difference(&removed);
    }
    let unchanged = set.is_empty() && removed.is_empty() && applied == last;
    let mut entry = writer.entry(Operation::Apply);
    entry.fields = applied;
    if unchanged && previous_time.is_some() {
        entry.time = previous_time;
    }
    entries.push(entry);
    entries.retain(|e| !e.fields.is_empty());
    Ok((merged, entries))
}

fn sorted(mut conflicts: Vec<Conflict>) -> Vec<Conflict> {
    conflicts.sort_by(|a, b| (&a.manager, &a.path).cmp(&(&b.manager, &b.path)));
    conflicts
}
