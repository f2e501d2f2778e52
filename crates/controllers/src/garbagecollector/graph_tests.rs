//! The dependency graph: the work each watch event implies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::{Effect, Graph, Identity, Observed, FOREGROUND, ORPHAN};

fn identity(kind: &str, name: &str, namespace: &str) -> Identity {
    Identity {
        api_version: if kind == "ReplicaSet" {
            "apps/v1"
        } else {
            "v1"
        }
        .to_owned(),
        kind: kind.to_owned(),
        name: name.to_owned(),
        uid: format!("uid-{name}"),
        namespace: namespace.to_owned(),
    }
}

fn owner_ref(owner: &Identity, block: bool) -> OwnerReference {
    OwnerReference {
        api_version: owner.api_version.clone(),
        kind: owner.kind.clone(),
        name: owner.name.clone(),
        uid: owner.uid.clone(),
        block_owner_deletion: block.then_some(true),
        controller: None,
    }
}

fn object(id: &Identity, owners: Vec<OwnerReference>) -> Observed {
    Observed {
        identity: id.clone(),
        owners,
        deleting: false,
        finalizers: Vec::new(),
    }
}

fn deleting(id: &Identity, finalizer: &str) -> Observed {
    Observed {
        deleting: true,
        finalizers: vec![finalizer.to_owned()],
        ..object(id, Vec::new())
    }
}

fn delete(uid: &str) -> Effect {
    Effect::AttemptToDelete(uid.to_owned())
}

/// A graph with owner `rs` and dependents `a` (blocking) and `b`, all in `shop`.
fn family() -> (Graph, Identity, Identity, Identity) {
    let rs = identity("ReplicaSet", "rs", "shop");
    let a = identity("Pod", "a", "shop");
    let b = identity("Pod", "b", "shop");
    let mut graph = Graph::default();
    assert!(graph.observe(&object(&rs, Vec::new())).is_empty());
    graph.observe(&object(&a, vec![owner_ref(&rs, true)]));
    graph.observe(&object(&b, vec![owner_ref(&rs, false)]));
    (graph, rs, a, b)
}

#[test]
fn a_dependent_seen_before_its_owner_makes_a_virtual_owner_to_verify() {
    let mut graph = Graph::default();
    let rs = identity("ReplicaSet", "rs", "shop");
    let pod = identity("Pod", "a", "shop");
    let effects = graph.observe(&object(&pod, vec![owner_ref(&rs, false)]));
    assert_eq!(effects, vec![delete("uid-rs")]);
    let owner = graph.node("uid-rs").unwrap();
    assert!(!owner.observed);
    assert!(owner.dependents.contains("uid-a"));
    assert!(graph.observe(&object(&rs, Vec::new())).is_empty());
    assert!(graph.node("uid-rs").unwrap().observed);
}

#[test]
fn deleting_an_owner_queues_its_dependents() {
    let (mut graph, rs, _, _) = family();
    let effects = graph.remove(&rs.uid, false);
    assert_eq!(effects, vec![delete("uid-a"), delete("uid-b")]);
    assert!(graph.node("uid-rs").is_none());
}

#[test]
fn an_owner_starting_foreground_deletion_queues_its_dependents_and_itself() {
    let (mut graph, rs, _, _) = family();
    let effects = graph.observe(&deleting(&rs, FOREGROUND));
    assert_eq!(
        effects,
        vec![delete("uid-a"), delete("uid-b"), delete("uid-rs")]
    );
    assert!(graph.node("uid-rs").unwrap().deleting_dependents);
    assert!(
        graph.observe(&deleting(&rs, FOREGROUND)).is_empty(),
        "only the transition queues work"
    );
}

#[test]
fn only_references_with_block_owner_deletion_block() {
    let (graph, rs, _, _) = family();
    assert_eq!(
        graph.blocking_dependents(&rs.uid),
        vec![("uid-a".to_owned(), false)]
    );
}

