//! Node eligibility, tolerations and pinning.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{NodeSpec, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;

pub fn node(name: &str, labels: &[(&str, &str)], taints: &[(&str, &str)]) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec {
            taints: Some(
                taints
                    .iter()
                    .map(|(key, effect)| Taint {
                        key: (*key).to_owned(),
                        effect: (*effect).to_owned(),
                        ..Taint::default()
                    })
                    .collect(),
            ),
            ..NodeSpec::default()
        }),
        status: None,
    }
}

fn daemon() -> PodSpec {
    let mut spec = PodSpec::default();
    add_daemon_tolerations(&mut spec);
    spec
}

fn place(run: bool, stay: bool) -> Placement {
    Placement {
        should_run: run,
        should_continue: stay,
    }
}

#[test]
fn untolerated_no_schedule_keeps_new_pods_off_but_lets_old_ones_stay() {
    let n = node("n1", &[], &[("dedicated", "NoSchedule")]);
    assert_eq!(placement(&daemon(), &n), place(false, true));
    let mut spec = daemon();
    spec.tolerations.as_mut().unwrap().push(Toleration {
        key: Some("dedicated".to_owned()),
        operator: Some("Exists".to_owned()),
        ..Toleration::default()
    });
    assert_eq!(placement(&spec, &n), place(true, true));
}

#[test]
fn untolerated_no_execute_evicts() {
    let n = node("n1", &[], &[("gpu", "NoExecute")]);
    assert_eq!(placement(&daemon(), &n), place(false, false));
}

#[test]
fn daemon_tolerations_cover_node_conditions_but_prefer_no_schedule_is_ignored() {
    let n = node(
        "n1",
        &[],
        &[
            ("node.kubernetes.io/not-ready", "NoExecute"),
            ("node.kubernetes.io/unschedulable", "NoSchedule"),
            ("whatever", "PreferNoSchedule"),
        ],
    );
    assert_eq!(placement(&daemon(), &n), place(true, true));
    let network = node(
        "n2",
        &[],
        &[("node.kubernetes.io/network-unavailable", "NoSchedule")],
    );
    assert!(!placement(&daemon(), &network).should_run);
    let mut host = PodSpec {
        host_network: Some(true),
        ..PodSpec::default()
    };
    add_daemon_tolerations(&mut host);
    assert!(placement(&host, &network).should_run);
}

#[test]
fn toleration_matching_follows_key_operator_value_and_effect() {
    let taint = Taint {
        key: "k".to_owned(),
        value: Some("v".to_owned()),
        effect: "NoSchedule".to_owned(),
        ..Taint::default()
    };
    let tol = |key: Option<&str>, op: &str, value: Option<&str>, effect: Option<&str>| Toleration {
        key: key.map(str::to_owned),
        operator: Some(op.to_owned()),
        value: value.map(str::to_owned),
        effect: effect.map(str::to_owned),
        ..Toleration::default()
    };
    assert!(tolerates(&tol(Some("k"), "Equal", Some("v"), None), &taint));
    assert!(!tolerates(
        &tol(Some("k"), "Equal", Some("w"), None),
        &taint
    ));
    assert!(tolerates(&tol(None, "Exists", None, None), &taint));
    assert!(!tolerates(
        &tol(Some("k"), "Exists", None, Some("NoExecute")),
        &taint
    ));
}

#[test]
fn node_selector_and_required_affinity_limit_the_nodes() {
    let mut spec = daemon();
    spec.node_selector = Some(BTreeMap::from([("disk".to_owned(), "ssd".to_owned())]));
    assert!(placement(&spec, &node("a", &[("disk", "ssd")], &[])).should_run);
    assert_eq!(placement(&spec, &node("b", &[], &[])), place(false, false));
    let mut spec = daemon();
    spec.affinity = Some(Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: vec![NodeSelectorTerm {
                    match_expressions: Some(vec![NodeSelectorRequirement {
                        key: "zone".to_owned(),
                        operator: "NotIn".to_owned(),
                        values: Some(vec!["z1".to_owned()]),
                    }]),
                    match_fields: None,
                }],
            }),
            ..NodeAffinity::default()
        }),
        ..Affinity::default()
    });
    assert!(placement(&spec, &node("a", &[("zone", "z2")], &[])).should_run);
    assert!(!placement(&spec, &node("b", &[("zone", "z1")], &[])).should_run);
}

#[test]
fn pinned_pods_name_their_node() {
    let mut spec = daemon();
    spec.node_name = Some("n2".to_owned());
    assert!(!placement(&spec, &node("n1", &[], &[])).should_run);
    let mut spec = daemon();
    pin_to_node(&mut spec, "n7");
    let pod = Pod {
        spec: Some(spec.clone()),
        ..Pod::default()
    };
    assert_eq!(target_node(&pod), Some("n7"));
    assert!(placement(&spec, &node("n7", &[], &[])).should_run);
    assert!(!placement(&spec, &node("n8", &[], &[])).should_run);
}
