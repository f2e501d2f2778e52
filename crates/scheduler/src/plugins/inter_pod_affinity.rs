//! InterPodAffinity: required pod affinity puts a pod in a topology domain with pods its terms
//! match; required anti-affinity (its own, and that of pods already placed) keeps it out of
//! domains with such pods; preferred terms of both kinds add or subtract their weights.

use std::collections::HashMap;

use crate::cache::Snapshot;
use crate::framework::{
    CycleState, Filter, Plugin, PreFilter, PreFilterResult, Score, Status, MAX_NODE_SCORE,
};
use crate::node_info::NodeInfo;
use crate::pod_info::{AffinityTerm, PodInfo};

/// Upstream's reason when required affinity finds no matching pod in the node's domain.
pub const REASON_AFFINITY: &str = "node(s) didn't match pod affinity rules";
/// Upstream's reason when the pod's anti-affinity finds a matching pod in the node's domain.
pub const REASON_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
/// Upstream's reason when a placed pod's anti-affinity forbids this pod in the node's domain.
pub const REASON_EXISTING_ANTI_AFFINITY: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";

const SCORE_STATE: &str = "InterPodAffinity/score";

/// Weight of a placed pod's required affinity towards the incoming pod, when scoring.
const HARD_POD_AFFINITY_WEIGHT: i64 = 1;

/// The InterPodAffinity plugin.
#[derive(Debug, Default)]
pub struct InterPodAffinity;

/// Counts per topology pair (key, value).
type PairCounts = HashMap<(String, String), i64>;

/// What PreFilter computed.
#[derive(Default)]
struct Counts {
    /// Domains placed pods' anti-affinity forbids to the incoming pod.
    existing_anti: PairCounts,
    /// Per required affinity term of the incoming pod: matching pods per domain.
    affinity: Vec<PairCounts>,
    /// Per required anti-affinity term: matching pods per domain.
    anti: Vec<PairCounts>,
}

fn pair(term: &AffinityTerm, node: &NodeInfo) -> Option<(String, String)> {
    node.labels
        .get(&term.topology_key)
        .map(|v| (term.topology_key.clone(), v.clone()))
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &'static str {
        "InterPodAffinity"
    }
}

impl PreFilter for InterPodAffinity {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot<'_>,
    ) -> Result<PreFilterResult, Status> {
        let ns = |name: &str| snapshot.namespace_labels(name);
        let mut counts = Counts {
            affinity: vec![PairCounts::new(); pod.required_affinity.len()],
            anti: vec![PairCounts::new(); pod.required_anti_affinity.len()],
            ..Counts::default()
        };
        let own_terms =
            !(pod.required_affinity.is_empty() && pod.required_anti_affinity.is_empty());
        for node in snapshot.nodes {
            for existing in &node.pods_with_affinity {
                for term in existing
                    .required_anti_affinity
                    .iter()
                    .filter(|t| t.matches(pod, &ns))
                {
                    if let Some(p) = pair(term, node) {
                        *counts.existing_anti.entry(p).or_insert(0) += 1;
                    }
                }
            }
            if !own_terms {
                continue;
            }
            for existing in &node.pods {
                let lists = [
                    (&pod.required_affinity, &mut counts.affinity),
                    (&pod.required_anti_affinity, &mut counts.anti),
                ];
                for (terms, out) in lists {
                    for (i, term) in terms.iter().enumerate() {
                        if term.matches(existing, &ns) {
                            if let Some(p) = pair(term, node) {
                                *out[i].entry(p).or_insert(0) += 1;
                            }
                        }
                    }
                }
            }
        }
        if counts.existing_anti.is_empty() && !own_terms {
            return Err(Status::skip());
        }
        // A pod whose affinity no placed pod matches may still go anywhere when it matches
        // its own terms (the first of a group), as upstream allows.
        let nobody_matches = counts.affinity.iter().all(HashMap::is_empty);
        if nobody_matches && pod.required_affinity.iter().all(|t| t.matches(pod, &ns)) {
            counts.affinity.clear();
        }
        state.write(self.name(), (counts, pod.required_affinity.is_empty()));
        Ok(PreFilterResult::default())
    }
}

