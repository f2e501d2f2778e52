//! The ReplicaSet decisions: counts, batches and status.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::*;
use crate::workload::pod::next_availability_check;

fn t(secs: i64) -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_secs(1_000_000 + secs)
}

fn pod(name: &str, ready_at: Option<i64>) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            uid: Some(name.to_owned()),
            labels: Some(BTreeMap::from([("app".to_owned(), "web".to_owned())])),
            ..ObjectMeta::default()
        },
        spec: None,
        status: Some(PodStatus {
            phase: Some("Running".to_owned()),
            conditions: ready_at.map(|at| {
                vec![PodCondition {
                    type_: "Ready".to_owned(),
                    status: "True".to_owned(),
                    last_transition_time: Some(Time(t(at))),
                    ..PodCondition::default()
                }]
            }),
            ..PodStatus::default()
        }),
    }
}

fn names(pods: &[&Pod]) -> Vec<String> {
    pods.iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect()
}

#[test]
fn exact_count_means_creating_or_deleting_the_difference() {
    let pods: Vec<Pod> = (0..3).map(|i| pod(&format!("p{i}"), Some(0))).collect();
    let cases = [
        (5, Some(2usize), None),
        (3, None, None),
        (1, None, Some(2usize)),
        (0, None, Some(3)),
    ];
    for (desired, create, delete) in cases {
        match manage(desired, &pods, &pods, t(10)) {
            Manage::Create(n) => assert_eq!(Some(n), create, "desired {desired}"),
            Manage::Delete(d) => assert_eq!(Some(d.len()), delete, "desired {desired}"),
            Manage::Nothing => assert!(create.is_none() && delete.is_none(), "desired {desired}"),
        }
    }
}

#[test]
fn scale_down_deletes_not_ready_pods_first() {
    let pods = vec![
        pod("ready", Some(0)),
        pod("starting", None),
        pod("ready2", Some(0)),
    ];
    let Manage::Delete(chosen) = manage(2, &pods, &pods, t(10)) else {
        panic!("expected a delete");
    };
    assert_eq!(names(&chosen), vec!["starting"]);
}

#[test]
fn creates_and_deletes_are_capped_at_the_burst() {
    assert_eq!(
        manage(10_000, &[], &[], t(0)),
        Manage::Create(BURST_REPLICAS)
    );
}

#[test]
fn status_counts_labeled_ready_and_available_pods() {
    let mut unlabeled = pod("c", Some(0));
    unlabeled.metadata.labels = None;
    let pods = vec![
        pod("a", Some(0)),
        pod("b", None),
        unlabeled,
        pod("d", Some(8)),
    ];
    let labels = BTreeMap::from([("app".to_owned(), "web".to_owned())]);
    let s = status(&ReplicaStatus::default(), 4, &labels, 5, &pods, None, t(10));
    assert_eq!(
        (
            s.replicas,
            s.fully_labeled_replicas,
            s.ready_replicas,
            s.available_replicas
        ),
        (4, 3, 3, 2)
    );
    assert_eq!(s.observed_generation, 4);
    assert_eq!(s.failure, None);
}

#[test]
fn replica_failure_keeps_its_transition_time_while_it_lasts_and_clears_after() {
    let failure = Failure {
        reason: "FailedCreate".to_owned(),
        message: "quota".to_owned(),
    };
    let labels = BTreeMap::new();
    let first = status(
        &ReplicaStatus::default(),
        1,
        &labels,
        0,
        &[],
        Some(&failure),
        t(1),
    );
    let again = status(&first, 1, &labels, 0, &[], Some(&failure), t(9));
    assert_eq!(again.failure.as_ref().map(|f| f.2), Some(t(1)));
    assert_eq!(again.to_json()["conditions"][0]["type"], "ReplicaFailure");
    let cleared = status(&again, 1, &labels, 0, &[], None, t(10));
    assert_eq!(cleared.failure, None);
    assert!(cleared.to_json()["conditions"].is_null());
}

#[test]
fn ready_pods_are_checked_again_when_they_become_available() {
    let pods = vec![pod("a", Some(0)), pod("b", Some(6)), pod("c", None)];
    assert_eq!(
        next_availability_check(&pods, 10, t(8)),
        Some(std::time::Duration::from_secs(3))
    );
    assert_eq!(next_availability_check(&pods, 0, t(8)), None);
}
