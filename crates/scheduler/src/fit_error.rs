//! Why a pod fits no node, worded as upstream's FailedScheduling message:
//! `0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {k: v}.
//! preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.`

use std::collections::{BTreeMap, HashMap};

use crate::framework::Status;

/// Upstream's message when the cluster has no nodes at all.
pub const NO_NODES: &str = "no nodes available to schedule pods";

/// The outcome of a failed scheduling attempt.
#[derive(Debug, Clone, Default)]
pub struct FitError {
    /// Nodes in the cluster.
    pub num_all_nodes: usize,
    /// A PreFilter's rejection, which applies to every node.
    pub pre_filter: Option<Status>,
    /// Each rejected node's status.
    pub node_statuses: HashMap<String, Status>,
    /// What the post-filter (preemption) said.
    pub post_filter_msg: Option<String>,
}

/// Counts reasons and lists them as `N reason`, sorted as strings (as upstream does).
pub fn histogram<'a>(reasons: impl Iterator<Item = &'a String>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in reasons {
        *counts.entry(r.as_str()).or_insert(0) += 1;
    }
    let mut lines: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
    lines.sort();
    lines.join(", ")
}

impl FitError {
    /// The FailedScheduling message.
    pub fn message(&self) -> String {
        if self.num_all_nodes == 0 {
            return NO_NODES.to_owned();
        }
        let mut msg = format!("0/{} nodes are available:", self.num_all_nodes);
        match &self.pre_filter {
            Some(status) => msg.push_str(&format!(" {}.", status.reasons.join(", "))),
            None => {
                let listed = histogram(self.node_statuses.values().flat_map(|s| s.reasons.iter()));
                if !listed.is_empty() {
                    msg.push_str(&format!(" {listed}."));
                }
            }
        }
        if let Some(post) = &self.post_filter_msg {
            msg.push_str(&format!(" {post}."));
        }
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_counts_reasons_per_node_in_sorted_order() {
        let mut statuses = HashMap::new();
        statuses.insert(
            "a".to_owned(),
            Status::unschedulable("NodeResourcesFit", "Insufficient cpu"),
        );
        for n in ["b", "c"] {
            statuses.insert(
                n.to_owned(),
                Status::unresolvable("TaintToleration", "node(s) had untolerated taint {k: v}"),
            );
        }
        let err = FitError {
            num_all_nodes: 3,
            node_statuses: statuses,
            post_filter_msg: Some(
                "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling"
                    .to_owned(),
            ),
            ..FitError::default()
        };
        assert_eq!(
            err.message(),
            "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {k: v}. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn no_nodes_is_its_own_message() {
        assert_eq!(FitError::default().message(), NO_NODES);
    }
}
