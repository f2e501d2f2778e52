//! The short hashes controllers name things by: a ReplicaSet's `pod-template-hash`, a
//! ControllerRevision's `<parent>-<hash>` name and `controller-revision-hash` label.
//!
//! Upstream hashes a Go dump of the value with FNV-32a, adds the collision count, and writes the
//! decimal value with the "safe" alphabet (no vowels, no look-alikes), giving up to ten
//! characters such as `66b6c48dd5`. The Go dump cannot be reproduced outside Go, so this hashes
//! the value's canonical JSON (keys sorted) instead: the same shape of value, stable for a value,
//! different from the value upstream would compute for it.

use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::serde::Serialize;
use serde_json::Value;

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

/// The hash of `value`'s canonical JSON with `collision_count` mixed in.
pub fn hash_of<T: Serialize>(value: &T, collision_count: Option<i32>) -> String {
    let canonical = serde_json::to_value(value)
        .map(|v| v.to_string())
        .unwrap_or_default();
    let mut hash = fnv32a(0x811c_9dc5, canonical.as_bytes());
    if let Some(count) = collision_count {
        hash = fnv32a(hash, &count.to_le_bytes());
    }
    safe_encode(&hash.to_string())
}

/// The hash of a pod template with `collision_count` mixed in (upstream's `ComputeHash`).
pub fn template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    hash_of(template, collision_count)
}

/// Maps every character onto the safe alphabet, as upstream's `SafeEncodeString`.
fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| char::from(SAFE[usize::from(b) % SAFE.len()]))
        .collect()
}

/// `v` without nulls, empty objects and empty arrays (recursively), so that values differing
/// only in how they spell "absent" compare equal.
pub fn pruned(mut v: Value) -> Value {
    prune(&mut v);
    v
}

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
    use serde_json::json;

    use super::*;

    #[test]
    fn hash_is_stable_safe_and_at_most_ten_characters() {
        let h = hash_of(&json!({"a": 1}), None);
        assert_eq!(h, hash_of(&json!({"a": 1}), None));
        assert!(!h.is_empty() && h.len() <= 10);
        assert!(h.bytes().all(|b| SAFE.contains(&b)), "{h}");
    }

    #[test]
    fn hash_changes_with_the_value_and_the_collision_count() {
        let base = hash_of(&json!({"a": 1}), None);
        assert_ne!(base, hash_of(&json!({"a": 2}), None));
        assert_ne!(base, hash_of(&json!({"a": 1}), Some(1)));
    }

    #[test]
    fn safe_encoding_maps_digits_as_upstream() {
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
    }

    #[test]
    fn pruning_drops_empty_and_null_members() {
        let v = json!({"a": null, "b": {}, "c": [], "d": {"e": {}}, "f": 1});
        assert_eq!(pruned(v), json!({"f": 1}));
    }
}
