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
    collect_unknown(obj, &back, &mut Vec::new(), &mut unknown);
    Ok(Checked {
        normalized: back,
        unknown,
    })
}

/// One step of the path to a field, kept as borrowed parts: the dotted path is only written
/// out for the (rare) unknown fields.
enum Step<'a> {
    Field(&'a str),
    Index(usize),
}

fn collect_unknown<'a>(
    input: &'a Value,
    known: &Value,
    path: &mut Vec<Step<'a>>,
    out: &mut Vec<String>,
) {
    match (input, known) {
        (Value::Object(given), Value::Object(kept)) => {
            for (key, value) in given {
                match kept.get(key) {
                    Some(k) => {
                        path.push(Step::Field(key));
                        collect_unknown(value, k, path, out);
                        path.pop();
                    }
                    None if !value.is_null() && !is_empty(value) => {
                        path.push(Step::Field(key));
                        out.push(dotted(path));
                        path.pop();
                    }
                    None => {}
                }
            }
        }
        (Value::Array(given), Value::Array(kept)) => {
            for (i, (g, k)) in given.iter().zip(kept).enumerate() {
                path.push(Step::Index(i));
                collect_unknown(g, k, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// `spec.containers[0].extra`.
fn dotted(path: &[Step<'_>]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Field(key) if out.is_empty() => out.push_str(key),
            Step::Field(key) => {
                out.push('.');
                out.push_str(key);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
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
