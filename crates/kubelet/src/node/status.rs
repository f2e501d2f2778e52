//! The Node object a node agent registers and the status it reports, computed without I/O.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::config::{go_arch, NodeConfig, INSTANCE_TYPE};

/// What the node's own checks found; the default is a healthy node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeHealth {
    /// Memory is short.
    pub memory_pressure: bool,
    /// Disk space or inodes are short.
    pub disk_pressure: bool,
    /// Process IDs are short.
    pub pid_pressure: bool,
    /// Why the node cannot run pods, when it cannot.
    pub not_ready: Option<String>,
}

/// The labels every node agent sets on its Node, as upstream's kubelet (and k3s's instance
/// type).
pub fn node_labels(config: &NodeConfig) -> BTreeMap<String, String> {
    let arch = go_arch().to_owned();
    let mut labels = BTreeMap::from([
        ("beta.kubernetes.io/arch".to_owned(), arch.clone()),
        ("beta.kubernetes.io/os".to_owned(), "linux".to_owned()),
        ("kubernetes.io/arch".to_owned(), arch),
        ("kubernetes.io/hostname".to_owned(), config.name.clone()),
        ("kubernetes.io/os".to_owned(), "linux".to_owned()),
        (
            "node.kubernetes.io/instance-type".to_owned(),
            INSTANCE_TYPE.to_owned(),
        ),
    ]);
    labels.extend(config.labels.clone());
    labels
}

/// The Node a node agent creates when it registers (its status is reported separately).
pub fn registration(config: &NodeConfig) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(config.name.clone()),
            labels: Some(node_labels(config)),
            annotations: Some(BTreeMap::from([(
                "volumes.kubernetes.io/controller-managed-attach-detach".to_owned(),
                "true".to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec::default()),
        status: None,
    }
}

/// The labels of `config` that `existing` lacks or holds with another value; `None` when it
/// carries them all (re-registration then writes nothing).
pub fn missing_labels(existing: &Node, config: &NodeConfig) -> Option<BTreeMap<String, String>> {
    let current = existing.metadata.labels.clone().unwrap_or_default();
    let missing: BTreeMap<_, _> = node_labels(config)
        .into_iter()
        .filter(|(k, v)| current.get(k) != Some(v))
        .collect();
    (!missing.is_empty()).then_some(missing)
}

/// One condition as the node agent states it: type, status, reason, message.
fn conditions(health: &NodeHealth) -> [(&'static str, bool, &'static str, String); 4] {
    let pressure =
        |on: bool, kind: &'static str, yes: (&'static str, &str), no: (&'static str, &str)| {
            let (reason, message) = if on { yes } else { no };
            (kind, on, reason, message.to_owned())
        };
    [
        pressure(
            health.memory_pressure,
            "MemoryPressure",
            (
                "KubeletHasInsufficientMemory",
                "kubelet has insufficient memory available",
            ),
            (
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
            ),
        ),
        pressure(
            health.disk_pressure,
            "DiskPressure",
            ("KubeletHasDiskPressure", "kubelet has disk pressure"),
            ("KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ),
        pressure(
            health.pid_pressure,
            "PIDPressure",
            (
                "KubeletHasInsufficientPID",
                "kubelet has insufficient PID available",
            ),
            (
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available",
            ),
        ),
        match &health.not_ready {
            None => (
                "Ready",
                true,
                "KubeletReady",
                "kubelet is posting ready status".to_owned(),
            ),
            Some(why) => ("Ready", false, "KubeletNotReady", why.clone()),
        },
    ]
}

/// The status the node agent reports at `now`: conditions heartbeat at `now` and keep their
/// `lastTransitionTime` from `current` while their status is unchanged.
pub fn desired_status(
    config: &NodeConfig,
    health: &NodeHealth,
    current: Option<&NodeStatus>,
    now: Timestamp,
) -> NodeStatus {
    let previous = current.and_then(|s| s.conditions.as_ref());
    let conditions = conditions(health)
        .into_iter()
        .map(|(kind, on, reason, message)| {
            let status = if on { "True" } else { "False" };
            let since = previous
                .and_then(|cs| cs.iter().find(|c| c.type_ == kind))
                .filter(|c| c.status == status)
                .and_then(|c| c.last_transition_time.clone())
                .unwrap_or(Time(now));
            NodeCondition {
                type_: kind.to_owned(),
                status: status.to_owned(),
                reason: Some(reason.to_owned()),
                message: Some(message),
                last_heartbeat_time: Some(Time(now)),
                last_transition_time: Some(since),
            }
        })
        .collect();
    NodeStatus {
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".to_owned(),
                address: config.internal_ip.to_string(),
            },
            NodeAddress {
                type_: "Hostname".to_owned(),
                address: config.name.clone(),
            },
        ]),
        allocatable: Some(config.allocatable.clone()),
        capacity: Some(config.capacity.clone()),
        conditions: Some(conditions),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint {
                port: config.kubelet_port,
            }),
        }),
        node_info: Some(config.node_info.clone()),
        phase: None,
        ..current.cloned().unwrap_or_default()
    }
}

/// `status` with every heartbeat time cleared, for comparing what a report would change.
fn without_heartbeats(status: &NodeStatus) -> NodeStatus {
    let mut status = status.clone();
    for c in status.conditions.iter_mut().flatten() {
        c.last_heartbeat_time = None;
    }
    status
}

/// Whether `desired` must be reported: it differs from `current` in more than heartbeat times,
/// or nothing was reported for `frequency`.
pub fn needs_report(
    current: Option<&NodeStatus>,
    desired: &NodeStatus,
    last_report: Option<Timestamp>,
    now: Timestamp,
    frequency: std::time::Duration,
) -> bool {
    let changed =
        current.is_none_or(|current| without_heartbeats(current) != without_heartbeats(desired));
    let frequency = SignedDuration::try_from(frequency).unwrap_or(SignedDuration::MAX);
    let stale = last_report.is_none_or(|at| now.duration_since(at) >= frequency);
    changed || stale
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
