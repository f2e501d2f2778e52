//! PodTopologySpread: spreads matching pods across topology domains (zones, nodes). Hard
//! constraints (`whenUnsatisfiable: DoNotSchedule`) filter out nodes where the skew — the
//! domain's matching pods (plus this one) minus the least-loaded domain's — would pass
//! `maxSkew`; soft ones (`ScheduleAnyway`) score nodes in emptier domains higher.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::TopologySpreadConstraint;

use super::helpers::tolerated;
use super::node_affinity::RequiredNodeAffinity;
use crate::cache::Snapshot;
use crate::framework::{
    CycleState, Filter, Plugin, PreFilter, PreFilterResult, Score, Status, MAX_NODE_SCORE,
};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::selectors::Selector;

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

/// One compiled constraint.
#[derive(Debug, Clone)]
struct Constraint {
    max_skew: i64,
    min_domains: i64,
    key: String,
    selector: Selector,
    honor_affinity: bool,
    honor_taints: bool,
}

fn constraints(pod: &PodInfo, hard: bool) -> Vec<Constraint> {
    let wanted = if hard {
        "DoNotSchedule"
    } else {
        "ScheduleAnyway"
    };
    let list: &[TopologySpreadConstraint] = pod
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_deref())
        .unwrap_or_default();
    list.iter()
        .filter(|c| c.when_unsatisfiable == wanted)
        .map(|c| {
            let mut selector = c
                .label_selector
                .as_ref()
                .map(Selector::new)
                .unwrap_or_else(|| Selector::key_in("", Vec::new()));
            for key in c.match_label_keys.iter().flatten() {
                if let Some(v) = pod.labels.get(key) {
                    selector = selector.and(Selector::key_in(key, vec![v.clone()]));
                }
            }
            Constraint {
                max_skew: i64::from(c.max_skew),
                min_domains: i64::from(c.min_domains.unwrap_or(1)),
                key: c.topology_key.clone(),
                selector,
                honor_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
                honor_taints: c.node_taints_policy.as_deref() == Some("Honor"),
            }
        })
        .collect()
}

/// Whether `node` takes part in counting for `constraints` (has every key, passes policies).
fn counts_node(
    constraints: &[Constraint],
    pod: &PodInfo,
    affinity: &RequiredNodeAffinity,
    node: &NodeInfo,
) -> bool {
    if !constraints.iter().all(|c| node.labels.contains_key(&c.key)) {
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

/// How many pods on `node` match `c` (same namespace as the incoming pod, not terminating).
fn matching(c: &Constraint, pod: &PodInfo, node: &NodeInfo) -> i64 {
    node.pods
        .iter()
        .filter(|p| {
            p.namespace == pod.namespace && !p.is_terminating() && c.selector.matches(&p.labels)
        })
        .count() as i64
}

/// Adds `n` to the count of `domain`, allocating its key only the first time.
fn count(counts: &mut HashMap<String, i64>, domain: &str, n: i64) {
    match counts.get_mut(domain) {
        Some(c) => *c += n,
        None => {
            counts.insert(domain.to_owned(), n);
        }
    }
}

/// What PreFilter computed: matching pods per domain for each hard constraint.
struct Counts {
    constraints: Vec<Constraint>,
    per_domain: Vec<HashMap<String, i64>>,
}

impl Counts {
    fn min(&self, i: usize) -> i64 {
        let domains = &self.per_domain[i];
        if (domains.len() as i64) < self.constraints[i].min_domains {
            return 0;
        }
        domains.values().copied().min().unwrap_or(0)
    }
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
        let constraints = constraints(pod, true);
        if constraints.is_empty() {
            return Err(Status::skip());
        }
        let affinity = RequiredNodeAffinity::of(pod);
        let mut per_domain = vec![HashMap::new(); constraints.len()];
        for node in snapshot
            .nodes
            .iter()
            .filter(|n| counts_node(&constraints, pod, &affinity, n))
        {
            for (i, c) in constraints.iter().enumerate() {
                if let Some(value) = node.labels.get(&c.key) {
                    count(&mut per_domain[i], value, matching(c, pod, node));
                }
            }
        }
        state.write(
            self.name(),
            Counts {
                constraints,
                per_domain,
            },
        );
        Ok(PreFilterResult::default())
    }
}

impl Filter for PodTopologySpread {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(counts) = state.read::<Counts>(self.name()) else {
            return Status::success();
        };
        for (i, c) in counts.constraints.iter().enumerate() {
            let Some(value) = node.labels.get(&c.key) else {
                return Status::unresolvable(self.name(), REASON_MISSING_LABEL);
            };
            let own = i64::from(c.selector.matches(&pod.labels));
            let here = counts.per_domain[i].get(value).copied().unwrap_or(0);
            if here + own - counts.min(i) > c.max_skew {
                return Status::unschedulable(self.name(), REASON);
            }
        }
        Status::success()
    }
}

/// What PreScore computed for soft constraints.
struct Soft {
    constraints: Vec<Constraint>,
    per_domain: Vec<HashMap<String, i64>>,
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
        let constraints = constraints(pod, false);
        if constraints.is_empty() {
            return Status::skip();
        }
        let scored: Vec<&&NodeInfo> = nodes
            .iter()
            .filter(|n| constraints.iter().all(|c| n.labels.contains_key(&c.key)))
            .collect();
        // Few domains per key (zones, regions) in practice: a list beats hashing here.
        let mut domains: Vec<Vec<&str>> = vec![Vec::new(); constraints.len()];
        for node in &scored {
            for (i, c) in constraints.iter().enumerate() {
                if let Some(v) = node.labels.get(&c.key) {
                    if c.key != HOSTNAME && !domains[i].contains(&v.as_str()) {
                        domains[i].push(v);
                    }
                }
            }
        }
        let weights = constraints
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let size = if c.key == HOSTNAME {
                    scored.len()
                } else {
                    domains[i].len()
                };
                ((size + 2) as f64).ln()
            })
            .collect();
        let affinity = RequiredNodeAffinity::of(pod);
        let mut per_domain = vec![HashMap::new(); constraints.len()];
        for node in snapshot
            .nodes
            .iter()
            .filter(|n| counts_node(&constraints, pod, &affinity, n))
        {
            for (i, c) in constraints.iter().enumerate() {
                let Some(value) = node.labels.get(&c.key) else {
                    continue;
                };
                if c.key != HOSTNAME && domains[i].contains(&value.as_str()) {
                    count(&mut per_domain[i], value, matching(c, pod, node));
                }
            }
        }
        state.write(
            SCORE_STATE,
            Soft {
                constraints,
                per_domain,
                weights,
            },
        );
        Status::success()
    }

    /// Lower is better before normalizing; -1 marks a node without the constraints' labels.
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let Some(soft) = state.read::<Soft>(SCORE_STATE) else {
            return 0;
        };
        if !soft
            .constraints
            .iter()
            .all(|c| node.labels.contains_key(&c.key))
        {
            return -1;
        }
        let mut score = 0.0;
        for (i, c) in soft.constraints.iter().enumerate() {
            let count = if c.key == HOSTNAME {
                matching(c, pod, node)
            } else {
                node.labels
                    .get(&c.key)
                    .and_then(|v| soft.per_domain[i].get(v))
                    .copied()
                    .unwrap_or(0)
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