#[test]
fn a_blocking_dependent_going_away_requeues_its_foreground_owner() {
    let (mut graph, rs, a, _) = family();
    graph.observe(&deleting(&rs, FOREGROUND));
    let effects = graph.remove(&a.uid, false);
    assert_eq!(effects, vec![delete("uid-rs")]);
    assert!(graph.blocking_dependents(&rs.uid).is_empty());
}

#[test]
fn a_dependent_dropping_its_blocking_reference_requeues_its_foreground_owner() {
    let (mut graph, rs, a, _) = family();
    graph.observe(&deleting(&rs, FOREGROUND));
    let effects = graph.observe(&object(&a, vec![owner_ref(&rs, false)]));
    assert_eq!(effects, vec![delete("uid-rs")]);
    let effects = graph.observe(&object(&a, Vec::new()));
    assert!(effects.is_empty());
    assert!(!graph.node("uid-rs").unwrap().dependents.contains("uid-a"));
}

#[test]
fn an_owner_deleted_with_the_orphan_finalizer_is_queued_for_orphaning() {
    let (mut graph, rs, a, b) = family();
    let effects = graph.observe(&deleting(&rs, ORPHAN));
    assert_eq!(effects, vec![Effect::AttemptToOrphan("uid-rs".to_owned())]);
    assert_eq!(graph.dependents(&rs.uid), vec![a, b]);
}

#[test]
fn a_relist_removes_the_objects_it_no_longer_sees() {
    let (mut graph, rs, a, _) = family();
    let seen: HashSet<String> = [a.uid.clone()].into();
    let effects = graph.relisted("", "Pod", &seen);
    assert_eq!(effects, vec![]);
    assert!(graph.node("uid-b").is_none());
    assert!(graph.node(&rs.uid).is_some(), "other types are untouched");
}

#[test]
fn a_virtual_delete_leaves_an_observed_node_alone() {
    let (mut graph, rs, _, _) = family();
    assert!(graph.remove(&rs.uid, true).is_empty());
    assert!(graph.node(&rs.uid).is_some());
}

#[test]
fn a_virtual_owner_found_missing_is_removed_and_its_dependents_checked() {
    let mut graph = Graph::default();
    let rs = identity("ReplicaSet", "rs", "shop");
    let pod = identity("Pod", "a", "shop");
    graph.observe(&object(&pod, vec![owner_ref(&rs, false)]));
    assert_eq!(graph.remove(&rs.uid, true), vec![delete("uid-a")]);
    assert!(graph.node(&rs.uid).is_none());
}

#[test]
fn a_dependent_naming_an_owner_in_another_namespace_is_reported_and_checked() {
    let mut graph = Graph::default();
    let owner = identity("ConfigMap", "owner", "shop");
    graph.observe(&object(&owner, Vec::new()));
    let stray = identity("ConfigMap", "stray", "other");
    let effects = graph.observe(&object(&stray, vec![owner_ref(&owner, false)]));
    let reported = Effect::InvalidOwnerNamespace {
        dependent: Box::new(stray.clone()),
        owner: Box::new(Identity {
            namespace: "other".to_owned(),
            ..owner.clone()
        }),
    };
    assert_eq!(effects, vec![reported, delete("uid-stray")]);
}

#[test]
fn a_cluster_scoped_dependent_of_an_observed_namespaced_owner_is_reported() {
    let mut graph = Graph::default();
    let owner = identity("ConfigMap", "owner", "shop");
    graph.observe(&object(&owner, Vec::new()));
    let node = identity("Node", "n1", "");
    let effects = graph.observe(&object(&node, vec![owner_ref(&owner, false)]));
    assert!(matches!(
        &effects[0],
        Effect::InvalidOwnerNamespace { dependent, .. } if **dependent == node
    ));
}

#[test]
fn a_cluster_scoped_owner_may_own_objects_in_any_namespace() {
    let mut graph = Graph::default();
    let owner = identity("Node", "n1", "");
    graph.observe(&object(&owner, Vec::new()));
    let lease = identity("Lease", "n1", "kube-node-lease");
    assert!(graph
        .observe(&object(&lease, vec![owner_ref(&owner, false)]))
        .is_empty());
}
