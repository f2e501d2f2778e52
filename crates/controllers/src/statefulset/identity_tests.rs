//! Member names, identity, claims and claim owners.
#![allow(clippy::unwrap_used)]

use k8s_openapi::api::apps::v1::{
    StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
};
use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::*;

pub fn set(replicas: i32) -> StatefulSet {
    let labels = BTreeMap::from([("app".to_owned(), "web".to_owned())]);
    StatefulSet {
        metadata: ObjectMeta {
            name: Some("web".to_owned()),
            namespace: Some("shop".to_owned()),
            uid: Some("s1".to_owned()),
            generation: Some(1),
            ..ObjectMeta::default()
        },
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some("nginx".to_owned()),
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "web".to_owned(),
                        image: Some("nginx:1".to_owned()),
                        ..Container::default()
                    }],
                    ..PodSpec::default()
                }),
            },
            volume_claim_templates: Some(vec![PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some("data".to_owned()),
                    ..ObjectMeta::default()
                },
                ..PersistentVolumeClaim::default()
            }]),
            ..StatefulSetSpec::default()
        }),
        status: None,
    }
}

fn template(s: &StatefulSet) -> PodTemplateSpec {
    s.spec.as_ref().unwrap().template.clone()
}

#[test]
fn ordinals_parse_only_from_member_names() {
    assert_eq!(ordinal_of("web", "web-0"), Some(0));
    assert_eq!(ordinal_of("web", "web-12"), Some(12));
    assert_eq!(ordinal_of("my-web", "my-web-3"), Some(3));
    assert_eq!(ordinal_of("web", "web-x"), None);
    assert_eq!(ordinal_of("web", "web-"), None);
    assert_eq!(ordinal_of("web", "db-1"), None);
    assert_eq!(ordinal_of("web", "web-1-2"), None);
}

#[test]
fn new_member_has_stable_identity_storage_and_revision() {
    let s = set(3);
    let pod = new_pod(&s, &template(&s), "web-abc", 2);
    assert_eq!(pod.metadata.name.as_deref(), Some("web-2"));
    let labels = pod.metadata.labels.as_ref().unwrap();
    assert_eq!(labels[POD_NAME], "web-2");
    assert_eq!(labels[POD_INDEX], "2");
    assert_eq!(labels[CONTROLLER_REVISION_HASH], "web-abc");
    assert_eq!(labels["app"], "web");
    let spec = pod.spec.as_ref().unwrap();
    assert_eq!(spec.hostname.as_deref(), Some("web-2"));
    assert_eq!(spec.subdomain.as_deref(), Some("nginx"));
    let volume = &spec.volumes.as_ref().unwrap()[0];
    assert_eq!(volume.name, "data");
    assert_eq!(
        volume.persistent_volume_claim.as_ref().unwrap().claim_name,
        "data-web-2"
    );
    let owner = &pod.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("StatefulSet", Some(true))
    );
    assert!(identity_matches(&s, &pod));
}

#[test]
fn claims_are_named_per_ordinal_and_carry_the_selector_labels() {
    let claims = claims_for(&set(1), 4);
    assert_eq!(claims.len(), 1);
    let (template, claim) = &claims[0];
    assert_eq!(template, "data");
    assert_eq!(claim.metadata.name.as_deref(), Some("data-web-4"));
    assert_eq!(claim.metadata.labels.as_ref().unwrap()["app"], "web");
    assert_eq!(claim.metadata.namespace.as_deref(), Some("shop"));
}

#[test]
fn a_pod_missing_its_identity_labels_does_not_match() {
    let s = set(1);
    let mut pod = new_pod(&s, &template(&s), "r", 0);
    pod.metadata.labels.as_mut().unwrap().remove(POD_INDEX);
    assert!(!identity_matches(&s, &pod));
}

#[test]
fn claims_are_retained_by_default_and_owned_under_delete_policies() {
    let mut s = set(1);
    let mut pod = new_pod(&s, &template(&s), "r", 0);
    pod.metadata.uid = Some("p0".to_owned());
    let claim = claims_for(&s, 0).remove(0).1;
    assert_eq!(
        claim_owners(&s, &pod, true, &claim),
        None,
        "Retain: no owners"
    );
    s.spec
        .as_mut()
        .unwrap()
        .persistent_volume_claim_retention_policy =
        Some(StatefulSetPersistentVolumeClaimRetentionPolicy {
            when_deleted: Some("Delete".to_owned()),
            when_scaled: Some("Delete".to_owned()),
        });
    let owners = claim_owners(&s, &pod, false, &claim).unwrap();
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0].kind, "StatefulSet");
    let owners = claim_owners(&s, &pod, true, &claim).unwrap();
    let kinds: Vec<&str> = owners.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["StatefulSet", "Pod"]);
    let mut owned = claim.clone();
    owned.metadata.owner_references = Some(owners);
    assert_eq!(claim_owners(&s, &pod, true, &owned), None, "already right");
}

#[test]
fn max_unavailable_defaults_to_one_and_scales_percentages_up() {
    use k8s_openapi::api::apps::v1::{RollingUpdateStatefulSetStrategy, StatefulSetUpdateStrategy};
    let mut s = set(10);
    assert_eq!(max_unavailable(&s), 1);
    s.spec.as_mut().unwrap().update_strategy = Some(StatefulSetUpdateStrategy {
        type_: Some("RollingUpdate".to_owned()),
        rolling_update: Some(RollingUpdateStatefulSetStrategy {
            max_unavailable: Some(IntOrString::String("25%".to_owned())),
            partition: Some(2),
        }),
    });
    assert_eq!(max_unavailable(&s), 3);
    assert_eq!(partition(&s), 2);
}
