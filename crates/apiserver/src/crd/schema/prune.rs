//! Pruning: fields a structural schema does not name are dropped (and reported, so that
//! `fieldValidation=Strict` can reject them and `Warn` can say so).

use serde_json::{Map, Value};

use super::{child, Additional, Schema};

/// Keys every Kubernetes object carries, kept at the root and in embedded resources.
const TYPE_AND_META: &[&str] = &["apiVersion", "kind", "metadata"];

/// Drops from `value` the fields `schema` does not allow; returns their dotted paths. `root`
/// says whether `value` is a whole object (whose `apiVersion`, `kind` and `metadata` stay).
pub fn prune(schema: &Schema, value: &mut Value, root: bool) -> Vec<String> {
    let mut unknown = Vec::new();
    walk(schema, value, "", root, &mut unknown);
    unknown
}

fn walk(
    schema: &Schema,
    value: &mut Value,
    path: &str,
    keep_meta: bool,
    unknown: &mut Vec<String>,
) {
    match value {
        Value::Object(map) => walk_object(schema, map, path, keep_meta || schema.embedded, unknown),
        Value::Array(items) => {
            if let Some(item_schema) = &schema.items {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(item_schema, item, &format!("{path}[{i}]"), false, unknown);
                }
            }
        }
        _ => {}
    }
}

fn walk_object(
    schema: &Schema,
    map: &mut Map<String, Value>,
    path: &str,
    keep_meta: bool,
    unknown: &mut Vec<String>,
) {
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        let at = child(path, &key);
        let Some(v) = map.get_mut(&key) else { continue };
        if let Some(prop) = schema.properties.get(&key) {
            walk(prop, v, &at, false, unknown);
            continue;
        }
        match &schema.additional {
            Additional::Schema(extra) => {
                walk(extra, v, &at, false, unknown);
                continue;
            }
            Additional::Allowed(true) => continue,
            _ => {}
        }
        if schema.preserve_unknown || (keep_meta && TYPE_AND_META.contains(&key.as_str())) {
            continue;
        }
        map.remove(&key);
        unknown.push(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(v: Value) -> Schema {
        match Schema::from_json(&v) {
            Ok(s) => s,
            Err(e) => panic!("schema does not compile: {e}"),
        }
    }

    #[test]
    fn unknown_fields_are_dropped_and_reported_with_their_paths() {
        let s = schema(
            json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
                "a": {"type": "string"},
                "list": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "integer"}}}}
            }}}}),
        );
        let mut obj = json!({"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n"}, "extra": 1,
            "spec": {"a": "b", "bogus": true, "list": [{"x": 1, "y": 2}]}});
        let unknown = prune(&s, &mut obj, true);
        assert_eq!(unknown, vec!["extra", "spec.bogus", "spec.list[0].y"]);
        assert_eq!(
            obj,
            json!({"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n"}, "spec": {"a": "b", "list": [{"x": 1}]}})
        );
    }

    #[test]
    fn preserve_unknown_fields_keeps_everything_below_it() {
        let s = schema(
            json!({"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
            "properties": {"known": {"type": "object", "properties": {}}}}}}),
        );
        let mut obj = json!({"spec": {"free": {"deep": 1}, "known": {"dropped": 1}}});
        let unknown = prune(&s, &mut obj, true);
        assert_eq!(unknown, vec!["spec.known.dropped"]);
        assert_eq!(obj, json!({"spec": {"free": {"deep": 1}, "known": {}}}));
    }

    #[test]
    fn embedded_resources_keep_their_type_and_metadata() {
        let s = schema(
            json!({"type": "object", "properties": {"t": {"type": "object", "x-kubernetes-embedded-resource": true, "properties": {"spec": {"type": "object"}}}}}),
        );
        let mut obj = json!({"t": {"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {}, "other": 1}});
        assert_eq!(prune(&s, &mut obj, true), vec!["t.other"]);
    }
}
