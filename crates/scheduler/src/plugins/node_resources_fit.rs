//! NodeResourcesFit: a pod's requests must fit in what the node has left of its allocatable
//! (and a pod slot); feasible nodes are scored by a strategy — LeastAllocated (the default),
//! MostAllocated or RequestedToCapacityRatio.

use crate::framework::{CycleState, Filter, Plugin, Score, Status, MAX_NODE_SCORE};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

/// How feasible nodes are scored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScoringStrategy {
    /// Prefer nodes with the most room left (spreads pods).
    LeastAllocated,
    /// Prefer nodes with the least room left (packs pods).
    MostAllocated,
    /// Score by a piecewise-linear function of utilization: `(utilization %, score 0..=10)`
    /// points in increasing utilization.
    RequestedToCapacityRatio(Vec<(i64, i64)>),
}

/// The NodeResourcesFit plugin.
#[derive(Debug, Clone)]
pub struct NodeResourcesFit {
    /// The scoring strategy.
    pub strategy: ScoringStrategy,
    /// The resources scored, with weights (upstream: cpu and memory, weight 1 each).
    pub resources: Vec<(String, i64)>,
}

impl Default for NodeResourcesFit {
    fn default() -> Self {
        Self {
            strategy: ScoringStrategy::LeastAllocated,
            resources: vec![("cpu".to_owned(), 1), ("memory".to_owned(), 1)],
        }
    }
}

impl Plugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        "NodeResourcesFit"
    }
}

/// The reasons `pod` does not fit `node` (empty when it fits).
pub fn insufficient(pod: &PodInfo, node: &NodeInfo) -> Vec<String> {
    let mut reasons = Vec::new();
    if node.requested.pods + 1 > node.allocatable.pods {
        reasons.push("Too many pods".to_owned());
    }
    let want = &pod.requests;
    let short = |name: &str| {
        let asked = want.get(name);
        asked > 0 && asked > node.allocatable.get(name) - node.requested.get(name)
    };
    for name in ["cpu", "memory", "ephemeral-storage"] {
        if short(name) {
            reasons.push(format!("Insufficient {name}"));
        }
    }
    for name in want.scalar.keys() {
        if short(name) {
            reasons.push(format!("Insufficient {name}"));
        }
    }
    reasons
}

impl Filter for NodeResourcesFit {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let reasons = insufficient(pod, node);
        if reasons.is_empty() {
            return Status::success();
        }
        Status {
            reasons,
            ..Status::unschedulable(self.name(), "")
        }
    }
}

/// What `node` would have requested of `resource` with `pod` on it, and its allocatable; CPU
/// and memory count upstream's defaults for pods that request none.
pub fn requested_with(pod: &PodInfo, node: &NodeInfo, resource: &str) -> (i64, i64) {
    let requested = match resource {
        "cpu" => node.non_zero_requested.0 + pod.non_zero.0,
        "memory" => node.non_zero_requested.1 + pod.non_zero.1,
        other => node.requested.get(other) + pod.requests.get(other),
    };
    (requested, node.allocatable.get(resource))
}

fn least_allocated(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

fn most_allocated(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 {
        return 0;
    }
    requested.min(capacity) * MAX_NODE_SCORE / capacity
}

/// The shape function at `utilization` (percent), scaled from 0..=10 to 0..=100.
fn shaped(points: &[(i64, i64)], utilization: i64) -> i64 {
    let scale = MAX_NODE_SCORE / 10;
    let Some(first) = points.first() else {
        return 0;
    };
    if utilization <= first.0 {
        return first.1 * scale;
    }
    for pair in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        let (y0, y1) = (y0 * scale, y1 * scale);
        if utilization <= x1 {
            return y0 + (y1 - y0) * (utilization - x0) / (x1 - x0).max(1);
        }
    }
    points.last().map_or(0, |p| p.1 * scale)
}

impl Score for NodeResourcesFit {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let (mut total, mut weights) = (0, 0);
        for (resource, weight) in &self.resources {
            let (requested, capacity) = requested_with(pod, node, resource);
            if capacity == 0 {
                continue;
            }
            let score = match &self.strategy {
                ScoringStrategy::LeastAllocated => least_allocated(requested, capacity),
                ScoringStrategy::MostAllocated => most_allocated(requested, capacity),
                ScoringStrategy::RequestedToCapacityRatio(points) => {
                    shaped(points, requested.min(capacity) * 100 / capacity)
                }
            };
            total += score * weight;
            weights += weight;
        }
        if weights == 0 {
            0
        } else {
            total / weights
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::testing::{node, pod};

    fn info(cpu: &str, mem: &str) -> PodInfo {
        PodInfo::new(Arc::new(pod("p", cpu, mem)))
    }

    #[test]
    fn requests_beyond_what_is_left_are_insufficient() {
        let mut n = NodeInfo::new(Arc::new(node("a", "2", "4Gi")));
        n.add_pod(Arc::new(info("1500m", "1Gi")));
        let status = NodeResourcesFit::default().filter(&CycleState::new(), &info("1", "4Gi"), &n);
        assert_eq!(
            status.reasons,
            vec![
                "Insufficient cpu".to_owned(),
                "Insufficient memory".to_owned()
            ]
        );
        assert!(NodeResourcesFit::default()
            .filter(&CycleState::new(), &info("500m", "1Gi"), &n)
            .is_success());
    }

    #[test]
    fn a_full_node_has_too_many_pods() {
        let mut n = NodeInfo::new(Arc::new(node("a", "2", "4Gi")));
        n.allocatable.pods = 1;
        n.add_pod(Arc::new(info("", "")));
        let status = NodeResourcesFit::default().filter(&CycleState::new(), &info("", ""), &n);
        assert_eq!(status.reasons, vec!["Too many pods".to_owned()]);
    }

    #[test]
    fn least_allocated_prefers_emptier_nodes_and_most_allocated_fuller_ones() {
        let empty = NodeInfo::new(Arc::new(node("a", "4", "8Gi")));
        let mut busy = NodeInfo::new(Arc::new(node("b", "4", "8Gi")));
        busy.add_pod(Arc::new(info("2", "4Gi")));
        let p = info("1", "2Gi");
        let state = CycleState::new();
        let least = NodeResourcesFit::default();
        assert_eq!(least.score(&state, &p, &empty), 75);
        assert_eq!(least.score(&state, &p, &busy), 25);
        let most = NodeResourcesFit {
            strategy: ScoringStrategy::MostAllocated,
            ..NodeResourcesFit::default()
        };
        assert_eq!(most.score(&state, &p, &busy), 75);
        let ratio = NodeResourcesFit {
            strategy: ScoringStrategy::RequestedToCapacityRatio(vec![(0, 10), (100, 0)]),
            ..NodeResourcesFit::default()
        };
        assert_eq!(ratio.score(&state, &p, &empty), 75);
    }
}
