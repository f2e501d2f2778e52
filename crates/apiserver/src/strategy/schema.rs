//! Checking an object's shape against a typed struct: wrong-typed fields and unknown fields.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// A field of the wrong type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {detail}")]
pub struct SchemaProblem {
    /// The dotted field path (`spec.replicas`).
    pub path: String,
    /// What was wrong.
    pub detail: String,
}

/// The result of a schema check: the object as the type encodes it, and the fields it dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The object after a decode/encode round trip through the type (unknown fields dropped).
    pub normalized: Value,
    /// Dotted paths of the fields the type does not know.
    pub unknown: Vec<String>,
}

/// Decodes `obj` as `K` and reports unknown fields: those present in `obj` (with a non-null
/// value) that do not survive a decode/encode round trip.
pub fn check_typed<K: DeserializeOwned + Serialize>(obj: &Value) -> Result<Checked, SchemaProblem> {
    let typed: K = serde_path_to_error::deserialize(obj).map_err(|e| SchemaProblem {
        path: e.path().to_string(),
        detail: e.inner().to_string(),
    })?;
    let back = serde_json::to_value(&typed).map_err(|e| SchemaProblem {
        path: String::new(),
        detail: e.to_string(),
    })?;
    let mut unknown = Vec::new();
    collect_unknown(obj, &back, "", &mut unknown);
    Ok(Checked {
        normalized: back,
        unknown,
    })
}

fn collect_unknown(input: &Value, known: &Value, path: &str, out: &mut Vec<String>) {
    match (input, known) {
        (Value::Object(given), Value::Object(kept)) => {
            for (key, value) in given {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match kept.get(key) {
                    Some(k) => collect_unknown(value, k, &child, out),
                    None if !value.is_null() && !is_empty(value) => out.push(child),
                    None => {}
                }
            }
        }
        (Value::Array(given), Value::Array(kept)) => {
            for (i, (g, k)) in given.iter().zip(kept).enumerate() {
                collect_unknown(g, k, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Empty objects and lists that a typed decode drops are not "unknown".
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use serde_json::json;

    #[test]
    fn wrong_typed_field_is_reported_with_its_path() {
        let obj = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"},"spec":{"replicas":"three"}});
        let err = check_typed::<Deployment>(&obj).err();
        assert_eq!(err.map(|e| e.path), Some("spec.replicas".to_owned()));
    }

    #[test]
    fn unknown_fields_are_listed_and_known_ones_are_not() {
        let obj = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x","labels":{"a":"b"}},
            "spec":{"replicas":2,"bogus":1,"template":{"spec":{"containers":[{"name":"c","image":"i","extra":true}]}}}});
        let unknown = check_typed::<Deployment>(&obj)
            .map(|c| c.unknown)
            .unwrap_or_default();
        assert_eq!(
            unknown,
            vec![
                "spec.bogus".to_owned(),
                "spec.template.spec.containers[0].extra".to_owned()
            ]
        );
    }
}
