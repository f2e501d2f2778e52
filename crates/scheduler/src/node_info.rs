//! A node with the pods on it (bound or assumed) and their aggregate requests.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Taint};

use crate::pod_info::{HostPort, PodInfo};
use crate::resources::Resources;
use crate::selectors::Labels;

/// One node as the scheduler sees it.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    /// The node.
    pub node: Arc<Node>,
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: Labels,
    /// `status.allocatable`.
    pub allocatable: Resources,
    /// The sum of the requests of its pods (`pods` counts them).
    pub requested: Resources,
    /// CPU and memory requested, counting upstream's defaults for pods that request none.
    pub non_zero_requested: (i64, i64),
    /// Its pods.
    pub pods: Vec<Arc<PodInfo>>,
    /// The pods with inter-pod affinity or anti-affinity terms (a subset of `pods`).
    pub pods_with_affinity: Vec<Arc<PodInfo>>,
    /// Host ports in use.
    pub used_ports: Vec<HostPort>,
}

impl NodeInfo {
    /// A node with no pods.
    pub fn new(node: Arc<Node>) -> Self {
        let mut info = Self {
            name: node.metadata.name.clone().unwrap_or_default(),
            labels: Labels::new(),
            allocatable: Resources::default(),
            requested: Resources::default(),
            non_zero_requested: (0, 0),
            pods: Vec::new(),
            pods_with_affinity: Vec::new(),
            used_ports: Vec::new(),
            node: Arc::clone(&node),
        };
        info.set_node(node);
        info
    }

    /// Replaces the node object, keeping the pods.
    pub fn set_node(&mut self, node: Arc<Node>) {
        self.labels = node.metadata.labels.clone().unwrap_or_default();
        self.allocatable = node
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref().or(s.capacity.as_ref()))
            .map(Resources::from_wire)
            .unwrap_or_default();
        self.node = node;
    }

    /// The node's taints.
    pub fn taints(&self) -> &[Taint] {
        self.node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_deref())
            .unwrap_or_default()
    }

    /// Whether `spec.unschedulable` is set (the node is cordoned).
    pub fn unschedulable(&self) -> bool {
        self.node
            .spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false)
    }

    /// Adds a pod and its requests.
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.requested.add(&pod.requests);
        self.requested.pods += 1;
        self.non_zero_requested.0 += pod.non_zero.0;
        self.non_zero_requested.1 += pod.non_zero.1;
        self.used_ports.extend(pod.host_ports.iter().cloned());
        if pod.has_affinity() {
            self.pods_with_affinity.push(Arc::clone(&pod));
        }
        self.pods.push(pod);
    }

    /// Removes the pod with `key`; whether it was there.
    pub fn remove_pod(&mut self, key: &str) -> bool {
        let Some(at) = self.pods.iter().position(|p| p.key == key) else {
            return false;
        };
        let pod = self.pods.swap_remove(at);
        self.pods_with_affinity.retain(|p| p.key != key);
        self.requested.sub(&pod.requests);
        self.requested.pods -= 1;
        self.non_zero_requested.0 -= pod.non_zero.0;
        self.non_zero_requested.1 -= pod.non_zero.1;
        for port in &pod.host_ports {
            if let Some(i) = self.used_ports.iter().position(|p| p == port) {
                self.used_ports.swap_remove(i);
            }
        }
        true
    }
}
