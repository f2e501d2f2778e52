#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::api::core::v1::{Node, NodeCondition, NodeStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::*;

fn at(secs: i64) -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_secs(secs)
}

fn timings() -> Timings {
    Timings {
        grace: std::time::Duration::from_secs(40),
        startup_grace: std::time::Duration::from_secs(60),
    }
}

fn ready(status: &str, heartbeat: i64) -> NodeCondition {
    NodeCondition {
        type_: "Ready".to_owned(),
        status: status.to_owned(),
        reason: Some("KubeletReady".to_owned()),
        last_heartbeat_time: Some(Time(at(heartbeat))),
        last_transition_time: Some(Time(at(0))),
        ..NodeCondition::default()
    }
}

fn node(conditions: Vec<NodeCondition>) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some("n1".to_owned()),
            creation_timestamp: Some(Time(at(0))),
            ..ObjectMeta::default()
        },
        status: Some(NodeStatus {
            conditions: Some(conditions),
            ..NodeStatus::default()
        }),
        ..Node::default()
    }
}

fn find<'a>(conditions: &'a [NodeCondition], kind: &str) -> &'a NodeCondition {
    conditions.iter().find(|c| c.type_ == kind).unwrap()
}

#[test]
fn a_node_seen_within_its_grace_period_is_left_alone() {
    let n = node(vec![ready("True", 5)]);
    let first = look(None, &n, None, at(10), timings());
    assert_eq!(first.health.probe, at(10));
    assert_eq!(first.deadline, at(50));
    let later = look(Some(&first.health), &n, None, at(50), timings());
    assert_eq!(later.conditions, None);
    assert_eq!(later.current_ready.as_deref(), Some("True"));
}

#[test]
fn a_node_silent_past_its_grace_period_becomes_unknown_with_pressures() {
    let n = node(vec![ready("True", 5)]);
    let first = look(None, &n, None, at(10), timings());
    let silent = look(Some(&first.health), &n, None, at(51), timings());
    let conditions = silent.conditions.expect("conditions written");
    let r = find(&conditions, "Ready");
    assert_eq!(r.status, "Unknown");
    assert_eq!(r.reason.as_deref(), Some("NodeStatusUnknown"));
    assert_eq!(
        r.message.as_deref(),
        Some("Kubelet stopped posting node status.")
    );
    assert_eq!(r.last_transition_time, Some(Time(at(51))));
    assert_eq!(r.last_heartbeat_time, Some(Time(at(5))));
    let memory = find(&conditions, "MemoryPressure");
    assert_eq!(memory.status, "Unknown");
    assert_eq!(memory.reason.as_deref(), Some("NodeStatusNeverUpdated"));
    assert_eq!(silent.observed_ready.as_deref(), Some("True"));
    assert_eq!(silent.current_ready.as_deref(), Some("Unknown"));
}

#[test]
fn lease_renewals_keep_a_node_alive_without_status_heartbeats() {
    let n = node(vec![ready("True", 5)]);
    let mut health = look(None, &n, Some(at(5)), at(10), timings()).health;
    for t in [30, 60, 90] {
        let l = look(Some(&health), &n, Some(at(t)), at(t + 1), timings());
        assert_eq!(l.conditions, None, "renewed at {t}");
        health = l.health;
    }
    let silent = look(Some(&health), &n, Some(at(90)), at(132), timings());
    assert!(silent.conditions.is_some());
}

#[test]
fn a_new_heartbeat_restarts_the_grace_period() {
    let first = look(None, &node(vec![ready("True", 5)]), None, at(10), timings());
    let beat = look(
        Some(&first.health),
        &node(vec![ready("True", 45)]),
        None,
        at(45),
        timings(),
    );
    assert_eq!(beat.health.probe, at(45));
    assert_eq!(beat.deadline, at(85));
}

#[test]
fn an_unknown_node_is_not_written_again() {
    let first = look(None, &node(vec![ready("True", 5)]), None, at(10), timings());
    let silent = look(
        Some(&first.health),
        &node(vec![ready("True", 5)]),
        None,
        at(60),
        timings(),
    );
    let written = node(silent.conditions.clone().unwrap());
    let again = look(Some(&silent.health), &written, None, at(70), timings());
    assert_eq!(again.conditions, None);
    assert_eq!(again.current_ready.as_deref(), Some("Unknown"));
}

#[test]
fn a_node_that_never_posted_status_gets_the_startup_grace_from_creation() {
    let n = node(Vec::new());
    let early = look(None, &n, None, at(59), timings());
    assert_eq!(early.conditions, None);
    let late = look(Some(&early.health), &n, None, at(61), timings());
    let conditions = late.conditions.expect("conditions written");
    let r = find(&conditions, "Ready");
    assert_eq!(r.reason.as_deref(), Some("NodeStatusNeverUpdated"));
    assert_eq!(
        r.message.as_deref(),
        Some("Kubelet never posted node status.")
    );
    assert_eq!(r.last_heartbeat_time, Some(Time(at(0))));
    assert_eq!(late.observed_ready, None);
}
