//! NodeName: a pod that names a node fits only that node.

use crate::framework::{CycleState, Filter, Plugin, Status};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

/// Upstream's reason.
pub const REASON: &str = "node(s) didn't match the requested node name";

/// The NodeName plugin.
#[derive(Debug, Default)]
pub struct NodeName;

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        "NodeName"
    }
}

impl Filter for NodeName {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        match pod.node_name() {
            "" => Status::success(),
            name if name == node.name => Status::success(),
            _ => Status::unresolvable(self.name(), REASON),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::testing::{node, pod, with_spec};

    #[test]
    fn pod_naming_a_node_fits_only_that_node() {
        let p = PodInfo::new(Arc::new(with_spec(pod("p", "", ""), |s| {
            s.node_name = Some("a".to_owned())
        })));
        let state = CycleState::new();
        let a = NodeInfo::new(Arc::new(node("a", "1", "1Gi")));
        let b = NodeInfo::new(Arc::new(node("b", "1", "1Gi")));
        assert!(NodeName.filter(&state, &p, &a).is_success());
        assert_eq!(
            NodeName.filter(&state, &p, &b).reasons,
            vec![REASON.to_owned()]
        );
    }
}
