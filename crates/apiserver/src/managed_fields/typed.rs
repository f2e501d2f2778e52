//! Objects seen through their schema: which fields an object sets, and how two versions of an
//! object differ, field by field.
//!
//! Lists are atomic unless their schema says `x-kubernetes-list-type: map` (items keyed by
//! `x-kubernetes-list-map-keys`) or `set` (items keyed by value). Objects are granular unless
//! `x-kubernetes-map-type: atomic`. Where there is no schema, objects are maps (every key is its
//! own field) and lists are atomic.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::fieldset::{key_element, FieldSet, PathElement};
use crate::patch::schema::PatchSchema;

/// How the items of a list are identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    /// The list is one value.
    Atomic,
    /// Items are scalars, identified by value.
    Set,
    /// Items are objects, identified by these key fields.
    Map(Vec<String>),
}

/// The list kind at a schema position.
pub fn list_kind(schema: &PatchSchema<'_>) -> ListKind {
    match schema
        .extension("x-kubernetes-list-type")
        .and_then(Value::as_str)
    {
        Some("set") => ListKind::Set,
        Some("map") => {
            let keys = schema
                .extension("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|keys| {
                    keys.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            ListKind::Map(keys)
        }
        _ => ListKind::Atomic,
    }
}

/// Whether the object at a schema position is one value.
pub fn map_is_atomic(schema: &PatchSchema<'_>) -> bool {
    schema
        .extension("x-kubernetes-map-type")
        .and_then(Value::as_str)
        == Some("atomic")
}

/// The key fields upstream defaults when an item omits them (`protocol` of ports is `TCP`).
fn defaulted_key(name: &str) -> Option<Value> {
    (name == "protocol").then(|| Value::String("TCP".to_owned()))
}

/// The path element of a list item. `None` when the list is atomic.
pub fn item_element(kind: &ListKind, item: &Value) -> Option<PathElement> {
    match kind {
        ListKind::Atomic => None,
        ListKind::Set => Some(PathElement::Value(item.to_string())),
        ListKind::Map(keys) => {
            let mut fields = Map::new();
            for key in keys {
                let value = item.get(key).cloned().or_else(|| defaulted_key(key));
                if let Some(value) = value {
                    fields.insert(key.clone(), value);
                }
            }
            Some(key_element(&fields))
        }
    }
}

/// The fields `value` sets: its scalars, its atomic lists and objects, its empty objects, the
/// items of its keyed lists and the keys of its maps.
pub fn to_field_set(value: &Value, schema: &PatchSchema<'_>) -> FieldSet {
    let mut set = FieldSet::new();
    walk_set(value, schema, &mut Vec::new(), &mut set);
    set
}

fn walk_set(
    value: &Value,
    schema: &PatchSchema<'_>,
    path: &mut Vec<PathElement>,
    set: &mut FieldSet,
) {
    match value {
        Value::Object(map) => {
            if map_is_atomic(schema) {
                set.insert(path);
                return;
            }
            for (key, child) in map {
                let child_schema = schema.field(key);
                path.push(PathElement::Field(key.clone()));
                walk_set(child, &child_schema, path, set);
                let empty = child.is_null() || child.as_object().is_some_and(Map::is_empty);
                if empty || !schema.has_property(key) {
                    set.insert(path);
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            let kind = list_kind(schema);
            if kind == ListKind::Atomic {
                set.insert(path);
                return;
            }
            let item_schema = schema.items();
            for item in items {
                if let Some(pe) = item_element(&kind, item) {
                    path.push(pe);
                    walk_set(item, &item_schema, path, set);
                    set.insert(path);
                    path.pop();
                }
            }
        }
        _ => set.insert(path),
    }
}

/// The fields a new object sets, as [`compare`] of an empty object with `new` reports them
/// (added, or modified at the root), in one walk of `new` without the comparison.
pub fn created_fields(new: &Value, schema: &PatchSchema<'_>) -> FieldSet {
    let mut set = FieldSet::new();
    match new {
        Value::Object(map) if !map.is_empty() && !map_is_atomic(schema) => {
            for (key, child) in map {
                let node = set.child_mut(PathElement::Field(key.clone()));
                walk_created(child, &schema.field(key), node);
            }
        }
        _ => {
            let cmp = compare(&Value::Object(Map::new()), new, schema);
            set = cmp.added.union(&cmp.modified);
        }
    }
    set
}

/// [`walk_compare`] with no old value: every field below `node` is added.
fn walk_created(value: &Value, schema: &PatchSchema<'_>, node: &mut FieldSet) {
    let descended = match value {
        Value::Object(map) if !map.is_empty() && !map_is_atomic(schema) => {
            for (key, child) in map {
                let child_node = node.child_mut(PathElement::Field(key.clone()));
                walk_created(child, &schema.field(key), child_node);
            }
            true
        }
        Value::Array(items) if !items.is_empty() => created_items(items, schema, node),
        _ => false,
    };
    // As in `walk_compare`: structs exist in every version, so only their fields are added.
    if !descended || !schema.is_struct() {
        node.mark();
    }
}

/// [`compare_lists`] with no old list; `false` when the list is one value.
fn created_items(items: &[Value], schema: &PatchSchema<'_>, node: &mut FieldSet) -> bool {
    let kind = list_kind(schema);
    if kind == ListKind::Atomic {
        return false;
    }
    let item_schema = schema.items();
    for item in items {
        let Some(pe) = item_element(&kind, item) else {
            continue;
        };
        // The first of duplicates wins, as the comparison keys them.
        if node.has_child(&pe) {
            continue;
        }
        let child = node.child_mut(pe);
        walk_created(item, &item_schema, child);
        child.mark();
    }
    true
}

/// How a new version of an object differs from the old one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Fields only in the new version.
    pub added: FieldSet,
    /// Fields in both whose values differ.
    pub modified: FieldSet,
    /// Fields only in the old version.
    pub removed: FieldSet,
}

impl Comparison {
    /// Whether the versions are the same.
    pub fn is_same(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.removed.is_empty()
    }
}

/// Compares `old` with `new`, field by field.
pub fn compare(old: &Value, new: &Value, schema: &PatchSchema<'_>) -> Comparison {
    let mut out = Comparison::default();
    walk_compare(Some(old), Some(new), schema, &mut Vec::new(), &mut out);
    out
}

fn walk_compare(
    old: Option<&Value>,
    new: Option<&Value>,
    schema: &PatchSchema<'_>,
    path: &mut Vec<PathElement>,
    out: &mut Comparison,
) {
    let descended = match (old, new) {
        (None, None) => return,
        (Some(Value::Object(_)) | None, Some(Value::Object(_)) | None) => {
            compare_maps(old, new, schema, path, out)
        }
        (Some(Value::Array(_)) | None, Some(Value::Array(_)) | None) => {
            compare_lists(old, new, schema, path, out)
        }
        _ => false,
    };
    if descended {
        // Structs exist in every version of a typed object; only maps, list items and leaves
        // come and go.
        if !schema.is_struct() {
            match (old, new) {
                (None, Some(_)) => out.added.insert(path),
                (Some(_), None) => out.removed.insert(path),
                _ => {}
            }
        }
        return;
    }
    match (old, new) {
        (None, Some(_)) => out.added.insert(path),
        (Some(_), None) => out.removed.insert(path),
        (Some(a), Some(b)) if a != b => out.modified.insert(path),
        _ => {}
    }
}

/// Compares two objects key by key; `false` when they are to be compared as one value.
fn compare_maps(
    old: Option<&Value>,
    new: Option<&Value>,
    schema: &PatchSchema<'_>,
    path: &mut Vec<PathElement>,
    out: &mut Comparison,
) -> bool {
    let old = old.and_then(Value::as_object);
    let new = new.and_then(Value::as_object);
    let empty = |m: Option<&Map<String, Value>>| m.is_none_or(Map::is_empty);
    if map_is_atomic(schema) || (empty(old) && empty(new)) {
        return false;
    }
    let keys = old.into_iter().flat_map(Map::keys).chain(
        new.into_iter()
            .flat_map(Map::keys)
            .filter(|k| !old.is_some_and(|o| o.contains_key(*k))),
    );
    for key in keys {
        path.push(PathElement::Field(key.clone()));
        walk_compare(
            old.and_then(|m| m.get(key)),
            new.and_then(|m| m.get(key)),
            &schema.field(key),
            path,
            out,
        );
        path.pop();
    }
    true
}

/// Compares two lists item by item; `false` when they are to be compared as one value.
fn compare_lists<'a>(
    old: Option<&'a Value>,
    new: Option<&'a Value>,
    schema: &PatchSchema<'_>,
    path: &mut Vec<PathElement>,
    out: &mut Comparison,
) -> bool {
    let old = old
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let new = new
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let kind = list_kind(schema);
    if kind == ListKind::Atomic || (old.is_empty() && new.is_empty()) {
        return false;
    }
    // Items by key; the first of duplicates wins, as upstream compares them.
    let keyed = |items: &'a [Value]| {
        let mut map: BTreeMap<PathElement, &'a Value> = BTreeMap::new();
        for item in items {
            if let Some(pe) = item_element(&kind, item) {
                map.entry(pe).or_insert(item);
            }
        }
        map
    };
    let (old_items, new_items) = (keyed(old), keyed(new));
    let item_schema = schema.items();
    let keys: BTreeSet<&PathElement> = old_items.keys().chain(new_items.keys()).collect();
    for pe in keys {
        let (a, b) = (old_items.get(pe).copied(), new_items.get(pe).copied());
        path.push(pe.clone());
        walk_compare(a, b, &item_schema, path, out);
        match (a, b) {
            (None, Some(_)) => out.added.insert(path),
            (Some(_), None) => out.removed.insert(path),
            _ => {}
        }
        path.pop();
    }
    true
}
