//! NodePorts: a pod's host ports must be free on the node.

use crate::cache::Snapshot;
use crate::framework::{CycleState, Filter, Plugin, PreFilter, PreFilterResult, Status};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

/// Upstream's reason.
pub const REASON: &str = "node(s) didn't have free ports for the requested pod ports";

/// The NodePorts plugin.
#[derive(Debug, Default)]
pub struct NodePorts;

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        "NodePorts"
    }
}

impl PreFilter for NodePorts {
    fn pre_filter(
        &self,
        _: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot<'_>,
    ) -> Result<PreFilterResult, Status> {
        if pod.host_ports.is_empty() {
            return Err(Status::skip());
        }
        Ok(PreFilterResult::default())
    }
}

impl Filter for NodePorts {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let clash = pod
            .host_ports
            .iter()
            .any(|want| node.used_ports.iter().any(|used| used.conflicts(want)));
        if clash {
            Status::unschedulable(self.name(), REASON)
        } else {
            Status::success()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use k8s_openapi::api::core::v1::ContainerPort;

    use super::*;
    use crate::testing::{node, pod, with_spec};

    fn with_host_port(name: &str, port: i32) -> PodInfo {
        PodInfo::new(Arc::new(with_spec(pod(name, "", ""), |s| {
            s.containers[0].ports = Some(vec![ContainerPort {
                container_port: 80,
                host_port: Some(port),
                ..ContainerPort::default()
            }]);
        })))
    }

    #[test]
    fn host_port_in_use_on_the_node_rejects_the_pod() {
        let mut n = NodeInfo::new(Arc::new(node("a", "1", "1Gi")));
        n.add_pod(Arc::new(with_host_port("old", 8080)));
        let state = CycleState::new();
        assert_eq!(
            NodePorts
                .filter(&state, &with_host_port("new", 8080), &n)
                .reasons,
            vec![REASON.to_owned()]
        );
        assert!(NodePorts
            .filter(&state, &with_host_port("other", 8081), &n)
            .is_success());
    }
}
