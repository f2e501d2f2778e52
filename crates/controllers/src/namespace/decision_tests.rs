#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition, NamespaceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::*;

fn namespace(deleting: bool, finalizers: &[&str]) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some("shop".to_owned()),
            deletion_timestamp: deleting.then_some(Time(Timestamp::UNIX_EPOCH)),
            ..ObjectMeta::default()
        },
        spec: Some(NamespaceSpec {
            finalizers: Some(finalizers.iter().map(|f| (*f).to_owned()).collect()),
        }),
        ..Namespace::default()
    }
}

fn resource(group: &str, plural: &str, namespaced: bool, verbs: &[&str]) -> DiscoveredResource {
    DiscoveredResource {
        group: group.to_owned(),
        version: "v1".to_owned(),
        kind: plural.to_owned(),
        plural: plural.to_owned(),
        namespaced,
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
    }
}

const ALL: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn now() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap()
}

fn condition<'a>(conditions: &'a [NamespaceCondition], type_: &str) -> &'a NamespaceCondition {
    conditions.iter().find(|c| c.type_ == type_).expect(type_)
}

#[test]
fn namespace_not_being_deleted_is_left_alone() {
    assert_eq!(plan(&namespace(false, &["kubernetes"])), Plan::Ignore);
}

#[test]
fn deleted_namespace_with_our_finalizer_is_emptied_then_finalized() {
    assert_eq!(
        plan(&namespace(true, &["kubernetes"])),
        Plan::EmptyThenFinalize
    );
}

#[test]
fn deleted_namespace_without_our_finalizer_needs_nothing_more() {
    assert_eq!(
        plan(&namespace(true, &["example.com/other"])),
        Plan::AlreadyFinalized
    );
    assert_eq!(plan(&namespace(true, &[])), Plan::AlreadyFinalized);
}

#[test]
fn finalizing_removes_only_the_kubernetes_finalizer() {
    let ns = finalized(&namespace(true, &["kubernetes", "example.com/other"]));
    assert_eq!(
        ns.spec.unwrap().finalizers.unwrap(),
        vec!["example.com/other".to_owned()]
    );
}

#[test]
fn only_namespaced_listable_deletable_types_are_emptied_pods_first() {
    let resources = vec![
        resource("", "configmaps", true, ALL),
        resource("", "namespaces", false, ALL),
        resource("", "pods", true, ALL),
        resource(
            "authorization.k8s.io",
            "localsubjectaccessreviews",
            true,
            &["create"],
        ),
        resource("example.com", "widgets", true, &["delete", "get", "list"]),
    ];
    let plan = deletions(&resources);
    let names: Vec<(&str, Method)> = plan
        .iter()
        .map(|d| (d.resource.plural.as_str(), d.method))
        .collect();
    assert_eq!(
        names,
        vec![
            ("pods", Method::Collection),
            ("configmaps", Method::Collection),
            ("widgets", Method::EachObject),
        ]
    );
}

#[test]
fn empty_namespace_is_finalized_and_all_conditions_are_false() {
    let report = ContentReport::default();
    assert_eq!(verdict(&report), Verdict::Finalize);
    let conditions = conditions(&[], &report, now()).expect("new conditions");
    assert_eq!(conditions.len(), 5);
    assert!(conditions.iter().all(|c| c.status == "False"));
    let remaining = condition(&conditions, "NamespaceContentRemaining");
    assert_eq!(remaining.reason.as_deref(), Some("ContentRemoved"));
    assert_eq!(
        remaining.message.as_deref(),
        Some("All content successfully removed")
    );
}

#[test]
fn remaining_objects_wait_and_are_reported_with_their_finalizers() {
    let mut report = ContentReport::default();
    let cm = resource("", "configmaps", true, ALL);
    let widgets = resource("example.com", "widgets", true, ALL);
    let held = vec!["example.com/hold".to_owned()];
    report.record_remaining(&cm, [held.as_slice(), &[]]);
    report.record_remaining(&widgets, [held.as_slice()]);
    report.record_remaining(&resource("", "secrets", true, ALL), std::iter::empty());
    assert_eq!(verdict(&report), Verdict::WaitForContent);
    let conditions = conditions(&[], &report, now()).unwrap();
    let remaining = condition(&conditions, "NamespaceContentRemaining");
    assert_eq!(remaining.status, "True");
    assert_eq!(remaining.reason.as_deref(), Some("SomeResourcesRemain"));
    assert_eq!(
        remaining.message.as_deref(),
        Some("Some resources are remaining: configmaps. has 2 resource instances, widgets.example.com has 1 resource instances")
    );
    let finalizers = condition(&conditions, "NamespaceFinalizersRemaining");
    assert_eq!(finalizers.reason.as_deref(), Some("SomeFinalizersRemain"));
    assert_eq!(
        finalizers.message.as_deref(),
        Some("Some content in the namespace has finalizers remaining: example.com/hold in 2 resource instances")
    );
}

#[test]
fn failures_retry_and_set_the_failure_conditions() {
    let report = ContentReport {
        discovery_failure: Some("Discovery failed: boom".to_owned()),
        deletion_failures: vec!["pods.: forbidden".to_owned()],
        ..ContentReport::default()
    };
    assert_eq!(verdict(&report), Verdict::Retry);
    let conditions = conditions(&[], &report, now()).unwrap();
    let discovery = condition(&conditions, "NamespaceDeletionDiscoveryFailure");
    assert_eq!(
        (discovery.status.as_str(), discovery.reason.as_deref()),
        ("True", Some("DiscoveryFailed"))
    );
    let content = condition(&conditions, "NamespaceDeletionContentFailure");
    assert_eq!(content.reason.as_deref(), Some("ContentDeletionFailed"));
    assert_eq!(
        content.message.as_deref(),
        Some("Failed to delete all resource types, 1 remaining: pods.: forbidden")
    );
}

#[test]
fn unchanged_conditions_are_not_rewritten() {
    let report = ContentReport::default();
    let first = conditions(&[], &report, now()).unwrap();
    assert_eq!(
        conditions(&first, &report, now() + SignedDuration::from_secs(5)),
        None
    );
}

#[test]
fn transition_time_moves_only_when_status_changes() {
    let cm = resource("", "configmaps", true, ALL);
    let mut two = ContentReport::default();
    two.record_remaining(&cm, [&[][..], &[][..]]);
    let first = conditions(&[], &two, now()).unwrap();
    let later = now() + SignedDuration::from_secs(5);
    let mut one = ContentReport::default();
    one.record_remaining(&cm, [&[][..]]);
    let second = conditions(&first, &one, later).unwrap();
    let remaining = condition(&second, "NamespaceContentRemaining");
    assert_eq!(
        remaining.last_transition_time,
        Some(Time(now())),
        "still True: same time"
    );
    let third = conditions(&second, &ContentReport::default(), later).unwrap();
    let remaining = condition(&third, "NamespaceContentRemaining");
    assert_eq!(remaining.last_transition_time, Some(Time(later)));
    assert_eq!(remaining.status, "False");
}

#[test]
fn conditions_of_other_types_are_kept() {
    let other = NamespaceCondition {
        type_: "Custom".to_owned(),
        status: "True".to_owned(),
        ..NamespaceCondition::default()
    };
    let out = conditions(
        std::slice::from_ref(&other),
        &ContentReport::default(),
        now(),
    )
    .unwrap();
    assert_eq!(out[0], other);
    assert_eq!(out.len(), 6);
}
