//! PodTopologySpread: spreads matching pods across topology domains (zones, nodes). Hard
//! constraints (`whenUnsatisfiable: DoNotSchedule`) filter out nodes where the skew — the
//! domain's matching pods (plus this one) minus the least-loaded domain's — would pass
//! `maxSkew`; soft ones (`ScheduleAnyway`) score nodes in emptier domains higher.

use std::collections::HashSet;
use std::sync::Arc;

use super::helpers::tolerated;
use super::node_affinity::RequiredNodeAffinity;
use crate::cache::Snapshot;
use crate::framework::{
    CycleState, Filter, Plugin, PreFilter, PreFilterResult, Score, Status, MAX_NODE_SCORE,
};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::spread::{min_count, Domains, SpreadConstraint};

/// Upstream's reason when the skew would be too large.
pub const REASON: &str = "node(s) didn't match pod topology spread constraints";
/// Upstream's reason when a node lacks a constraint's topology label.
pub const REASON_MISSING_LABEL: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

const HOSTNAME: &str = "kubernetes.io/hostname";
const SCORE_STATE: &str = "PodTopologySpread/score";

/// The PodTopologySpread plugin.
#[derive(Debug, Default)]
pub struct PodTopologySpread;

/// The pod's hard (`DoNotSchedule`) or soft (`ScheduleAnyway`) constraints.
fn constraints(pod: &PodInfo, hard: bool) -> impl Iterator<Item = &SpreadConstraint> {
    pod.spread.iter().filter(move |c| c.hard == hard)
}

/// Whether `node` takes part in counting for `constraints` (has every key, passes policies).
fn counts_node(
    constraints: &[&SpreadConstraint],
    pod: &PodInfo,
    affinity: &RequiredNodeAffinity,
    node: &NodeInfo,
) -> bool {
    if !constraints
        .iter()
        .all(|c| node.labels.contains_key(&c.key.topology_key))
    {
        return false;
    }
    if constraints.iter().any(|c| c.honor_affinity) && !affinity.matches(node) {
        return false;
    }
    if constraints.iter().any(|c| c.honor_taints) {
        let tolerations = pod
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or_default();
        let blocked = node.taints().iter().any(|t| {
            (t.effect == "NoSchedule" || t.effect == "NoExecute") && !tolerated(tolerations, t)
        });
        if blocked {
            return false;
        }
    }
    true
}

/// Matching pods per domain for each of `constraints`. The cache's counts serve when every
/// node with a constraint's key counts (no node affinity or taints to honour, and either one
/// key or every node carrying every key); else the eligible nodes are walked once.
fn domain_counts(
    constraints: &[&SpreadConstraint],
    pod: &PodInfo,
    snapshot: &Snapshot<'_>,
) -> Vec<Arc<Domains>> {
    let affinity = RequiredNodeAffinity::of(pod);
    let policies_filter = constraints
        .iter()
        .any(|c| c.honor_taints || (c.honor_affinity && !affinity.is_empty()));
    if !policies_filter {
        if let Some(kept) = snapshot.spread.and_then(|spread| {
            constraints
                .iter()
                .map(|c| spread.domains(&c.key).cloned())
                .collect::<Option<Vec<_>>>()
        }) {
            let one_key = constraints
                .iter()
                .all(|c| c.key.topology_key == constraints[0].key.topology_key);
            let every_node = || {
                kept.iter()
                    .all(|d| d.values().map(|d| d.nodes).sum::<usize>() == snapshot.nodes.len())
            };
            if one_key || every_node() {
                return kept;
            }
        }
    }
    let mut counts = vec![Domains::new(); constraints.len()];
    for node in snapshot
        .nodes
        .iter()
        .filter(|n| counts_node(constraints, pod, &affinity, n))
    {
        for (i, c) in constraints.iter().enumerate() {
            if let Some(value) = node.labels.get(&c.key.topology_key) {
                let domain = counts[i].entry(value.clone()).or_default();
                domain.nodes += 1;
                domain.pods += c.key.matching_on(node);
            }
        }
    }
    counts.into_iter().map(Arc::new).collect()
}

/// What PreFilter computed for the hard constraints, in order: counts per domain and the
/// least count.
struct Counts {
    domains: Vec<Arc<Domains>>,
    mins: Vec<i64>,
}

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        "PodTopologySpread"
    }
}

