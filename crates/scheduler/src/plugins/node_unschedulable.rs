//! NodeUnschedulable: cordoned nodes (`spec.unschedulable`) take only pods that tolerate the
//! `node.kubernetes.io/unschedulable:NoSchedule` taint.

use k8s_openapi::api::core::v1::Taint;

use super::helpers::tolerated;
use crate::framework::{CycleState, Filter, Plugin, Status};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

/// Upstream's reason.
pub const REASON: &str = "node(s) were unschedulable";

/// The NodeUnschedulable plugin.
#[derive(Debug, Default)]
pub struct NodeUnschedulable;

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        "NodeUnschedulable"
    }
}

impl Filter for NodeUnschedulable {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if !node.unschedulable() {
            return Status::success();
        }
        let taint = Taint {
            key: "node.kubernetes.io/unschedulable".to_owned(),
            effect: "NoSchedule".to_owned(),
            ..Taint::default()
        };
        let tolerations = pod
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or_default();
        if tolerated(tolerations, &taint) {
            Status::success()
        } else {
            Status::unresolvable(self.name(), REASON)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use k8s_openapi::api::core::v1::Toleration;

    use super::*;
    use crate::testing::{node, pod, with_node_spec, with_spec};

    #[test]
    fn cordoned_node_rejects_pods_unless_they_tolerate_it() {
        let cordoned = NodeInfo::new(Arc::new(with_node_spec(node("a", "1", "1Gi"), |s| {
            s.unschedulable = Some(true)
        })));
        let state = CycleState::new();
        let plain = PodInfo::new(Arc::new(pod("p", "", "")));
        assert_eq!(
            NodeUnschedulable.filter(&state, &plain, &cordoned).reasons,
            vec![REASON.to_owned()]
        );
        let tolerant = PodInfo::new(Arc::new(with_spec(pod("t", "", ""), |s| {
            s.tolerations = Some(vec![Toleration {
                key: Some("node.kubernetes.io/unschedulable".to_owned()),
                operator: Some("Exists".to_owned()),
                ..Toleration::default()
            }])
        })));
        assert!(NodeUnschedulable
            .filter(&state, &tolerant, &cordoned)
            .is_success());
    }
}
