//! Topology spread constraints, compiled once per pod, and the matching-pod counts per
//! topology domain that the cache keeps for them, in step with every pod and node change, so
//! PodTopologySpread reads a domain's count instead of walking every node's pods each cycle.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, TopologySpreadConstraint};

use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::selectors::{Labels, Selector};

/// How many distinct (namespace, selector, key) counts the cache keeps; the least recently
/// used goes first.
const MAX_ENTRIES: usize = 256;

/// Which pods a constraint counts and where: its namespace, its selector (with
/// `matchLabelKeys` folded in) and its topology key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpreadKey {
    /// The incoming pod's namespace; only pods there count.
    pub namespace: String,
    /// The pods that count.
    pub selector: Selector,
    /// The node label whose values are the domains.
    pub topology_key: String,
}

impl SpreadKey {
    /// Whether `pod` counts: same namespace, not terminating, selected.
    pub fn counts(&self, pod: &PodInfo) -> bool {
        pod.namespace == self.namespace
            && !pod.is_terminating()
            && self.selector.matches(&pod.labels)
    }

    /// How many pods on `node` count.
    pub fn matching_on(&self, node: &NodeInfo) -> i64 {
        node.pods.iter().filter(|p| self.counts(p)).count() as i64
    }
}

/// One compiled `topologySpreadConstraints` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpreadConstraint {
    /// What is counted where.
    pub key: SpreadKey,
    /// `maxSkew`.
    pub max_skew: i64,
    /// `minDomains` (1 when unset).
    pub min_domains: i64,
    /// `whenUnsatisfiable: DoNotSchedule` (else `ScheduleAnyway`).
    pub hard: bool,
    /// `nodeAffinityPolicy: Honor` (the default): only nodes the pod may go to count.
    pub honor_affinity: bool,
    /// `nodeTaintsPolicy: Honor`: nodes with taints the pod does not tolerate do not count.
    pub honor_taints: bool,
}

/// Compiles `pod`'s constraints (namespace and labels as [`PodInfo`] holds them).
pub fn compile(pod: &Pod, namespace: &str, labels: &Labels) -> Vec<SpreadConstraint> {
    let list: &[TopologySpreadConstraint] = pod
        .spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_deref())
        .unwrap_or_default();
    list.iter()
        .map(|c| {
            let mut selector = c
                .label_selector
                .as_ref()
                .map(Selector::new)
                .unwrap_or_else(|| Selector::key_in("", Vec::new()));
            for key in c.match_label_keys.iter().flatten() {
                if let Some(v) = labels.get(key) {
                    selector = selector.and(Selector::key_in(key, vec![v.clone()]));
                }
            }
            SpreadConstraint {
                key: SpreadKey {
                    namespace: namespace.to_owned(),
                    selector,
                    topology_key: c.topology_key.clone(),
                },
                max_skew: i64::from(c.max_skew),
                min_domains: i64::from(c.min_domains.unwrap_or(1)),
                hard: c.when_unsatisfiable == "DoNotSchedule",
                honor_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
                honor_taints: c.node_taints_policy.as_deref() == Some("Honor"),
            }
        })
        .collect()
}

/// One topology domain: how many nodes carry it and how many matching pods run there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Domain {
    /// Nodes with this label value.
    pub nodes: usize,
    /// Matching pods on them.
    pub pods: i64,
}

/// Domains by label value.
pub type Domains = HashMap<String, Domain>;

/// The smallest matching-pod count over `domains`; 0 when there are fewer than
/// `min_domains` of them.
pub fn min_count(domains: &Domains, min_domains: i64) -> i64 {
    if (domains.len() as i64) < min_domains {
        return 0;
    }
    domains.values().map(|d| d.pods).min().unwrap_or(0)
}

#[derive(Debug)]
struct Entry {
    /// Shared with the cycles reading it; copied only if one still holds it on a change.
    domains: Arc<Domains>,
    last_used: u64,
}

impl Entry {
    fn add(&mut self, value: &str, nodes: isize, pods: i64) {
        let domains = Arc::make_mut(&mut self.domains);
        let domain = match domains.get_mut(value) {
            Some(d) => d,
            None => domains.entry(value.to_owned()).or_default(),
        };
        domain.nodes = domain.nodes.saturating_add_signed(nodes);
        domain.pods += pods;
        if domain.nodes == 0 {
            domains.remove(value);
        }
    }
}

/// Matching-pod counts per domain for each [`SpreadKey`] pods have asked about.
#[derive(Debug, Default)]
pub struct SpreadCounts {
    entries: HashMap<SpreadKey, Entry>,
    tick: u64,
}

impl SpreadCounts {
    /// The domains of `key` with their counts, if kept.
    pub fn domains(&self, key: &SpreadKey) -> Option<&Arc<Domains>> {
        self.entries.get(key).map(|e| &e.domains)
    }

    /// Makes sure `pod`'s constraints are counted (from `nodes` when new), evicting the least
    /// recently used counts beyond the limit.
    pub fn prepare(&mut self, pod: &PodInfo, nodes: &[NodeInfo]) {
        for c in &pod.spread {
            self.tick += 1;
            if let Some(entry) = self.entries.get_mut(&c.key) {
                entry.last_used = self.tick;
                continue;
            }
            if self.entries.len() >= MAX_ENTRIES {
                self.evict_oldest();
            }
            let mut entry = Entry {
                domains: Arc::default(),
                last_used: self.tick,
            };
            for node in nodes {
                if let Some(value) = node.labels.get(&c.key.topology_key) {
                    entry.add(value, 1, c.key.matching_on(node));
                }
            }
            self.entries.insert(c.key.clone(), entry);
        }
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, e)| e.last_used)
            .map(|(k, _)| k.clone());
        if let Some(key) = oldest {
            self.entries.remove(&key);
        }
    }

    /// Counts `pod` (`sign` 1) or stops counting it (-1) on `node`.
    pub fn pod_changed(&mut self, node: &NodeInfo, pod: &PodInfo, sign: i64) {
        for (key, entry) in &mut self.entries {
            if let Some(value) = node.labels.get(&key.topology_key) {
                if key.counts(pod) {
                    entry.add(value, 0, sign);
                }
            }
        }
    }

    /// Counts `node` and its pods (`sign` 1), or stops counting them (-1).
    pub fn node_changed(&mut self, node: &NodeInfo, sign: i64) {
        for (key, entry) in &mut self.entries {
            if let Some(value) = node.labels.get(&key.topology_key) {
                entry.add(value, sign as isize, sign * key.matching_on(node));
            }
        }
    }
}

#[cfg(test)]
#[path = "spread_tests.rs"]
mod tests;
