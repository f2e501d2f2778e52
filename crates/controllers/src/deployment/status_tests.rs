//! Status counts and conditions.
#![allow(clippy::unwrap_used)]

use k8s_openapi::api::apps::v1::DeploymentCondition;

use super::super::fixtures::{deployment, set_image, Sim};

fn condition(sim: &Sim, type_: &str) -> DeploymentCondition {
    let conditions = sim.d.status.as_ref().unwrap().conditions.clone().unwrap();
    conditions.into_iter().find(|c| c.type_ == type_).unwrap()
}

#[test]
fn completed_rollout_is_available_and_has_successfully_progressed() {
    let mut sim = Sim::new(deployment(3, "25%", "25%", "v1"));
    sim.settle(20, |_| {});
    let rs = sim.rs_of("v1").unwrap().metadata.name.clone().unwrap();
    let available = condition(&sim, "Available");
    assert_eq!(
        (available.status.as_str(), available.reason.as_deref()),
        ("True", Some("MinimumReplicasAvailable"))
    );
    assert_eq!(
        available.message.as_deref(),
        Some("Deployment has minimum availability.")
    );
    let progressing = condition(&sim, "Progressing");
    assert_eq!(
        progressing.reason.as_deref(),
        Some("NewReplicaSetAvailable")
    );
    assert_eq!(
        progressing.message,
        Some(format!("ReplicaSet \"{rs}\" has successfully progressed."))
    );
    let status = sim.d.status.clone().unwrap();
    assert_eq!(
        (status.observed_generation, status.unavailable_replicas),
        (Some(1), Some(0))
    );
}

#[test]
fn new_deployment_reports_the_created_replica_set_and_minimum_unavailability() {
    let mut sim = Sim::new(deployment(3, "25%", "25%", "v1"));
    sim.sync();
    let rs = sim.rs_of("v1").unwrap().metadata.name.clone().unwrap();
    let progressing = condition(&sim, "Progressing");
    assert_eq!(progressing.reason.as_deref(), Some("NewReplicaSetCreated"));
    assert_eq!(
        progressing.message,
        Some(format!("Created new replica set \"{rs}\""))
    );
    let available = condition(&sim, "Available");
    assert_eq!(
        (available.status.as_str(), available.reason.as_deref()),
        ("False", Some("MinimumReplicasUnavailable"))
    );
    assert_eq!(sim.d.status.as_ref().unwrap().unavailable_replicas, Some(3));
}

#[test]
fn a_stalled_rollout_exceeds_its_progress_deadline() {
    let mut sim = Sim::new(deployment(2, "1", "0", "v1"));
    sim.settle(20, |_| {});
    set_image(&mut sim.d, "v2");
    let plan = sim.sync();
    assert!(plan.requeue.is_some(), "the deadline is watched");
    // No pod of v2 ever becomes ready.
    sim.now += 601;
    sim.sync();
    let progressing = condition(&sim, "Progressing");
    assert_eq!(
        (progressing.status.as_str(), progressing.reason.as_deref()),
        ("False", Some("ProgressDeadlineExceeded"))
    );
    let rs = sim.rs_of("v2").unwrap().metadata.name.clone().unwrap();
    assert_eq!(
        progressing.message,
        Some(format!("ReplicaSet \"{rs}\" has timed out progressing."))
    );
}
