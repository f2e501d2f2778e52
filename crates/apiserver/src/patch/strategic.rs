//! Strategic merge patch: a JSON merge patch whose lists know how to merge.
//!
//! Objects merge key by key and `null` deletes. A list whose schema says `patchStrategy: merge`
//! merges element by element — lists of objects by their merge key (`name` for containers), lists
//! of scalars as a union — and every other list is replaced. The patch may carry directives:
//! `$patch: replace | delete | merge` in an object or a list element, `$setElementOrder/<list>`
//! to order a merged list, `$retainKeys` to drop the keys of an object the patch does not list,
//! and `$deleteFromPrimitiveList/<list>` to remove scalars from a merged list. Where the schema is
//! unknown the patch behaves like a JSON merge patch (with the directives still honoured).

use serde_json::{Map, Value};

pub use super::schema::{FieldStrategy, PatchSchema};
use crate::error::ApiError;

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// Why a strategic merge patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrategicPatchError {
    /// The patch document is not a JSON object.
    #[error("a strategic merge patch must be a JSON object")]
    NotAnObject,
    /// A `$patch` directive with a value other than replace, delete or merge.
    #[error("unknown patch directive {0} (expected replace, delete or merge)")]
    UnknownDirective(String),
    /// A list element of a merged list lacks the list's merge key.
    #[error("list element {element} in {field:?} does not have the merge key {key:?}")]
    MissingMergeKey {
        /// The list field.
        field: String,
        /// The merge key.
        key: String,
        /// The element, as JSON.
        element: String,
    },
    /// A list of objects marked for merging has no merge key in its schema.
    #[error("cannot merge the list {0:?} of objects: its type declares no merge key")]
    NoMergeKey(String),
    /// A merged list mixes element types, or holds lists.
    #[error("the elements of list {0:?} must all be objects or all be scalars")]
    MixedList(String),
    /// A directive's value has the wrong shape.
    #[error("the value of {0} must be a list")]
    DirectiveNotAList(String),
    /// A directive names a field whose value is not a list.
    #[error("{0:?} is not a list, so list directives cannot apply to it")]
    FieldNotAList(String),
    /// The patch sets a key that its `$retainKeys` directive does not list.
    #[error("the patch sets {0:?}, which its $retainKeys directive does not list")]
    NotRetained(String),
}

impl From<StrategicPatchError> for ApiError {
    fn from(e: StrategicPatchError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

type Result<T> = std::result::Result<T, StrategicPatchError>;

/// Applies the strategic merge patch `patch` to `original`, whose type's schema is `schema`.
///
/// # Errors
/// 400 (via [`StrategicPatchError`]) when the patch is malformed: not an object, an unknown
/// directive, a list element without its merge key, a key outside `$retainKeys`.
pub fn apply(original: &Value, patch: &Value, schema: &PatchSchema<'_>) -> Result<Value> {
    let Value::Object(patch) = patch else {
        return Err(StrategicPatchError::NotAnObject);
    };
    let original = match original {
        Value::Object(m) => Some(m.clone()),
        _ => None,
    };
    let merged = merge_map(original, patch.clone(), *schema)?;
    Ok(Value::Object(merged.unwrap_or_default()))
}

/// Merges `patch` into the object `original` (`None`: the key is absent). `None` back means the
/// key is to be removed.
fn merge_map(
    original: Option<Map<String, Value>>,
    mut patch: Map<String, Value>,
    schema: PatchSchema<'_>,
) -> Result<Option<Map<String, Value>>> {
    if let Some(directive) = patch.shift_remove(PATCH) {
        match directive.as_str() {
            Some("replace") => return merge_map(None, patch, schema),
            Some("delete") => return Ok(original.map(|_| Map::new())),
            Some("merge") => {}
            _ => return Err(StrategicPatchError::UnknownDirective(directive.to_string())),
        }
    }
    let mut out = original.unwrap_or_default();
    if let Some(keys) = patch.shift_remove(RETAIN_KEYS) {
        retain_keys(&mut out, &patch, &keys)?;
    }
    let ordered: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for directive in ordered {
        let order = patch.shift_remove(&directive).unwrap_or_default();
        let field = &directive[SET_ELEMENT_ORDER.len()..];
        let list_patch = patch.shift_remove(field);
        set_element_order(&mut out, field, list_patch, &order, schema.field(field))?;
    }
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            delete_from_primitive_list(&mut out, field, &value)?;
            continue;
        }
        if value.is_null() {
            out.shift_remove(&key);
            continue;
        }
        let current = out.get_mut(&key).map(std::mem::take);
        match merge_value(current, value, schema.field(&key), &key)? {
            Some(merged) => {
                out.insert(key, merged);
            }
            None => {
                out.shift_remove(&key);
            }
        }
    }
    Ok(Some(out))
}

