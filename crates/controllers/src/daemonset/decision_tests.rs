//! DaemonSet decisions: one pod per eligible node, status, and the rolling update.
#![allow(clippy::unwrap_used)]

use k8s_openapi::api::apps::v1::{DaemonSetSpec, DaemonSetUpdateStrategy, RollingUpdateDaemonSet};
use k8s_openapi::api::core::v1::{Container, PodCondition, PodStatus, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::SignedDuration;

use super::*;
use crate::daemonset::placement::tests::node;

fn now() -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_hours(1000)
}

fn ds(surge: i32, unavailable: i32) -> DaemonSet {
    let labels = BTreeMap::from([("app".to_owned(), "agent".to_owned())]);
    DaemonSet {
        metadata: ObjectMeta {
            name: Some("agent".to_owned()),
            namespace: Some("kube-system".to_owned()),
            uid: Some("d1".to_owned()),
            generation: Some(1),
            ..ObjectMeta::default()
        },
        spec: Some(DaemonSetSpec {
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
                        name: "agent".to_owned(),
                        ..Container::default()
                    }],
                    ..PodSpec::default()
                }),
            },
            update_strategy: Some(DaemonSetUpdateStrategy {
                type_: Some("RollingUpdate".to_owned()),
                rolling_update: Some(RollingUpdateDaemonSet {
                    max_surge: Some(IntOrString::Int(surge)),
                    max_unavailable: Some(IntOrString::Int(unavailable)),
                }),
            }),
            ..DaemonSetSpec::default()
        }),
        status: None,
    }
}

/// A simulated cluster: nodes and the pods on them.
struct World {
    ds: DaemonSet,
    nodes: Vec<Node>,
    pods: Vec<Pod>,
    hash: String,
    made: usize,
}

impl World {
    fn new(ds: DaemonSet, nodes: Vec<Node>) -> World {
        World {
            ds,
            nodes,
            pods: Vec::new(),
            hash: "h1".to_owned(),
            made: 0,
        }
    }

    fn plan(&self) -> Plan {
        sync(&Input {
            ds: &self.ds,
            nodes: &self.nodes,
            pods: &self.pods,
            hash: &self.hash,
            now: now(),
        })
    }

    /// Carries out one sync; returns (nodes created on, nodes deleted from).
    fn step(&mut self) -> (Vec<String>, Vec<String>) {
        let plan = self.plan();
        let on = |p: &Pod| target_node(p).unwrap().to_owned();
        let deleted: Vec<String> = plan.delete.iter().map(on).collect();
        for d in &plan.delete {
            self.pods.retain(|p| p.metadata.name != d.metadata.name);
        }
        let mut created = Vec::new();
        for mut p in plan.create {
            self.made += 1;
            p.metadata.name = Some(format!("agent-{}", self.made));
            p.metadata.creation_timestamp =
                Some(Time(now() + SignedDuration::from_secs(self.made as i64)));
            p.status = Some(PodStatus {
                phase: Some("Pending".to_owned()),
                ..PodStatus::default()
            });
            created.push(on(&p));
            self.pods.push(p);
        }
        (created, deleted)
    }

    fn make_ready(&mut self) {
        for p in &mut self.pods {
            let s = p.status.as_mut().unwrap();
            s.phase = Some("Running".to_owned());
            s.conditions = Some(vec![PodCondition {
                type_: "Ready".to_owned(),
                status: "True".to_owned(),
                last_transition_time: Some(Time(now() - SignedDuration::from_secs(60))),
                ..PodCondition::default()
            }]);
        }
    }

    fn nodes_with_pods(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .pods
            .iter()
            .map(|p| target_node(p).unwrap().to_owned())
            .collect();
        v.sort();
        v
    }
}

fn five_nodes() -> Vec<Node> {
    (1..=5).map(|i| node(&format!("n{i}"), &[], &[])).collect()
}

#[test]
fn one_pod_goes_on_each_eligible_node_pinned_by_affinity() {
    let mut nodes = five_nodes();
    nodes.push(node("tainted", &[], &[("dedicated", "NoSchedule")]));
    let mut w = World::new(ds(0, 1), nodes);
    let (created, _) = w.step();
    assert_eq!(created, ["n1", "n2", "n3", "n4", "n5"]);
    assert_eq!(w.step(), (vec![], vec![]));
    let pod = &w.pods[0];
    let labels = pod.metadata.labels.as_ref().unwrap();
    assert_eq!(labels[CONTROLLER_REVISION_HASH], "h1");
    assert_eq!(labels[TEMPLATE_GENERATION], "1");
    assert_eq!(pod.metadata.generate_name.as_deref(), Some("agent-"));
    let tolerations = pod.spec.as_ref().unwrap().tolerations.as_ref().unwrap();
    assert!(tolerations
        .iter()
        .any(|t| t.key.as_deref() == Some("node.kubernetes.io/unschedulable")));
}

#[test]
fn pods_follow_nodes_that_come_and_go() {
    let mut w = World::new(ds(0, 1), five_nodes());
    w.step();
    w.nodes.push(node("n6", &[], &[]));
    assert_eq!(w.step().0, ["n6"]);
    w.nodes.retain(|n| n.metadata.name.as_deref() != Some("n2"));
    assert_eq!(w.step().1, ["n2"]);
    assert_eq!(w.nodes_with_pods(), ["n1", "n3", "n4", "n5", "n6"]);
}

