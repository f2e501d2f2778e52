use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, NodeSystemInfo};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::node::config::{simulated_capacity, KUBELET_PORT};

fn config() -> NodeConfig {
    NodeConfig {
        name: "sim-1".to_owned(),
        labels: BTreeMap::from([("type".to_owned(), "sim".to_owned())]),
        capacity: simulated_capacity(),
        allocatable: simulated_capacity(),
        internal_ip: "10.0.0.2".parse().unwrap(),
        node_info: NodeSystemInfo::default(),
        kubelet_port: KUBELET_PORT,
    }
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + second).unwrap()
}

#[test]
fn registration_carries_the_well_known_labels() {
    let node = registration(&config());
    let labels = node.metadata.labels.unwrap();
    assert_eq!(labels["kubernetes.io/hostname"], "sim-1");
    assert_eq!(labels["kubernetes.io/os"], "linux");
    assert_eq!(labels["kubernetes.io/arch"], go_arch());
    assert_eq!(labels["node.kubernetes.io/instance-type"], "rudder");
    assert_eq!(labels["type"], "sim");
}

#[test]
fn missing_labels_are_only_those_absent_or_different() {
    let mut existing = Node {
        metadata: ObjectMeta {
            labels: Some(node_labels(&config())),
            ..ObjectMeta::default()
        },
        ..Node::default()
    };
    assert_eq!(missing_labels(&existing, &config()), None);
    let labels = existing.metadata.labels.as_mut().unwrap();
    labels.insert("type".to_owned(), "other".to_owned());
    labels.insert("extra".to_owned(), "kept".to_owned());
    assert_eq!(
        missing_labels(&existing, &config()),
        Some(BTreeMap::from([("type".to_owned(), "sim".to_owned())]))
    );
}

#[test]
fn healthy_node_reports_upstream_conditions_in_order() {
    let status = desired_status(&config(), &NodeHealth::default(), None, at(0));
    let conditions = status.conditions.unwrap();
    let summary: Vec<_> = conditions
        .iter()
        .map(|c| {
            (
                c.type_.as_str(),
                c.status.as_str(),
                c.reason.as_deref().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("MemoryPressure", "False", "KubeletHasSufficientMemory"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID"),
            ("Ready", "True", "KubeletReady"),
        ]
    );
    assert_eq!(
        conditions[3].message.as_deref(),
        Some("kubelet is posting ready status")
    );
    let addresses = status.addresses.unwrap();
    assert_eq!(addresses[0].type_, "InternalIP");
    assert_eq!(addresses[0].address, "10.0.0.2");
    assert_eq!(status.capacity.unwrap()["pods"].0, "110");
    assert_eq!(
        status
            .daemon_endpoints
            .unwrap()
            .kubelet_endpoint
            .unwrap()
            .port,
        10250
    );
}

#[test]
fn unchanged_conditions_keep_their_transition_time_and_move_their_heartbeat() {
    let first = desired_status(&config(), &NodeHealth::default(), None, at(0));
    let second = desired_status(&config(), &NodeHealth::default(), Some(&first), at(10));
    let ready = &second.conditions.unwrap()[3];
    assert_eq!(ready.last_transition_time, Some(Time(at(0))));
    assert_eq!(ready.last_heartbeat_time, Some(Time(at(10))));
}

#[test]
fn a_changed_condition_transitions_now() {
    let first = desired_status(&config(), &NodeHealth::default(), None, at(0));
    let sick = NodeHealth {
        not_ready: Some("container runtime is down".to_owned()),
        ..NodeHealth::default()
    };
    let second = desired_status(&config(), &sick, Some(&first), at(10));
    let ready = &second.conditions.unwrap()[3];
    assert_eq!(ready.status, "False");
    assert_eq!(ready.reason.as_deref(), Some("KubeletNotReady"));
    assert_eq!(ready.last_transition_time, Some(Time(at(10))));
}

#[test]
fn a_report_is_due_on_change_or_after_the_report_frequency_only() {
    let every = Duration::from_secs(300);
    let reported = desired_status(&config(), &NodeHealth::default(), None, at(0));
    let later = desired_status(&config(), &NodeHealth::default(), Some(&reported), at(10));
    assert!(needs_report(None, &later, None, at(10), every));
    assert!(!needs_report(
        Some(&reported),
        &later,
        Some(at(0)),
        at(10),
        every
    ));
    assert!(needs_report(
        Some(&reported),
        &later,
        Some(at(0)),
        at(300),
        every
    ));
    let mut unknown = reported.clone();
    unknown.conditions.as_mut().unwrap()[3].status = "Unknown".to_owned();
    let fixed = desired_status(&config(), &NodeHealth::default(), Some(&unknown), at(10));
    assert!(needs_report(
        Some(&unknown),
        &fixed,
        Some(at(0)),
        at(10),
        every
    ));
}
