//! Reading and writing the standard fields of JSON objects (`metadata.*`, `apiVersion`, `kind`).

use serde_json::{Map, Value};

/// A string at a JSON pointer, or "".
pub fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// A `meta.k8s.io/v1` PartialObjectMetadata holding `metadata`: what clients that ask for
/// metadata only (`as=PartialObjectMetadata`, or a Table's `includeObject=Metadata`) get.
pub fn partial_object_metadata(metadata: Value) -> Value {
    serde_json::json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
    })
}

/// The PartialObjectMetadata of a whole object.
pub fn partial_of(obj: &Value) -> Value {
    let metadata = obj
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    partial_object_metadata(metadata)
}

/// `metadata.name`.
pub fn name(obj: &Value) -> &str {
    str_at(obj, "/metadata/name")
}

/// `metadata.namespace`.
pub fn namespace(obj: &Value) -> &str {
    str_at(obj, "/metadata/namespace")
}

/// The `metadata` map, created if missing or not an object.
pub fn metadata_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let map = match obj.as_object_mut() {
        Some(map) => map,
        None => unreachable_object(),
    };
    let meta = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    match meta.as_object_mut() {
        Some(m) => m,
        None => unreachable_object(),
    }
}

#[allow(clippy::panic)]
fn unreachable_object() -> ! {
    // Both call sites replaced the value with an object just before.
    panic!("value was just made an object")
}

/// Sets `metadata.<key>`.
pub fn set_meta(obj: &mut Value, key: &str, value: Value) {
    metadata_mut(obj).insert(key.to_owned(), value);
}

/// Removes `metadata.<key>`.
pub fn remove_meta(obj: &mut Value, key: &str) -> Option<Value> {
    metadata_mut(obj).remove(key)
}

/// The labels as string pairs.
pub fn labels(obj: &Value) -> Option<&Map<String, Value>> {
    obj.pointer("/metadata/labels").and_then(Value::as_object)
}

/// The finalizers.
pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

/// The current time as upstream formats timestamps (RFC 3339, seconds, `Z`).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Puts `apiVersion` and `kind` first, as upstream serializes objects.
pub fn with_type_first(obj: Value, api_version: &str, kind: &str) -> Value {
    match obj {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len() + 2);
            out.insert(
                "apiVersion".to_owned(),
                Value::String(api_version.to_owned()),
            );
            out.insert("kind".to_owned(), Value::String(kind.to_owned()));
            for (k, v) in map {
                if k != "apiVersion" && k != "kind" {
                    out.insert(k, v);
                }
            }
            Value::Object(out)
        }
        other => other,
    }
}