#[test]
fn no_execute_taint_removes_the_pod_and_no_schedule_leaves_it_misscheduled() {
    let mut w = World::new(ds(0, 1), vec![node("a", &[], &[]), node("b", &[], &[])]);
    w.step();
    w.make_ready();
    w.nodes[0] = node("a", &[], &[("x", "NoSchedule")]);
    assert_eq!(w.step(), (vec![], vec![]));
    let status = w.plan().status;
    assert_eq!(
        (status.desired_number_scheduled, status.number_misscheduled),
        (1, 1)
    );
    w.nodes[0] = node("a", &[], &[("x", "NoExecute")]);
    assert_eq!(w.step().1, ["a"]);
}

#[test]
fn status_counts_desired_current_ready_updated_and_available() {
    let mut w = World::new(ds(0, 1), five_nodes());
    w.step();
    let s = w.plan().status;
    assert_eq!(
        (
            s.desired_number_scheduled,
            s.current_number_scheduled,
            s.number_ready
        ),
        (5, 5, 0)
    );
    assert_eq!(
        (
            s.updated_number_scheduled,
            s.number_available,
            s.number_unavailable
        ),
        (Some(5), Some(0), Some(5))
    );
    w.make_ready();
    let s = w.plan().status;
    assert_eq!(
        (s.number_ready, s.number_available, s.number_unavailable),
        (5, Some(5), Some(0))
    );
}

#[test]
fn failed_and_duplicate_pods_are_deleted() {
    let mut w = World::new(ds(0, 1), vec![node("a", &[], &[])]);
    w.step();
    let mut twin = w.pods[0].clone();
    twin.metadata.name = Some("agent-twin".to_owned());
    twin.metadata.creation_timestamp = Some(Time(now() + SignedDuration::from_secs(99)));
    w.pods.push(twin);
    let plan = w.plan();
    assert_eq!(
        plan.delete[0].metadata.name.as_deref(),
        Some("agent-twin"),
        "the newer goes"
    );
    w.step();
    w.pods[0].status.as_mut().unwrap().phase = Some("Failed".to_owned());
    let plan = w.plan();
    assert_eq!(plan.failed, [("a".to_owned(), "agent-1".to_owned())]);
    assert_eq!(w.step().1, ["a"]);
    assert_eq!(w.step().0, ["a"]);
}

/// Runs a rollout to hash `h2`, marking pods ready after every sync; returns the most nodes
/// seen at once without an available pod, and the most pods seen at once.
fn roll(w: &mut World) -> (usize, usize) {
    w.hash = "h2".to_owned();
    w.ds.metadata.generation = Some(2);
    let (mut worst_gap, mut most) = (0, 0);
    for _ in 0..30 {
        w.step();
        most = most.max(w.pods.len());
        let covered: std::collections::BTreeSet<String> = w
            .pods
            .iter()
            .filter(|p| is_ready(p))
            .map(|p| target_node(p).unwrap().to_owned())
            .collect();
        worst_gap = worst_gap.max(w.nodes.len() - covered.len());
        w.make_ready();
    }
    (worst_gap, most)
}

#[test]
fn rolling_update_replaces_pods_within_max_unavailable() {
    let mut w = World::new(ds(0, 2), five_nodes());
    w.step();
    w.make_ready();
    let (gap, most) = roll(&mut w);
    assert!(gap <= 2, "{gap} nodes uncovered at once");
    assert_eq!(most, 5, "no surge");
    assert!(w.pods.iter().all(|p| is_updated(p, "h2", Some(2))));
    assert_eq!(w.plan().status.updated_number_scheduled, Some(5));
}

#[test]
fn rolling_update_with_surge_starts_new_pods_beside_old_ones() {
    let mut w = World::new(ds(1, 0), five_nodes());
    w.step();
    w.make_ready();
    let (gap, most) = roll(&mut w);
    assert_eq!(gap, 0, "every node keeps an available pod");
    assert_eq!(most, 6, "one surge pod at a time");
    assert_eq!(w.pods.len(), 5);
    assert!(w.pods.iter().all(|p| is_updated(p, "h2", Some(2))));
}

#[test]
fn on_delete_leaves_old_pods_alone() {
    let mut d = ds(0, 1);
    d.spec.as_mut().unwrap().update_strategy = Some(DaemonSetUpdateStrategy {
        type_: Some("OnDelete".to_owned()),
        rolling_update: None,
    });
    let mut w = World::new(d, five_nodes());
    w.step();
    w.make_ready();
    w.hash = "h2".to_owned();
    w.ds.metadata.generation = Some(2);
    assert_eq!(w.step(), (vec![], vec![]));
}

#[test]
fn budgets_scale_percentages_up_and_never_both_zero() {
    let mut d = ds(0, 0);
    assert_eq!(budgets(&d, 5), (0, 1));
    let ru = d
        .spec
        .as_mut()
        .unwrap()
        .update_strategy
        .as_mut()
        .unwrap()
        .rolling_update
        .as_mut()
        .unwrap();
    ru.max_unavailable = Some(IntOrString::String("30%".to_owned()));
    assert_eq!(budgets(&d, 5), (0, 2));
}