impl PreFilter for PodTopologySpread {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot<'_>,
    ) -> Result<PreFilterResult, Status> {
        let constraints: Vec<_> = constraints(pod, true).collect();
        if constraints.is_empty() {
            return Err(Status::skip());
        }
        let domains = domain_counts(&constraints, pod, snapshot);
        let mins = constraints
            .iter()
            .zip(&domains)
            .map(|(c, d)| min_count(d, c.min_domains))
            .collect();
        state.write(self.name(), Counts { domains, mins });
        Ok(PreFilterResult::default())
    }
}

impl Filter for PodTopologySpread {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(counts) = state.read::<Counts>(self.name()) else {
            return Status::success();
        };
        for (i, c) in constraints(pod, true).enumerate() {
            let Some(value) = node.labels.get(&c.key.topology_key) else {
                return Status::unresolvable(self.name(), REASON_MISSING_LABEL);
            };
            let own = i64::from(c.key.selector.matches(&pod.labels));
            let here = counts.domains[i].get(value).map_or(0, |d| d.pods);
            if here + own - counts.mins[i] > c.max_skew {
                return Status::unschedulable(self.name(), REASON);
            }
        }
        Status::success()
    }
}

/// What PreScore computed for soft constraints, in order: counts per domain (none for the
/// hostname key, counted on the node itself) and weights.
struct Soft {
    domains: Vec<Option<Arc<Domains>>>,
    weights: Vec<f64>,
}

impl Score for PodTopologySpread {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot<'_>,
        nodes: &[&NodeInfo],
    ) -> Status {
        let constraints: Vec<_> = constraints(pod, false).collect();
        if constraints.is_empty() {
            return Status::skip();
        }
        let has_keys = |n: &NodeInfo| {
            constraints
                .iter()
                .all(|c| n.labels.contains_key(&c.key.topology_key))
        };
        let scored: Vec<&&NodeInfo> = nodes.iter().filter(|n| has_keys(n)).collect();
        let weights = constraints
            .iter()
            .map(|c| {
                let size = if c.key.topology_key == HOSTNAME {
                    scored.len()
                } else {
                    let values = scored
                        .iter()
                        .filter_map(|n| n.labels.get(&c.key.topology_key));
                    values.collect::<HashSet<_>>().len()
                };
                ((size + 2) as f64).ln()
            })
            .collect();
        // A scored node reads only its own domain, which is among the scored ones, so the
        // counts need no narrowing to them.
        let mut domains = domain_counts(&constraints, pod, snapshot).into_iter();
        let domains = constraints
            .iter()
            .map(|c| domains.next().filter(|_| c.key.topology_key != HOSTNAME))
            .collect();
        state.write(SCORE_STATE, Soft { domains, weights });
        Status::success()
    }

    /// Lower is better before normalizing; -1 marks a node without the constraints' labels.
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let Some(soft) = state.read::<Soft>(SCORE_STATE) else {
            return 0;
        };
        if !constraints(pod, false).all(|c| node.labels.contains_key(&c.key.topology_key)) {
            return -1;
        }
        let mut score = 0.0;
        for (i, c) in constraints(pod, false).enumerate() {
            let count = match &soft.domains[i] {
                None => c.key.matching_on(node),
                Some(domains) => node
                    .labels
                    .get(&c.key.topology_key)
                    .and_then(|v| domains.get(v))
                    .map_or(0, |d| d.pods),
            };
            score += count as f64 * soft.weights[i] + (c.max_skew - 1) as f64;
        }
        score.round() as i64
    }

    fn normalize(&self, _: &CycleState, scores: &mut [i64]) {
        let valid = scores.iter().copied().filter(|s| *s >= 0);
        let (min, max) = valid.fold((i64::MAX, 0), |(lo, hi), s| (lo.min(s), hi.max(s)));
        for s in scores.iter_mut() {
            *s = match *s {
                s if s < 0 => 0,
                _ if max == 0 => MAX_NODE_SCORE,
                s => MAX_NODE_SCORE * (max + min - s) / max,
            };
        }
    }
}

#[cfg(test)]
#[path = "pod_topology_spread_tests.rs"]
mod tests;
