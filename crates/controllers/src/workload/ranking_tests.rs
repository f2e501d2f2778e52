//! The scale-down order, one rule at a time.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ContainerStatus, Pod, PodCondition, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::*;

fn now() -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_hours(1000)
}

fn ago(secs: i64) -> Timestamp {
    now() - SignedDuration::from_secs(secs)
}

struct P(Pod);

impl P {
    fn new(name: &str) -> P {
        P(Pod {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                uid: Some(name.to_owned()),
                creation_timestamp: Some(Time(ago(10_000))),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                node_name: Some("n1".to_owned()),
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                phase: Some("Running".to_owned()),
                ..PodStatus::default()
            }),
        })
    }
    fn node(mut self, node: &str) -> P {
        if let Some(s) = self.0.spec.as_mut() {
            s.node_name = (!node.is_empty()).then(|| node.to_owned());
        }
        self
    }
    fn phase(mut self, phase: &str) -> P {
        if let Some(s) = self.0.status.as_mut() {
            s.phase = Some(phase.to_owned());
        }
        self
    }
    fn ready_for(mut self, secs: i64) -> P {
        if let Some(s) = self.0.status.as_mut() {
            s.conditions = Some(vec![PodCondition {
                type_: "Ready".to_owned(),
                status: "True".to_owned(),
                last_transition_time: Some(Time(ago(secs))),
                ..PodCondition::default()
            }]);
        }
        self
    }
    fn cost(mut self, cost: &str) -> P {
        self.0.metadata.annotations = Some(BTreeMap::from([(
            DELETION_COST.to_owned(),
            cost.to_owned(),
        )]));
        self
    }
    fn restarts(mut self, n: i32) -> P {
        if let Some(s) = self.0.status.as_mut() {
            s.container_statuses = Some(vec![ContainerStatus {
                restart_count: n,
                ..ContainerStatus::default()
            }]);
        }
        self
    }
    fn created(mut self, secs_ago: i64) -> P {
        self.0.metadata.creation_timestamp = Some(Time(ago(secs_ago)));
        self
    }
}

/// The name of the first pod to delete among `pods`.
fn first(pods: Vec<P>) -> String {
    let pods: Vec<Pod> = pods.into_iter().map(|p| p.0).collect();
    let chosen = pods_to_delete(&pods, &pods, 1, now());
    chosen[0].metadata.name.clone().unwrap_or_default()
}

#[test]
fn scale_down_order_follows_upstream_rules() {
    let cases: Vec<(&str, Vec<P>, &str)> = vec![
        (
            "unassigned before assigned",
            vec![P::new("a"), P::new("b").node("")],
            "b",
        ),
        (
            "pending before running",
            vec![P::new("a"), P::new("b").phase("Pending")],
            "b",
        ),
        (
            "unknown before running",
            vec![P::new("a"), P::new("b").phase("Unknown")],
            "b",
        ),
        (
            "pending before unknown",
            vec![P::new("a").phase("Unknown"), P::new("b").phase("Pending")],
            "b",
        ),
        (
            "not ready before ready",
            vec![P::new("a").ready_for(50), P::new("b")],
            "b",
        ),
        (
            "lower deletion cost first",
            vec![P::new("a").cost("10"), P::new("b").cost("-5")],
            "b",
        ),
        (
            "deletion cost beats readiness time",
            vec![
                P::new("a").ready_for(5).cost("3"),
                P::new("b").ready_for(5000),
            ],
            "b",
        ),
        (
            "doubled up first",
            vec![P::new("a").node("n2"), P::new("b"), P::new("c")],
            "b",
        ),
        (
            "ready for less time first",
            vec![P::new("a").ready_for(5000), P::new("b").ready_for(5)],
            "b",
        ),
        (
            "more restarts first",
            vec![P::new("a").restarts(1), P::new("b").restarts(4)],
            "b",
        ),
        (
            "newer first",
            vec![P::new("a").created(9000), P::new("b").created(60)],
            "b",
        ),
    ];
    for (rule, pods, want) in cases {
        assert_eq!(first(pods), want, "{rule}");
    }
}

#[test]
fn ages_in_the_same_power_of_two_tie_and_fall_back_to_uid() {
    // 100 s and 101 s old fall in the same log2 bucket of nanoseconds.
    assert_eq!(
        first(vec![P::new("b").created(100), P::new("a").created(101)]),
        "a"
    );
}

#[test]
fn invalid_deletion_cost_counts_as_zero() {
    assert_eq!(deletion_cost(&P::new("a").cost("lots").0), 0);
    assert_eq!(
        first(vec![P::new("a").cost("lots"), P::new("b").cost("1")]),
        "a"
    );
}

#[test]
fn asks_for_no_more_pods_than_exist() {
    let pods = vec![P::new("a").0, P::new("b").0];
    assert_eq!(pods_to_delete(&pods, &pods, 5, now()).len(), 2);
}
