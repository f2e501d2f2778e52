//! Merging an applied configuration into a live object, and removing fields from an object.
//!
//! Granular objects merge key by key; keyed lists merge item by item (associative lists by their
//! key fields, set lists by value), keeping the live order and placing new items after the
//! applied item before them; atomic lists and objects, and scalars, are replaced.

use serde_json::Value;

use super::fieldset::{FieldSet, PathElement};
use super::typed::{item_element, list_kind, map_is_atomic, ListKind};
use crate::patch::schema::PatchSchema;

/// `config` merged into `live`.
pub fn merge(live: &Value, config: &Value, schema: &PatchSchema<'_>) -> Value {
    match (live, config) {
        (Value::Object(l), Value::Object(c)) if !map_is_atomic(schema) => {
            let mut out = l.clone();
            for (key, value) in c {
                if value.is_null() {
                    out.shift_remove(key);
                    continue;
                }
                let merged = match l.get(key) {
                    Some(old) => merge(old, value, &schema.field(key)),
                    None => value.clone(),
                };
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(c)) => {
            let kind = list_kind(schema);
            if kind == ListKind::Atomic {
                return config.clone();
            }
            Value::Array(merge_lists(l, c, &kind, &schema.items()))
        }
        _ => config.clone(),
    }
}

fn merge_lists(
    live: &[Value],
    config: &[Value],
    kind: &ListKind,
    schema: &PatchSchema<'_>,
) -> Vec<Value> {
    let key = |v: &Value| item_element(kind, v);
    let mut out: Vec<(Option<PathElement>, Value)> =
        live.iter().map(|v| (key(v), v.clone())).collect();
    let mut cursor: Option<usize> = None;
    for item in config {
        let pe = key(item);
        let found = out.iter().position(|(p, _)| p.is_some() && *p == pe);
        match found {
            Some(i) => {
                out[i].1 = merge(&out[i].1, item, schema);
                cursor = Some(i);
            }
            None => {
                let at = cursor.map_or(out.len(), |c| c + 1);
                out.insert(at, (pe, item.clone()));
                cursor = Some(at);
            }
        }
    }
    out.into_iter().map(|(_, v)| v).collect()
}

/// `value` without the fields in `set` (a member removes the whole subtree there). Objects and
/// lists emptied by the removal are removed too.
pub fn remove_fields(value: &mut Value, set: &FieldSet, schema: &PatchSchema<'_>) {
    match value {
        Value::Object(map) => {
            if map_is_atomic(schema) {
                return;
            }
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let pe = PathElement::Field(key.clone());
                let Some(sub) = set.child(&pe) else { continue };
                if sub.contains(&[]) {
                    map.shift_remove(&key);
                } else if let Some(child) = map.get_mut(&key) {
                    let was_empty = is_empty_container(child);
                    remove_fields(child, sub, &schema.field(&key));
                    if !was_empty && is_empty_container(child) {
                        map.shift_remove(&key);
                    }
                }
            }
        }
        Value::Array(items) => {
            let kind = list_kind(schema);
            let item_schema = schema.items();
            items.retain_mut(|item| {
                let Some(sub) = item_element(&kind, item).and_then(|pe| set.child(&pe)) else {
                    return true;
                };
                if sub.contains(&[]) {
                    return false;
                }
                remove_fields(item, sub, &item_schema);
                true
            });
        }
        _ => {}
    }
}

fn is_empty_container(value: &Value) -> bool {
    match value {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// The paths of `set` under which `keep` holds nothing, so that removing them cannot take a
/// field of `keep` with them.
pub fn removable(set: &FieldSet, keep: &FieldSet) -> FieldSet {
    let mut out = FieldSet::new();
    for path in set.paths() {
        if !keep.touches(&path.0) {
            out.insert(&path.0);
        }
    }
    out
}
