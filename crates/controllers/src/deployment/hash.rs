//! The `pod-template-hash`: what tells one ReplicaSet of a Deployment from another, in its
//! name (`<deployment>-<hash>`), its selector and its pods' labels (the hash itself is
//! [`crate::workload::hash`]'s).

use k8s_openapi::api::core::v1::PodTemplateSpec;

use crate::workload::hash::pruned;
pub use crate::workload::hash::template_hash as pod_template_hash;

/// The label (and selector key) carrying the hash.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// Whether two templates are the same once the hash label is ignored (and empty fields are
/// taken as absent).
pub fn equal_ignoring_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    normalized(a) == normalized(b)
}

fn normalized(t: &PodTemplateSpec) -> serde_json::Value {
    let mut t = t.clone();
    if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH);
    }
    pruned(serde_json::to_value(&t).unwrap_or(serde_json::Value::Null))
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
    fn hash_changes_with_the_template_and_the_collision_count() {
        let base = pod_template_hash(&template("nginx:1.25"), None);
        assert_ne!(base, pod_template_hash(&template("nginx:1.26"), None));
        assert_ne!(base, pod_template_hash(&template("nginx:1.25"), Some(1)));
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
