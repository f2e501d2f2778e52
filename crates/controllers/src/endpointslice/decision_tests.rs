//! EndpointSlices from a Service's pods, and the fewest writes to get there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::*;
use crate::endpoint::pods::tests::{pod, service};

fn web() -> Service {
    service(json!([{"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"}]))
}

fn pods(n: usize) -> Vec<Pod> {
    (0..n)
        .map(|i| {
            pod(
                &format!("p{i}"),
                Some(&format!("10.0.{}.{}", i / 250, i % 250)),
                true,
            )
        })
        .collect()
}

fn plan_for(svc: &Service, pods: &[Pod], existing: &[EndpointSlice]) -> Plan {
    let refs: Vec<&Pod> = pods.iter().collect();
    let desired = desired_endpoints(svc, &refs, &BTreeMap::new());
    plan(svc, desired, existing, None)
}

/// The slices `plan` creates, given names, as if stored.
fn stored(plan: &Plan) -> Vec<EndpointSlice> {
    plan.create
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut s = s.clone();
            s.metadata.name = Some(format!("web-{i}"));
            s
        })
        .collect()
}

#[test]
fn a_new_slice_is_owned_labelled_and_holds_the_resolved_ports() {
    let plan = plan_for(&web(), &pods(2), &[]);
    assert_eq!(plan.create.len(), 1);
    let slice = &plan.create[0];
    assert_eq!(slice.metadata.generate_name.as_deref(), Some("web-"));
    assert_eq!(slice.address_type, "IPv4");
    let labels = slice.labels();
    assert_eq!(labels[SERVICE_NAME], "web");
    assert_eq!(labels[MANAGED_BY], CONTROLLER_NAME);
    let owner = &slice.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("Service", "uid-svc")
    );
    assert_eq!(owner.controller, Some(true));
    assert_eq!(slice.ports.as_ref().unwrap()[0].port, Some(8080));
    assert_eq!(slice.endpoints.len(), 2);
}

#[test]
fn endpoint_conditions_follow_readiness_and_termination() {
    let svc = web();
    let mut terminating = pod("t", Some("10.0.0.9"), true);
    terminating.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
        ));
    let not_ready = pod("n", Some("10.0.0.8"), false);
    let mut placed = pod("r", Some("10.0.0.7"), true);
    placed.spec.as_mut().unwrap().node_name = Some("node-1".to_owned());
    let zones = BTreeMap::from([("node-1".to_owned(), "zone-a".to_owned())]);
    let desired = desired_endpoints(&svc, &[&terminating, &not_ready, &placed], &zones);
    let eps = desired.values().next().unwrap();
    let cond = |ip: &str| {
        let c = eps[ip].conditions.clone().unwrap();
        (c.ready.unwrap(), c.serving.unwrap(), c.terminating.unwrap())
    };
    assert_eq!(cond("10.0.0.9"), (false, true, true));
    assert_eq!(cond("10.0.0.8"), (false, false, false));
    assert_eq!(cond("10.0.0.7"), (true, true, false));
    assert_eq!(eps["10.0.0.7"].zone.as_deref(), Some("zone-a"));
    assert_eq!(eps["10.0.0.7"].node_name.as_deref(), Some("node-1"));
}

#[test]
fn more_than_a_hundred_endpoints_spread_over_slices() {
    let plan = plan_for(&web(), &pods(250), &[]);
    let sizes: Vec<usize> = plan.create.iter().map(|s| s.endpoints.len()).collect();
    assert_eq!(sizes, vec![100, 100, 50]);
}

#[test]
fn unchanged_pods_need_no_writes() {
    let all = pods(3);
    let existing = stored(&plan_for(&web(), &all, &[]));
    assert!(plan_for(&web(), &all, &existing).is_empty());
}

#[test]
fn a_pod_turning_not_ready_updates_only_its_slice() {
    let mut all = pods(150);
    let existing = stored(&plan_for(&web(), &all, &[]));
    all[120] = pod("p120", Some("10.0.0.120"), false);
    let plan = plan_for(&web(), &all, &existing);
    assert!(plan.create.is_empty() && plan.delete.is_empty());
    assert_eq!(plan.update.len(), 1);
    let ep = plan.update[0]
        .endpoints
        .iter()
        .find(|e| e.addresses[0] == "10.0.0.120")
        .unwrap();
    assert_eq!(ep.conditions.as_ref().unwrap().ready, Some(false));
}

#[test]
fn new_endpoints_fill_existing_slices_before_new_ones_are_made() {
    let existing = stored(&plan_for(&web(), &pods(10), &[]));
    let plan = plan_for(&web(), &pods(20), &existing);
    assert!(plan.create.is_empty());
    assert_eq!(plan.update.len(), 1);
    assert_eq!(plan.update[0].endpoints.len(), 20);
}

#[test]
fn a_service_without_endpoints_keeps_one_empty_placeholder_slice() {
    let existing = stored(&plan_for(&web(), &pods(2), &[]));
    let plan = plan_for(&web(), &[], &existing);
    assert_eq!(plan.delete, vec!["web-0".to_owned()]);
    assert_eq!(plan.create.len(), 1);
    assert!(plan.create[0].endpoints.is_empty());
    assert!(plan.create[0].ports.as_ref().unwrap().is_empty());
    let placeholder = stored(&plan);
    assert!(plan_for(&web(), &[], &placeholder).is_empty());
}

#[test]
fn pods_without_an_ip_are_skipped() {
    let plan = plan_for(&web(), &[pod("a", None, true)], &[]);
    assert_eq!(plan.create.len(), 1);
    assert!(plan.create[0].endpoints.is_empty());
}
