//! Annotations and budgets.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ReplicaSet;

use super::super::fixtures::deployment;
use super::*;

#[test]
fn percentages_round_up_for_surge_and_down_for_unavailability() {
    let pct = IntOrString::String("25%".to_owned());
    assert_eq!(scaled(Some(&pct), 10, true), 3);
    assert_eq!(scaled(Some(&pct), 10, false), 2);
    assert_eq!(scaled(Some(&IntOrString::Int(4)), 10, false), 4);
    assert_eq!(scaled(None, 10, true), 0);
}

#[test]
fn new_replica_set_gets_the_deployment_annotations_but_not_its_bookkeeping() {
    let mut d = deployment(4, "1", "0", "v1");
    d.metadata.annotations = Some(BTreeMap::from([
        (
            "kubernetes.io/change-cause".to_owned(),
            "set image".to_owned(),
        ),
        (REVISION.to_owned(), "7".to_owned()),
        (
            "kubectl.kubernetes.io/last-applied-configuration".to_owned(),
            "{}".to_owned(),
        ),
    ]));
    let mut rs = ReplicaSet::default();
    assert!(set_new_rs_annotations(&d, &mut rs, 3, false));
    let a = rs.metadata.annotations.unwrap();
    assert_eq!(a["kubernetes.io/change-cause"], "set image");
    assert_eq!(a[REVISION], "3");
    assert_eq!(
        (a[DESIRED_REPLICAS].as_str(), a[MAX_REPLICAS].as_str()),
        ("4", "5")
    );
    assert!(!a.contains_key("kubectl.kubernetes.io/last-applied-configuration"));
}

#[test]
fn reused_replica_set_remembers_its_earlier_revisions() {
    let d = deployment(1, "1", "0", "v1");
    let mut rs = ReplicaSet::default();
    set_new_rs_annotations(&d, &mut rs, 1, false);
    set_new_rs_annotations(&d, &mut rs, 3, true);
    set_new_rs_annotations(&d, &mut rs, 5, true);
    assert_eq!(annotation(&rs, REVISION_HISTORY), Some("1,3"));
    assert_eq!(revision(&rs), 5);
    assert!(
        !set_new_rs_annotations(&d, &mut rs, 5, true),
        "same revision changes nothing"
    );
}
