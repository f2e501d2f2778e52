//! DefaultPreemption, the post-filter: when a pod fits nowhere, find a node where deleting
//! pods of lower priority makes room, keeping as many of them as still leaves room (higher
//! priorities reprieved first), and prefer the node whose victims matter least.

use std::sync::Arc;

use crate::cache::Snapshot;
use crate::fit_error::{histogram, FitError};
use crate::framework::{Code, CycleState, Framework};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

/// Upstream's reason for nodes where preemption cannot help.
pub const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
/// Upstream's reason for nodes where deleting lower-priority pods would not make room.
pub const NO_VICTIMS: &str = "No preemption victims found for incoming pod";

/// A chosen preemption: the node the pod is nominated to, and the pods to delete there.
#[derive(Debug, Clone)]
pub struct Preemption {
    /// The nominated node.
    pub node: String,
    /// The pods to delete.
    pub victims: Vec<Arc<PodInfo>>,
}

/// Whether `pod` fits on `node` as it stands in `nodes` (the whole cluster, for plugins that
/// look across nodes).
fn fits(
    framework: &Framework,
    pod: &PodInfo,
    nodes: &[NodeInfo],
    at: usize,
    snapshot: &Snapshot<'_>,
) -> bool {
    let view = Snapshot {
        nodes,
        namespaces: snapshot.namespaces,
        spread: None,
        volumes: snapshot.volumes,
    };
    let mut state = CycleState::new();
    match framework.run_pre_filters(&mut state, pod, &view) {
        Ok(Some(names)) if !names.contains(&nodes[at].name) => false,
        Ok(_) => framework.run_filters(&state, pod, &nodes[at]).is_success(),
        Err(_) => false,
    }
}

/// The victims needed on `nodes[at]`, or `None` when deleting every lower-priority pod there
/// would not make room. Leaves `nodes[at]` as it found it.
fn victims_on(
    framework: &Framework,
    pod: &PodInfo,
    nodes: &mut [NodeInfo],
    at: usize,
    snapshot: &Snapshot<'_>,
) -> Option<Vec<Arc<PodInfo>>> {
    let original = nodes[at].clone();
    let mut lower: Vec<Arc<PodInfo>> = original
        .pods
        .iter()
        .filter(|p| p.priority < pod.priority)
        .cloned()
        .collect();
    for p in &lower {
        nodes[at].remove_pod(&p.key);
    }
    if lower.is_empty() || !fits(framework, pod, nodes, at, snapshot) {
        nodes[at] = original;
        return None;
    }
    lower.sort_by_key(|p| std::cmp::Reverse(p.priority));
    let mut victims = Vec::new();
    for p in lower {
        nodes[at].add_pod(Arc::clone(&p));
        if !fits(framework, pod, nodes, at, snapshot) {
            nodes[at].remove_pod(&p.key);
            victims.push(p);
        }
    }
    nodes[at] = original;
    Some(victims)
}

/// Runs DefaultPreemption for `pod`, which failed with `fit`: the post-filter's message for
/// the FailedScheduling event (`None` when a node was found) and the chosen preemption.
pub fn preempt(
    framework: &Framework,
    pod: &PodInfo,
    snapshot: &Snapshot<'_>,
    fit: &FitError,
) -> (Option<String>, Option<Preemption>) {
    let policy = pod
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.preemption_policy.as_deref());
    if policy == Some("Never") {
        return (
            Some("preemption: not eligible due to preemptionPolicy=Never".to_owned()),
            None,
        );
    }
    let all = snapshot.nodes.len();
    if fit.pre_filter.is_some() || all == 0 {
        let msg = format!("preemption: 0/{all} nodes are available: {all} {NOT_HELPFUL}");
        return (Some(msg), None);
    }
    let mut nodes: Vec<NodeInfo> = snapshot.nodes.to_vec();
    let mut reasons: Vec<String> = Vec::new();
    let mut best: Option<(Vec<i64>, Preemption)> = None;
    for at in 0..all {
        let resolvable = fit
            .node_statuses
            .get(&nodes[at].name)
            .is_some_and(|s| s.code == Code::Unschedulable);
        if !resolvable {
            reasons.push(NOT_HELPFUL.to_owned());
            continue;
        }
        let Some(victims) = victims_on(framework, pod, &mut nodes, at, snapshot) else {
            reasons.push(NO_VICTIMS.to_owned());
            continue;
        };
        let rank = vec![
            victims
                .iter()
                .map(|v| i64::from(v.priority))
                .max()
                .unwrap_or(i64::MIN),
            victims.iter().map(|v| i64::from(v.priority)).sum(),
            victims.len() as i64,
        ];
        if best.as_ref().is_none_or(|(r, _)| rank < *r) {
            best = Some((
                rank,
                Preemption {
                    node: nodes[at].name.clone(),
                    victims,
                },
            ));
        }
    }
    match best {
        Some((_, chosen)) => (None, Some(chosen)),
        None => {
            let msg = format!(
                "preemption: 0/{all} nodes are available: {}",
                histogram(reasons.iter())
            );
            (Some(msg), None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Cache;
    use crate::core::{Algorithm, SplitMix64};
    use crate::plugins::default_framework;
    use crate::testing::{node, pod, with_spec};

    fn with_priority(name: &str, cpu: &str, priority: i32) -> Arc<PodInfo> {
        Arc::new(PodInfo::new(Arc::new(with_spec(pod(name, cpu, ""), |s| {
            s.priority = Some(priority)
        }))))
    }

    fn full_cluster() -> Cache {
        let mut cache = Cache::new();
        cache.upsert_node(Arc::new(node("a", "2", "4Gi")));
        cache.upsert_node(Arc::new(node("b", "2", "4Gi")));
        cache.assume(with_priority("low", "1500m", 0), "a");
        cache.assume(with_priority("mid", "1500m", 50), "b");
        cache
    }

    fn run(cache: &Cache, p: &PodInfo) -> (Option<String>, Option<Preemption>) {
        let mut alg = Algorithm::new(default_framework(), Box::new(SplitMix64::new(1)));
        let fit = alg.schedule(p, &cache.snapshot()).err().unwrap_or_default();
        preempt(&alg.framework, p, &cache.snapshot(), &fit)
    }

    #[test]
    fn high_priority_pod_preempts_the_lowest_priority_victim() {
        let cache = full_cluster();
        let (msg, chosen) = run(&cache, &with_priority("high", "1", 100));
        assert_eq!(msg, None);
        let chosen = chosen.unwrap_or(Preemption {
            node: String::new(),
            victims: Vec::new(),
        });
        assert_eq!(chosen.node, "a");
        assert_eq!(
            chosen
                .victims
                .iter()
                .map(|v| v.name.clone())
                .collect::<Vec<_>>(),
            vec!["low"]
        );
    }

    #[test]
    fn equal_priority_pods_are_never_victims() {
        let cache = full_cluster();
        let (msg, chosen) = run(&cache, &with_priority("peer", "1", 0));
        assert!(chosen.is_none());
        assert_eq!(msg.as_deref(), Some("preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod"));
    }

    #[test]
    fn preemption_policy_never_is_not_eligible() {
        let cache = full_cluster();
        let p = PodInfo::new(Arc::new(with_spec(pod("n", "1", ""), |s| {
            s.priority = Some(100);
            s.preemption_policy = Some("Never".to_owned());
        })));
        let (msg, chosen) = run(&cache, &p);
        assert!(chosen.is_none());
        assert_eq!(
            msg.as_deref(),
            Some("preemption: not eligible due to preemptionPolicy=Never")
        );
    }
}