/// Merges one patch value into the current value of a field.
fn merge_value(
    original: Option<Value>,
    patch: Value,
    schema: PatchSchema<'_>,
    field: &str,
) -> Result<Option<Value>> {
    match patch {
        Value::Object(p) => {
            let current = match original {
                Some(Value::Object(m)) if !schema.strategy().replace => Some(m),
                _ => None,
            };
            Ok(merge_map(current, p, schema)?.map(Value::Object))
        }
        Value::Array(p) => {
            let current = match original {
                Some(Value::Array(a)) => Some(a),
                _ => None,
            };
            merge_list(current, p, schema, field).map(|l| Some(Value::Array(l)))
        }
        scalar => Ok(Some(scalar)),
    }
}

/// A patch value with its directives applied to nothing: what a new field or element becomes.
fn fresh(value: Value, schema: PatchSchema<'_>, field: &str) -> Result<Option<Value>> {
    merge_value(None, value, schema, field)
}

/// Merges a list field according to its strategy.
fn merge_list(
    original: Option<Vec<Value>>,
    patch: Vec<Value>,
    schema: PatchSchema<'_>,
    field: &str,
) -> Result<Vec<Value>> {
    let strategy = schema.strategy();
    if !strategy.merge {
        return replace_list(patch, schema.items(), field);
    }
    merge_slice(
        original.unwrap_or_default(),
        patch,
        strategy.merge_key,
        schema.items(),
        field,
    )
}

/// A replaced list: its elements, with directive-only elements dropped.
fn replace_list(patch: Vec<Value>, items: PatchSchema<'_>, field: &str) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(patch.len());
    for element in patch {
        if is_directive(&element) {
            continue;
        }
        out.extend(fresh(element, items, field)?);
    }
    Ok(out)
}

fn is_directive(element: &Value) -> bool {
    element.get(PATCH).is_some()
}

/// Whether a list holds objects (`Some(true)`), scalars (`Some(false)`) or nothing (`None`).
fn element_kind(lists: &[&[Value]], field: &str) -> Result<Option<bool>> {
    let mut kind = None;
    for element in lists.iter().flat_map(|l| l.iter()) {
        if element.is_array() {
            return Err(StrategicPatchError::MixedList(field.to_owned()));
        }
        let is_object = element.is_object();
        match kind {
            None => kind = Some(is_object),
            Some(k) if k != is_object => {
                return Err(StrategicPatchError::MixedList(field.to_owned()))
            }
            Some(_) => {}
        }
    }
    Ok(kind)
}

/// Merges a list with strategy `merge`.
fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: Option<&str>,
    items: PatchSchema<'_>,
    field: &str,
) -> Result<Vec<Value>> {
    match element_kind(&[&original, &patch], field)? {
        None => Ok(original),
        Some(false) => {
            let mut merged = original.clone();
            for value in &patch {
                if !merged.contains(value) {
                    merged.push(value.clone());
                }
            }
            let key = Key::Scalar;
            let (from_patch, server_only) = partition(merged, &patch, key, field)?;
            Ok(interleave(from_patch, server_only, &patch, &original, key))
        }
        Some(true) => {
            let name =
                merge_key.ok_or_else(|| StrategicPatchError::NoMergeKey(field.to_owned()))?;
            merge_object_slice(original, patch, Key::Field(name), items, field)
        }
    }
}

fn merge_object_slice(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: Key<'_>,
    items: PatchSchema<'_>,
    field: &str,
) -> Result<Vec<Value>> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for element in patch {
        let Some(directive) = element.get(PATCH) else {
            plain.push(element);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let id = key.of(&element, field)?.clone();
                original.retain(|e| key.value(e) != Some(&id));
            }
            Some("replace") => replace = true,
            Some("merge") => {}
            _ => return Err(StrategicPatchError::UnknownDirective(directive.to_string())),
        }
    }
    if replace {
        return replace_list(plain, items, field);
    }
    let server_order = original.clone();
    let mut merged = original;
    for element in &plain {
        let id = key.of(element, field)?;
        let position = merged.iter().position(|e| key.value(e) == Some(id));
        let Value::Object(element) = element.clone() else {
            continue;
        };
        match position {
            Some(i) => {
                let current = match std::mem::take(&mut merged[i]) {
                    Value::Object(m) => Some(m),
                    _ => None,
                };
                merged[i] = Value::Object(merge_map(current, element, items)?.unwrap_or_default());
            }
            None => merged.extend(merge_map(None, element, items)?.map(Value::Object)),
        }
    }
    let (from_patch, server_only) = partition(merged, &plain, key, field)?;
    Ok(interleave(
        from_patch,
        server_only,
        &plain,
        &server_order,
        key,
    ))
}

/// What identifies a list element: itself (scalars) or one of its fields (objects).
#[derive(Debug, Clone, Copy)]
enum Key<'a> {
    Scalar,
    Field(&'a str),
}

