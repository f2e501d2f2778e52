//! The `pod-template-hash`: what tells one ReplicaSet of a Deployment from another, in its
//! name (`<deployment>-<hash>`), its selector and its pods' labels.
//!
//! Upstream hashes a Go dump of the template with FNV-32a, adds the collision count, and
//! writes the decimal value with the "safe" alphabet (no vowels, no look-alikes), giving up to
//! ten characters such as `66b6c48dd5`. The Go dump cannot be reproduced outside Go, so this
//! hashes the template's canonical JSON (keys sorted) instead: the same shape of value, stable
//! for a template, different from the value upstream would compute for the same template.

use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::Value;

/// The label (and selector key) carrying the hash.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// The characters upstream's `rand.SafeEncodeString` maps onto.
const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// FNV-32a of `bytes`, continuing from `hash`.
fn fnv32a(mut hash: u32, bytes: &[u8]) -> u32 {
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// The hash of `template` with `collision_count` mixed in.
pub fn pod_template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let canonical = serde_json::to_value(template)
        .map(|v| v.to_string())
        .unwrap_or_default();
    let mut hash = fnv32a(0x811c_9dc5, canonical.as_bytes());
    if let Some(count) = collision_count {
        hash = fnv32a(hash, &count.to_le_bytes());
    }
    safe_encode(&hash.to_string())
}

/// Maps every character onto the safe alphabet, as upstream's `SafeEncodeString`.
fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| char::from(SAFE[usize::from(b) % SAFE.len()]))
        .collect()
}

/// Whether two templates are the same once the hash label is ignored (and empty fields are
/// taken as absent).
pub fn equal_ignoring_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    normalized(a) == normalized(b)
}

fn normalized(t: &PodTemplateSpec) -> Value {
    let mut t = t.clone();
    if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH);
    }
    let mut v = serde_json::to_value(&t).unwrap_or(Value::Null);
    prune(&mut v);
    v
}

/// Drops nulls, empty objects and empty arrays, recursively.
fn prune(v: &mut Value) -> bool {
    match v {
        Value::Null => false,
        Value::Object(map) => {
            map.retain(|_, v| prune(v));
            !map.is_empty()
        }
        Value::Array(items) => {
            items.iter_mut().for_each(|i| {
                prune(i);
            });
            !items.is_empty()
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::{Container, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn template(image: &str) -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(BTreeMap::from([("app".to_owned(), "web".to_owned())])),
                ..ObjectMeta::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "web".to_owned(),
                    image: Some(image.to_owned()),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
        }
    }

    #[test]
    fn hash_is_stable_safe_and_at_most_ten_characters() {
        let h = pod_template_hash(&template("nginx:1.25"), None);
        assert_eq!(h, pod_template_hash(&template("nginx:1.25"), None));
        assert!(!h.is_empty() && h.len() <= 10);
        assert!(h.bytes().all(|b| SAFE.contains(&b)), "{h}");
    }

    #[test]
    fn hash_changes_with_the_template_and_the_collision_count() {
        let base = pod_template_hash(&template("nginx:1.25"), None);
        assert_ne!(base, pod_template_hash(&template("nginx:1.26"), None));
        assert_ne!(base, pod_template_hash(&template("nginx:1.25"), Some(1)));
    }

    #[test]
    fn safe_encoding_maps_digits_as_upstream() {
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
    }

    #[test]
    fn templates_differing_only_in_the_hash_label_are_equal() {
        let mut hashed = template("nginx:1.25");
        if let Some(labels) = hashed.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            labels.insert(POD_TEMPLATE_HASH.to_owned(), "abc".to_owned());
        }
        assert!(equal_ignoring_hash(&hashed, &template("nginx:1.25")));
        assert!(!equal_ignoring_hash(&hashed, &template("nginx:1.26")));
    }
}
