//! Patch formats: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch.

pub mod schema;
pub mod strategic;

use serde_json::{Map, Value};

use crate::error::ApiError;

/// The patch formats a PATCH request may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json`.
    Json,
    /// `application/merge-patch+json`.
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

impl PatchType {
    /// The patch type of a Content-Type header.
    ///
    /// # Errors
    /// 415 for anything else.
    pub fn from_content_type(content_type: &str) -> Result<Self, ApiError> {
        match content_type.split(';').next().unwrap_or_default().trim() {
            "application/json-patch+json" => Ok(PatchType::Json),
            "application/merge-patch+json" => Ok(PatchType::Merge),
            "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchType::Apply),
            _ => Err(ApiError::UnsupportedMediaType),
        }
    }
}

/// Applies an RFC 7386 merge patch: objects merge key by key, `null` deletes, anything else
/// replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target_map) = target {
        for (key, value) in patch_map {
            if value.is_null() {
                target_map.remove(key);
            } else {
                merge(target_map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// Applies an RFC 6902 JSON patch.
///
/// # Errors
/// 400 when the patch does not parse; 422 when an operation fails (as upstream reports it).
pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| ApiError::BadRequest(format!("error decoding patch: {e}")))?;
    json_patch::patch(target, &ops).map_err(|e| ApiError::Invalid {
        kind: String::new(),
        group: String::new(),
        name: String::new(),
        causes: vec![crate::error::Cause {
            reason: "FieldValueInvalid",
            message: e.to_string(),
            field: String::new(),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_deletes_with_null_and_replaces_lists() {
        let mut doc = json!({"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2]});
        merge(&mut doc, &json!({"a": null, "b": {"c": 5}, "l": [9]}));
        assert_eq!(doc, json!({"b": {"c": 5, "d": 3}, "l": [9]}));
    }

    #[test]
    fn json_patch_applies_operations_in_order() {
        let mut doc = json!({"spec": {"replicas": 1}});
        let patch = json!([{"op": "replace", "path": "/spec/replicas", "value": 3}, {"op": "add", "path": "/x", "value": true}]);
        assert!(json_patch(&mut doc, &patch).is_ok());
        assert_eq!(doc, json!({"spec": {"replicas": 3}, "x": true}));
    }
}