impl Key<'_> {
    fn value<'v>(&self, element: &'v Value) -> Option<&'v Value> {
        match self {
            Key::Scalar => Some(element),
            Key::Field(name) => element.get(*name),
        }
    }

    fn of<'v>(&self, element: &'v Value, field: &str) -> Result<&'v Value> {
        self.value(element)
            .ok_or_else(|| StrategicPatchError::MissingMergeKey {
                field: field.to_owned(),
                key: match self {
                    Key::Scalar => String::new(),
                    Key::Field(name) => (*name).to_owned(),
                },
                element: element.to_string(),
            })
    }

    fn index_in(&self, list: &[Value], element: &Value) -> Option<usize> {
        let wanted = self.value(element)?;
        list.iter().position(|e| self.value(e) == Some(wanted))
    }
}

/// Splits `merged` into the elements named by `by` and the rest, keeping their order.
fn partition(
    merged: Vec<Value>,
    by: &[Value],
    key: Key<'_>,
    field: &str,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut named = Vec::new();
    let mut rest = Vec::new();
    for element in merged {
        key.of(&element, field)?;
        if key.index_in(by, &element).is_some() {
            named.push(element);
        } else {
            rest.push(element);
        }
    }
    Ok((named, rest))
}

/// Orders a merged list: the patch's elements in `patch_order`, the server-only ones in
/// `server_order`, the two interleaved so that a server-only element stays ahead of a patch
/// element it preceded in the live list.
fn interleave(
    mut from_patch: Vec<Value>,
    mut server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: Key<'_>,
) -> Vec<Value> {
    from_patch.sort_by_key(|e| key.index_in(patch_order, e).unwrap_or(usize::MAX));
    server_only.sort_by_key(|e| key.index_in(server_order, e).unwrap_or(usize::MAX));
    let mut out = Vec::with_capacity(from_patch.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = from_patch.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
            (Some(l), Some(r)) => matches!(
                (key.index_in(server_order, l), key.index_in(server_order, r)),
                (Some(li), Some(ri)) if li < ri
            ),
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

/// `$setElementOrder/<field>`: merges the field's list and orders it as the directive says.
fn set_element_order(
    out: &mut Map<String, Value>,
    field: &str,
    list_patch: Option<Value>,
    order: &Value,
    schema: PatchSchema<'_>,
) -> Result<()> {
    let Value::Array(order) = order else {
        return Err(StrategicPatchError::DirectiveNotAList(format!(
            "{SET_ELEMENT_ORDER}{field}"
        )));
    };
    let current = match out.get_mut(field).map(std::mem::take) {
        None => None,
        Some(Value::Array(a)) => Some(a),
        Some(_) => return Err(StrategicPatchError::FieldNotAList(field.to_owned())),
    };
    let server_order = current.clone().unwrap_or_default();
    let merged = match (current, list_patch) {
        (None, None) => return Ok(()),
        (Some(list), None) => list,
        (current, Some(Value::Array(p))) => merge_list(current, p, schema, field)?,
        (_, Some(_)) => return Err(StrategicPatchError::FieldNotAList(field.to_owned())),
    };
    let key = match schema.strategy().merge_key {
        Some(name) if element_kind(&[&merged], field)? == Some(true) => Key::Field(name),
        _ => Key::Scalar,
    };
    let (named, rest) = partition(merged, order, key, field)?;
    out.insert(
        field.to_owned(),
        Value::Array(interleave(named, rest, order, &server_order, key)),
    );
    Ok(())
}

/// `$retainKeys`: drops the keys of `out` the directive does not list, after checking that the
/// patch sets no key outside it.
fn retain_keys(
    out: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    keys: &Value,
) -> Result<()> {
    let Value::Array(keys) = keys else {
        return Err(StrategicPatchError::DirectiveNotAList(
            RETAIN_KEYS.to_owned(),
        ));
    };
    let listed = |k: &str| keys.iter().any(|v| v.as_str() == Some(k));
    for (key, value) in patch {
        let directive =
            key.starts_with(SET_ELEMENT_ORDER) || key.starts_with(DELETE_FROM_PRIMITIVE_LIST);
        if !value.is_null() && !directive && !listed(key) {
            return Err(StrategicPatchError::NotRetained(key.clone()));
        }
    }
    out.retain(|k, _| listed(k));
    Ok(())
}

/// `$deleteFromPrimitiveList/<field>`: removes the given scalars from the field's list.
fn delete_from_primitive_list(
    out: &mut Map<String, Value>,
    field: &str,
    values: &Value,
) -> Result<()> {
    let Value::Array(values) = values else {
        return Err(StrategicPatchError::DirectiveNotAList(format!(
            "{DELETE_FROM_PRIMITIVE_LIST}{field}"
        )));
    };
    match out.get_mut(field) {
        None => Ok(()),
        Some(Value::Array(list)) => {
            list.retain(|v| !values.contains(v));
            Ok(())
        }
        Some(_) => Err(StrategicPatchError::FieldNotAList(field.to_owned())),
    }
}

#[cfg(test)]
#[path = "strategic_tests.rs"]
mod tests;
