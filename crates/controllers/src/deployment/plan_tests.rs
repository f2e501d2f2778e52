//! Whole syncs: what is written, and when nothing is.
#![allow(clippy::unwrap_used)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::super::fixtures::{deployment, t, Sim};
use super::*;

#[test]
fn a_settled_deployment_needs_no_writes() {
    let mut sim = Sim::new(deployment(3, "25%", "25%", "v1"));
    sim.settle(20, |_| {});
    let plan = sim.sync();
    assert!(plan.writes.is_empty() && plan.status.is_none() && plan.revision.is_none());
}

#[test]
fn an_empty_selector_is_refused_with_a_warning() {
    let mut d = deployment(3, "25%", "25%", "v1");
    d.spec.as_mut().unwrap().selector = LabelSelector::default();
    let plan = sync(Input {
        deployment: d,
        replica_sets: Vec::new(),
        pods: Vec::new(),
        now: t(0),
    });
    assert!(plan.writes.is_empty());
    assert_eq!(plan.notes[0].reason, "SelectingAll");
}

#[test]
fn scaling_writes_each_replica_set_once_with_its_events() {
    let mut sim = Sim::new(deployment(3, "25%", "25%", "v1"));
    sim.settle(20, |_| {});
    super::super::fixtures::set_replicas(&mut sim.d, 5);
    let plan = sim.sync();
    assert_eq!(plan.writes.len(), 1);
    let (write, notes) = &plan.writes[0];
    assert!(matches!(write, Write::Update(_)));
    assert!(
        notes[0].message.starts_with("Scaled up replica set web-"),
        "{}",
        notes[0].message
    );
    assert!(notes[0].message.ends_with(" from 3 to 5"));
}
