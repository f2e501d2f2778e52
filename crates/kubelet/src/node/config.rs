//! What a node agent says about its node: name, labels, capacity, addresses, system info, and
//! the timings of its heartbeats.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use k8s_openapi::api::core::v1::NodeSystemInfo;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// The Kubernetes version node agents report, the API server's.
pub const KUBELET_VERSION: &str = "v1.33.0";
/// The port upstream's kubelet serves its API on, reported in `daemonEndpoints`.
pub const KUBELET_PORT: i32 = 10250;
/// The instance type the node reports, as k3s reports `k3s` from its built-in cloud provider.
pub const INSTANCE_TYPE: &str = "rudder";

/// The identity and resources of one node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConfig {
    /// The Node's name, also its `kubernetes.io/hostname` label.
    pub name: String,
    /// Labels beyond the well-known ones every node agent sets.
    pub labels: BTreeMap<String, String>,
    /// What the node has (`cpu`, `memory`, `pods`, …).
    pub capacity: BTreeMap<String, Quantity>,
    /// What pods may use of it.
    pub allocatable: BTreeMap<String, Quantity>,
    /// The node's `InternalIP`.
    pub internal_ip: IpAddr,
    /// `status.nodeInfo`.
    pub node_info: NodeSystemInfo,
    /// The kubelet port reported in `status.daemonEndpoints`.
    pub kubelet_port: i32,
}

/// The architecture as Go names it (`amd64`, `arm64`), which is what Kubernetes reports.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The resources a simulated node reports by default, as kwok's: 32 CPUs, 256 GiB of memory,
/// 110 pods, and 1 TiB of ephemeral storage.
pub fn simulated_capacity() -> BTreeMap<String, Quantity> {
    [
        ("cpu", "32"),
        ("ephemeral-storage", "1Ti"),
        ("hugepages-1Gi", "0"),
        ("hugepages-2Mi", "0"),
        ("memory", "256Gi"),
        ("pods", "110"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Quantity(v.to_owned())))
    .collect()
}

/// How often a node agent proves it is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeTimings {
    /// The Lease's `leaseDurationSeconds` (upstream: 40 s); it is renewed every quarter of it.
    pub lease_duration: Duration,
    /// How often an unchanged node status is reported anyway (upstream's
    /// `nodeStatusReportFrequency`, 5 minutes).
    pub status_report_frequency: Duration,
}

impl Default for NodeTimings {
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(40),
            status_report_frequency: Duration::from_secs(300),
        }
    }
}

impl NodeTimings {
    /// How often the Lease is renewed and the status checked: a quarter of the lease duration
    /// (upstream: 10 s of 40 s).
    pub fn renew_interval(&self) -> Duration {
        self.lease_duration / 4
    }

    /// `leaseDurationSeconds`, at least 1.
    pub fn lease_duration_seconds(&self) -> i32 {
        i32::try_from(self.lease_duration.as_secs().max(1)).unwrap_or(i32::MAX)
    }
}
