//! Defaulting from the schema's `default`s, top down, as upstream's structural defaulting does:
//! missing fields (and nulls where null is not allowed) take their default.

use serde_json::Value;

use super::{Additional, Schema};

/// Fills in the defaults `schema` declares below `value`.
pub fn apply_defaults(schema: &Schema, value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, prop) in &schema.properties {
                let missing = match map.get(key) {
                    None => true,
                    Some(Value::Null) => !prop.nullable,
                    Some(_) => false,
                };
                if !missing {
                    continue;
                }
                match &prop.default {
                    Some(default) => {
                        map.insert(key.clone(), default.clone());
                    }
                    None if map.get(key).is_some() => {
                        // A null that may not be null and has no default is dropped.
                        map.remove(key);
                    }
                    None => {}
                }
            }
            for (key, v) in map.iter_mut() {
                match (schema.properties.get(key), &schema.additional) {
                    (Some(prop), _) => apply_defaults(prop, v),
                    (None, Additional::Schema(extra)) => apply_defaults(extra, v),
                    _ => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = &schema.items {
                for item in items {
                    apply_defaults(item_schema, item);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_and_null_fields_take_defaults_and_nested_defaults_apply_too() {
        let schema = match Schema::from_json(&json!({"type": "object", "properties": {"spec": {
        "type": "object", "default": {},
        "properties": {
            "replicas": {"type": "integer", "default": 1},
            "mode": {"type": "string", "default": "fast"},
            "items": {"type": "array", "items": {"type": "object", "properties": {"w": {"type": "integer", "default": 5}}}}
        }}}})) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let mut obj = json!({});
        apply_defaults(&schema, &mut obj);
        assert_eq!(obj, json!({"spec": {"mode": "fast", "replicas": 1}}));
        let mut obj = json!({"spec": {"replicas": 3, "mode": null, "items": [{}]}});
        apply_defaults(&schema, &mut obj);
        assert_eq!(
            obj,
            json!({"spec": {"replicas": 3, "mode": "fast", "items": [{"w": 5}]}})
        );
    }
}
