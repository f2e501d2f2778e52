//! NodeResourcesBalancedAllocation: prefers nodes whose CPU and memory would be used in equal
//! proportions with the pod on them.

use crate::framework::{CycleState, Plugin, Score, MAX_NODE_SCORE};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

/// The NodeResourcesBalancedAllocation plugin.
#[derive(Debug, Default)]
pub struct BalancedAllocation;

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        "NodeResourcesBalancedAllocation"
    }
}

impl Score for BalancedAllocation {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let fraction = |resource: &str| {
            let requested = node.requested.get(resource) + pod.requests.get(resource);
            let capacity = node.allocatable.get(resource);
            if capacity == 0 {
                None
            } else {
                Some((requested as f64 / capacity as f64).min(1.0))
            }
        };
        let fractions: Vec<f64> = ["cpu", "memory"]
            .iter()
            .filter_map(|r| fraction(r))
            .collect();
        let std = match fractions.as_slice() {
            [a, b] => ((a - b) / 2.0).abs(),
            _ => 0.0,
        };
        ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::testing::{node, pod};

    #[test]
    fn equal_cpu_and_memory_shares_score_highest() {
        let n = NodeInfo::new(Arc::new(node("a", "4", "4Gi")));
        let state = CycleState::new();
        let balanced = PodInfo::new(Arc::new(pod("b", "2", "2Gi")));
        let skewed = PodInfo::new(Arc::new(pod("s", "4", "0")));
        assert_eq!(BalancedAllocation.score(&state, &balanced, &n), 100);
        assert_eq!(BalancedAllocation.score(&state, &skewed, &n), 50);
    }
}
