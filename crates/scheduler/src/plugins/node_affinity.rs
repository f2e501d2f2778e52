//! NodeAffinity: `nodeSelector` and required node affinity decide where a pod may go;
//! preferred node affinity adds the weights of the terms a node matches to its score.

use std::collections::HashSet;

use super::helpers::default_normalize;
use crate::cache::Snapshot;
use crate::framework::{CycleState, Filter, Plugin, PreFilter, PreFilterResult, Score, Status};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::selectors::NodeTerm;

/// Upstream's reason.
pub const REASON: &str = "node(s) didn't match Pod's node affinity/selector";

/// The NodeAffinity plugin.
#[derive(Debug, Default)]
pub struct NodeAffinity;

/// A pod's node constraints, compiled: what [`NodeAffinity`] filters by and what
/// PodTopologySpread's `nodeAffinityPolicy: Honor` applies.
#[derive(Debug, Clone, Default)]
pub struct RequiredNodeAffinity {
    selector: Vec<(String, String)>,
    /// Alternatives (ORed); `None` when the pod has no required node affinity.
    terms: Option<Vec<NodeTerm>>,
}

impl RequiredNodeAffinity {
    /// Compiles the pod's `nodeSelector` and required node affinity.
    pub fn of(pod: &PodInfo) -> Self {
        let spec = pod.pod.spec.as_ref();
        let selector = spec
            .and_then(|s| s.node_selector.as_ref())
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let terms = spec
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .map(|ns| ns.node_selector_terms.iter().map(NodeTerm::new).collect());
        Self { selector, terms }
    }

    /// Whether the pod constrains nodes at all.
    pub fn is_empty(&self) -> bool {
        self.selector.is_empty() && self.terms.is_none()
    }

    /// Whether `node` satisfies both the selector and one of the terms.
    pub fn matches(&self, node: &NodeInfo) -> bool {
        self.selector
            .iter()
            .all(|(k, v)| node.labels.get(k) == Some(v))
            && self
                .terms
                .as_ref()
                .is_none_or(|terms| terms.iter().any(|t| t.matches(&node.name, &node.labels)))
    }
}

struct Preferred(Vec<(NodeTerm, i64)>);

impl Plugin for NodeAffinity {
    fn name(&self) -> &'static str {
        "NodeAffinity"
    }
}

impl PreFilter for NodeAffinity {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot<'_>,
    ) -> Result<PreFilterResult, Status> {
        let required = RequiredNodeAffinity::of(pod);
        if required.is_empty() {
            return Err(Status::skip());
        }
        let nodes = named_nodes(pod);
        state.write(self.name(), required);
        Ok(PreFilterResult { nodes })
    }
}

/// When every required term pins `metadata.name` with `In`, only those nodes are worth a look.
fn named_nodes(pod: &PodInfo) -> Option<HashSet<String>> {
    let terms = pod
        .pod
        .spec
        .as_ref()?
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?;
    let mut names = HashSet::new();
    for term in &terms.node_selector_terms {
        let pinned = term
            .match_fields
            .iter()
            .flatten()
            .find(|f| f.key == "metadata.name" && f.operator == "In")?;
        names.extend(pinned.values.iter().flatten().cloned());
    }
    Some(names)
}

impl Filter for NodeAffinity {
    fn filter(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Status {
        match state.read::<RequiredNodeAffinity>(self.name()) {
            Some(required) if !required.matches(node) => Status::unresolvable(self.name(), REASON),
            _ => Status::success(),
        }
    }
}

const PREFERRED: &str = "NodeAffinity/preferred";

impl Score for NodeAffinity {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _: &Snapshot<'_>,
        _: &[&NodeInfo],
    ) -> Status {
        let terms: Vec<(NodeTerm, i64)> = pod
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .into_iter()
            .flatten()
            .filter(|p| p.weight != 0)
            .map(|p| (NodeTerm::new(&p.preference), i64::from(p.weight)))
            .collect();
        if terms.is_empty() {
            return Status::skip();
        }
        state.write(PREFERRED, Preferred(terms));
        Status::success()
    }

    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> i64 {
        state.read::<Preferred>(PREFERRED).map_or(0, |p| {
            p.0.iter()
                .filter(|(t, _)| t.matches(&node.name, &node.labels))
                .map(|(_, w)| w)
                .sum()
        })
    }

    fn normalize(&self, _: &CycleState, scores: &mut [i64]) {
        default_normalize(scores, false);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::cache::Cache;
    use crate::testing::{node, pod, with_labels, with_spec};

    fn zone(name: &str, zone: &str) -> NodeInfo {
        NodeInfo::new(Arc::new(with_labels(
            node(name, "1", "1Gi"),
            &[("zone", zone)],
        )))
    }

    fn filter(pod: &PodInfo, node: &NodeInfo) -> Status {
        let cache = Cache::new();
        let mut state = CycleState::new();
        match NodeAffinity.pre_filter(&mut state, pod, &cache.snapshot()) {
            Err(s) if s.is_skip() => Status::success(),
            Err(s) => s,
            Ok(_) => NodeAffinity.filter(&state, pod, node),
        }
    }

    #[test]
    fn node_selector_requires_every_label() {
        let p = PodInfo::new(Arc::new(with_spec(pod("p", "", ""), |s| {
            s.node_selector = Some(BTreeMap::from([("zone".to_owned(), "a".to_owned())]));
        })));
        assert!(filter(&p, &zone("n1", "a")).is_success());
        assert_eq!(
            filter(&p, &zone("n2", "b")).reasons,
            vec![REASON.to_owned()]
        );
    }

    #[test]
    fn required_terms_are_alternatives_and_preferred_terms_score_their_weight() {
        let affinity = serde_json::from_value(json!({"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
            ]},
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 5, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}},
            ],
        }}))
        .ok();
        let p = PodInfo::new(Arc::new(with_spec(pod("p", "", ""), |s| {
            s.affinity = affinity
        })));
        assert!(filter(&p, &zone("n1", "a")).is_success());
        assert!(filter(&p, &zone("n2", "b")).is_success());
        assert!(!filter(&p, &zone("n3", "c")).is_success());
        let cache = Cache::new();
        let mut state = CycleState::new();
        let (a, b) = (zone("n1", "a"), zone("n2", "b"));
        assert!(NodeAffinity
            .pre_score(&mut state, &p, &cache.snapshot(), &[&a, &b])
            .is_success());
        let mut scores = [
            NodeAffinity.score(&state, &p, &a),
            NodeAffinity.score(&state, &p, &b),
        ];
        NodeAffinity.normalize(&state, &mut scores);
        assert_eq!(scores, [0, 100]);
    }
}
