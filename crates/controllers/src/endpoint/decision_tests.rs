//! The Endpoints a Service's pods make.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use super::*;
use crate::endpoint::pods::tests::{pod, service};

fn ips(addresses: &Option<Vec<EndpointAddress>>) -> Vec<&str> {
    addresses.iter().flatten().map(|a| a.ip.as_str()).collect()
}

#[test]
fn ready_and_not_ready_pods_fill_addresses_and_not_ready_addresses() {
    let svc =
        service(json!([{"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"}]));
    let (a, b, c) = (
        pod("a", Some("10.0.0.1"), true),
        pod("b", Some("10.0.0.2"), false),
        pod("c", None, true),
    );
    let subsets = subsets(&svc, &[&a, &b, &c]);
    assert_eq!(subsets.len(), 1);
    assert_eq!(ips(&subsets[0].addresses), vec!["10.0.0.1"]);
    assert_eq!(ips(&subsets[0].not_ready_addresses), vec!["10.0.0.2"]);
    let ports = subsets[0].ports.clone().unwrap();
    assert_eq!(ports[0].port, 8080, "the named target port, resolved");
    assert_eq!(ports[0].name.as_deref(), Some("web"));
    let target = subsets[0].addresses.as_ref().unwrap()[0]
        .target_ref
        .clone()
        .unwrap();
    assert_eq!(target.kind.as_deref(), Some("Pod"));
    assert_eq!(target.uid.as_deref(), Some("uid-a"));
}

#[test]
fn publish_not_ready_addresses_lists_every_pod_as_ready() {
    let mut svc = service(json!([{"port": 80, "targetPort": 8080}]));
    svc.spec.as_mut().unwrap().publish_not_ready_addresses = Some(true);
    let b = pod("b", Some("10.0.0.2"), false);
    let subsets = subsets(&svc, &[&b]);
    assert_eq!(ips(&subsets[0].addresses), vec!["10.0.0.2"]);
    assert!(subsets[0].not_ready_addresses.is_none());
}

#[test]
fn ports_served_by_the_same_addresses_share_a_subset() {
    let svc = service(json!([
        {"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"},
        {"name": "alt", "port": 81, "targetPort": 9090, "protocol": "TCP"}
    ]));
    let (a, b) = (
        pod("a", Some("10.0.0.1"), true),
        pod("b", Some("10.0.0.2"), true),
    );
    let subsets = subsets(&svc, &[&a, &b]);
    assert_eq!(subsets.len(), 1);
    assert_eq!(subsets[0].ports.as_ref().unwrap().len(), 2);
}

#[test]
fn a_headless_service_without_ports_lists_addresses_without_ports() {
    let mut svc = service(json!([]));
    svc.spec.as_mut().unwrap().cluster_ip = Some("None".to_owned());
    let a = pod("a", Some("10.0.0.1"), true);
    let subsets = subsets(&svc, &[&a]);
    assert_eq!(ips(&subsets[0].addresses), vec!["10.0.0.1"]);
    assert!(subsets[0].ports.is_none());
    assert_eq!(labels(&svc).get(HEADLESS).map(String::as_str), Some(""));
}

#[test]
fn endpoints_are_written_only_when_they_change() {
    let svc = service(json!([{"port": 80, "targetPort": 8080}]));
    let a = pod("a", Some("10.0.0.1"), true);
    let first = desired(&svc, &[&a], None).unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("web"));
    assert_eq!(
        first.annotations().get(TRIGGER_TIME).map(String::as_str),
        Some("2024-01-01T00:00:00Z")
    );
    assert!(desired(&svc, &[&a], Some(&first)).is_none());
    let not_ready = pod("a", Some("10.0.0.1"), false);
    assert!(desired(&svc, &[&not_ready], Some(&first)).is_some());
}

#[test]
fn services_without_a_selector_are_left_alone() {
    let mut svc = service(json!([{"port": 80}]));
    svc.spec.as_mut().unwrap().selector = None;
    assert!(desired(&svc, &[], None).is_none());
}