impl Filter for InterPodAffinity {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some((counts, _)) = state.read::<(Counts, bool)>(self.name()) else {
            return Status::success();
        };
        for (term, found) in pod.required_affinity.iter().zip(&counts.affinity) {
            if pair(term, node)
                .and_then(|p| found.get(&p))
                .is_none_or(|n| *n <= 0)
            {
                return Status::unresolvable(self.name(), REASON_AFFINITY);
            }
        }
        for (term, found) in pod.required_anti_affinity.iter().zip(&counts.anti) {
            if pair(term, node)
                .and_then(|p| found.get(&p))
                .is_some_and(|n| *n > 0)
            {
                return Status::unschedulable(self.name(), REASON_ANTI_AFFINITY);
            }
        }
        let forbidden = node.labels.iter().any(|(k, v)| {
            counts
                .existing_anti
                .get(&(k.clone(), v.clone()))
                .is_some_and(|n| *n > 0)
        });
        if forbidden {
            return Status::unschedulable(self.name(), REASON_EXISTING_ANTI_AFFINITY);
        }
        Status::success()
    }
}

/// Adds `weight` for `term` to the domain of `node` when `term` is about `target`.
fn add(
    scores: &mut PairCounts,
    term: &AffinityTerm,
    target: &PodInfo,
    node: &NodeInfo,
    weight: i64,
    ns: &dyn Fn(&str) -> Option<crate::selectors::Labels>,
) {
    if term.matches(target, ns) {
        if let Some(p) = pair(term, node) {
            *scores.entry(p).or_insert(0) += weight;
        }
    }
}

impl Score for InterPodAffinity {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot<'_>,
        _: &[&NodeInfo],
    ) -> Status {
        let ns = |name: &str| snapshot.namespace_labels(name);
        let own = !(pod.preferred_affinity.is_empty() && pod.preferred_anti_affinity.is_empty());
        let mut scores = PairCounts::new();
        for node in snapshot.nodes {
            let existing_pods = if own {
                &node.pods
            } else {
                &node.pods_with_affinity
            };
            for existing in existing_pods {
                for t in &pod.preferred_affinity {
                    add(&mut scores, t, existing, node, t.weight, &ns);
                }
                for t in &pod.preferred_anti_affinity {
                    add(&mut scores, t, existing, node, -t.weight, &ns);
                }
                for t in &existing.required_affinity {
                    add(&mut scores, t, pod, node, HARD_POD_AFFINITY_WEIGHT, &ns);
                }
                for t in &existing.preferred_affinity {
                    add(&mut scores, t, pod, node, t.weight, &ns);
                }
                for t in &existing.preferred_anti_affinity {
                    add(&mut scores, t, pod, node, -t.weight, &ns);
                }
            }
        }
        if scores.is_empty() {
            return Status::skip();
        }
        state.write(SCORE_STATE, scores);
        Status::success()
    }

    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> i64 {
        let Some(scores) = state.read::<PairCounts>(SCORE_STATE) else {
            return 0;
        };
        node.labels
            .iter()
            .map(|(k, v)| scores.get(&(k.clone(), v.clone())).copied().unwrap_or(0))
            .sum()
    }

    fn normalize(&self, _: &CycleState, scores: &mut [i64]) {
        let (min, max) = scores
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), s| (lo.min(*s), hi.max(*s)));
        let diff = max.saturating_sub(min);
        for s in scores.iter_mut() {
            *s = if diff > 0 {
                MAX_NODE_SCORE * (*s - min) / diff
            } else {
                0
            };
        }
    }
}

#[cfg(test)]
#[path = "inter_pod_affinity_tests.rs"]
mod tests;
