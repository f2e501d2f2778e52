//! Reading pods for endpoints.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::api::core::v1::{Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;

use super::*;

pub(crate) fn pod(name: &str, ip: Option<&str>, ready: bool) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"),
                     "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "ports": [
            {"name": "http", "containerPort": 8080, "protocol": "TCP"},
            {"name": "dns", "containerPort": 5353, "protocol": "UDP"}]}]},
        "status": {"podIP": ip, "phase": "Running", "conditions": [
            {"type": "Ready", "status": if ready { "True" } else { "False" },
             "lastTransitionTime": "2024-01-01T00:00:00Z"}]}
    }))
    .unwrap()
}

pub(crate) fn service(ports: serde_json::Value) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "shop", "uid": "uid-svc",
                     "creationTimestamp": "2023-01-01T00:00:00Z"},
        "spec": {"selector": {"app": "web"}, "ports": ports, "clusterIP": "10.43.0.10"}
    }))
    .unwrap()
}

fn port(target: IntOrString, protocol: &str) -> ServicePort {
    ServicePort {
        port: 80,
        target_port: Some(target),
        protocol: Some(protocol.to_owned()),
        ..ServicePort::default()
    }
}

#[test]
fn a_named_target_port_resolves_to_the_container_port_of_that_name_and_protocol() {
    let p = pod("a", Some("10.0.0.1"), true);
    let http = IntOrString::String("http".to_owned());
    assert_eq!(target_port(&p, &port(http.clone(), "TCP")), Some(8080));
    assert_eq!(target_port(&p, &port(http, "UDP")), None);
    let dns = IntOrString::String("dns".to_owned());
    assert_eq!(target_port(&p, &port(dns, "UDP")), Some(5353));
    assert_eq!(
        target_port(&p, &port(IntOrString::Int(9000), "TCP")),
        Some(9000)
    );
}

#[test]
fn a_service_selects_pods_holding_every_selector_label_in_its_namespace() {
    let svc = service(json!([]));
    let mut p = pod("a", None, true);
    assert!(selects(&svc, &p));
    p.metadata.namespace = Some("other".to_owned());
    assert!(!selects(&svc, &p));
    let mut p = pod("b", None, true);
    p.metadata.labels = Some([("app".to_owned(), "db".to_owned())].into());
    assert!(!selects(&svc, &p));
}

#[test]
fn pods_without_an_ip_or_finished_are_not_endpoints() {
    assert!(!belongs_in_endpoints(&pod("a", None, true), true));
    assert!(belongs_in_endpoints(
        &pod("a", Some("10.0.0.1"), false),
        false
    ));
    let mut done = pod("b", Some("10.0.0.2"), false);
    done.status.as_mut().unwrap().phase = Some("Succeeded".to_owned());
    assert!(!belongs_in_endpoints(&done, true));
}

#[test]
fn terminating_pods_are_endpoints_only_when_asked_for() {
    let mut p = pod("a", Some("10.0.0.1"), true);
    p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
    ));
    assert!(!belongs_in_endpoints(&p, false));
    assert!(belongs_in_endpoints(&p, true));
}

#[test]
fn a_pod_naming_the_service_as_subdomain_gets_its_hostname() {
    let svc = service(json!([]));
    let mut p = pod("a", Some("10.0.0.1"), true);
    assert_eq!(hostname(&p, &svc), None);
    let spec = p.spec.as_mut().unwrap();
    spec.hostname = Some("a-host".to_owned());
    spec.subdomain = Some("web".to_owned());
    assert_eq!(hostname(&p, &svc), Some("a-host"));
}

#[test]
fn the_trigger_time_is_the_latest_readiness_change_or_the_service_creation() {
    let svc = service(json!([]));
    let p = pod("a", Some("10.0.0.1"), true);
    let at = trigger_time(&svc, &[&p]).unwrap();
    assert_eq!(at.to_string(), "2024-01-01T00:00:00Z");
    assert_eq!(
        trigger_time(&svc, &[]).unwrap().to_string(),
        "2023-01-01T00:00:00Z"
    );
}
