//! The collector's decisions, from classified owners to actions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::*;
use crate::namespace::decision::DiscoveredResource;

fn owner(uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: "v1".to_owned(),
        kind: "ConfigMap".to_owned(),
        name: uid.to_owned(),
        uid: uid.to_owned(),
        block_owner_deletion: Some(true),
        controller: None,
    }
}

fn classified(states: &[(&str, OwnerState)]) -> Vec<(OwnerReference, OwnerState)> {
    states.iter().map(|(uid, s)| (owner(uid), *s)).collect()
}

const NO_DEPENDENTS: Dependents = Dependents {
    any: false,
    any_deleting_dependents: false,
};

#[test]
fn an_object_whose_owners_are_all_gone_is_deleted_in_the_background() {
    let owners = classified(&[("a", OwnerState::Dangling), ("b", OwnerState::Dangling)]);
    assert_eq!(
        collect(&owners, &[], NO_DEPENDENTS),
        vec![Action::Delete(Propagation::Background)]
    );
}

#[test]
fn an_object_with_a_live_owner_stays_and_drops_its_dangling_references() {
    let owners = classified(&[("a", OwnerState::Solid), ("b", OwnerState::Dangling)]);
    assert_eq!(
        collect(&owners, &[], NO_DEPENDENTS),
        vec![Action::RemoveOwnerRefs(vec!["b".to_owned()])]
    );
    let owners = classified(&[("a", OwnerState::Solid)]);
    assert!(collect(&owners, &[], NO_DEPENDENTS).is_empty());
}

#[test]
fn an_object_with_a_live_owner_drops_references_to_owners_waiting_for_it() {
    let owners = classified(&[
        ("a", OwnerState::Solid),
        ("w", OwnerState::WaitingForDependents),
    ]);
    assert_eq!(
        collect(&owners, &[], NO_DEPENDENTS),
        vec![Action::RemoveOwnerRefs(vec!["w".to_owned()])]
    );
}

#[test]
fn a_dependent_of_a_foreground_owner_with_dependents_of_its_own_goes_in_the_foreground() {
    let owners = classified(&[("w", OwnerState::WaitingForDependents)]);
    let dependents = Dependents {
        any: true,
        any_deleting_dependents: false,
    };
    assert_eq!(
        collect(&owners, &[], dependents),
        vec![Action::Delete(Propagation::Foreground)]
    );
    // Without dependents of its own it simply goes.
    assert_eq!(
        collect(&owners, &[], NO_DEPENDENTS),
        vec![Action::Delete(Propagation::Background)]
    );
}

#[test]
fn a_possible_foreground_cycle_is_broken_by_unblocking_the_waiting_owners_first() {
    let owners = classified(&[("w", OwnerState::WaitingForDependents)]);
    let dependents = Dependents {
        any: true,
        any_deleting_dependents: true,
    };
    assert_eq!(
        collect(&owners, &[], dependents),
        vec![
            Action::UnblockOwnerRefs(vec!["w".to_owned()]),
            Action::Delete(Propagation::Foreground)
        ]
    );
}

#[test]
fn a_collected_object_keeps_the_propagation_its_finalizers_record() {
    let owners = classified(&[("a", OwnerState::Dangling)]);
    assert_eq!(
        collect(&owners, &["orphan".to_owned()], NO_DEPENDENTS),
        vec![Action::Delete(Propagation::Orphan)]
    );
    assert_eq!(
        collect(&owners, &["foregroundDeletion".to_owned()], NO_DEPENDENTS),
        vec![Action::Delete(Propagation::Foreground)]
    );
}

#[test]
fn objects_without_owners_or_with_an_unresolvable_scope_are_left_alone() {
    assert!(collect(&[], &[], NO_DEPENDENTS).is_empty());
    let owners = classified(&[("a", OwnerState::InvalidScope)]);
    assert!(collect(&owners, &[], NO_DEPENDENTS).is_empty());
}

#[test]
fn a_foreground_owner_is_released_once_no_blocking_dependent_is_left() {
    assert_eq!(
        foreground_step(&[], true),
        vec![Action::RemoveFinalizer("foregroundDeletion")]
    );
    assert!(
        foreground_step(&[], false).is_empty(),
        "not before every watch has listed"
    );
}

#[test]
fn a_foreground_owner_queues_its_blocking_dependents_not_already_waiting() {
    let blocking = [("a".to_owned(), false), ("b".to_owned(), true)];
    assert_eq!(
        foreground_step(&blocking, true),
        vec![Action::AttemptToDelete("a".to_owned())]
    );
}

#[test]
fn reference_and_finalizer_edits_touch_only_what_they_name() {
    let refs = vec![owner("a"), owner("b")];
    let kept = without_owners(&refs, &["a".to_owned()]);
    assert_eq!(kept, vec![owner("b")]);
    let unblocked_refs = unblocked(&refs, &["b".to_owned()]);
    assert_eq!(unblocked_refs[0].block_owner_deletion, Some(true));
    assert_eq!(unblocked_refs[1].block_owner_deletion, Some(false));
    let finalizers = vec!["orphan".to_owned(), "example.com/keep".to_owned()];
    assert_eq!(
        without_finalizer(&finalizers, "orphan"),
        vec!["example.com/keep".to_owned()]
    );
}

fn resource(group: &str, plural: &str, verbs: &[&str]) -> DiscoveredResource {
    DiscoveredResource {
        group: group.to_owned(),
        version: "v1".to_owned(),
        kind: plural.to_owned(),
        plural: plural.to_owned(),
        namespaced: true,
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
    }
}

#[test]
fn watched_types_are_the_listable_watchable_deletable_ones_except_events() {
    let all = ["list", "watch", "delete", "get"];
    let resources = vec![
        resource("", "configmaps", &all),
        resource("", "events", &all),
        resource("events.k8s.io", "events", &all),
        resource("authorization.k8s.io", "selfsubjectreviews", &["create"]),
        resource("", "bindings", &["create"]),
        resource("example.com", "widgets", &all),
    ];
    let plurals: Vec<&str> = watched(&resources)
        .iter()
        .map(|r| r.plural.as_str())
        .collect();
    assert_eq!(plurals, vec!["configmaps", "widgets"]);
}
