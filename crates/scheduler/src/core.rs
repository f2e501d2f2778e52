//! One scheduling decision, without I/O: pre-filter, filter nodes (a rotating, adaptively sized
//! sample in big clusters, as upstream's `percentageOfNodesToScore`), score the feasible ones,
//! and pick the best with a seeded random tie-break.

use crate::cache::Snapshot;
use crate::fit_error::FitError;
use crate::framework::{CycleState, Framework, PreBindWrite, Status};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

/// Below this many nodes every node is filtered.
const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// The adaptive percentage never drops below this.
const MIN_FEASIBLE_NODES_PERCENTAGE: usize = 5;

/// A source of randomness for tie-breaks, injected so decisions are reproducible in tests.
pub trait Rng: Send {
    /// The next 64 random bits.
    fn next_u64(&mut self) -> u64;
}

/// A small seeded generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
}

impl Rng for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// How many feasible nodes to look for among `all` nodes, as upstream's
/// `numFeasibleNodesToFind`: every node in small clusters; in big ones a percentage that
/// shrinks as the cluster grows (50% minus 1% per 125 nodes, at least 5%) unless configured.
pub fn feasible_nodes_to_find(percentage: u32, all: usize) -> usize {
    if all < MIN_FEASIBLE_NODES_TO_FIND || percentage >= 100 {
        return all;
    }
    let pct = match percentage as usize {
        0 => 50usize
            .saturating_sub(all / 125)
            .max(MIN_FEASIBLE_NODES_PERCENTAGE),
        p => p,
    };
    (all * pct / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
}

/// Where a pod should go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The chosen node.
    pub node: String,
    /// Nodes filtered.
    pub evaluated: usize,
    /// Nodes found feasible.
    pub feasible: usize,
    /// What the PreBind plugins need written before the binding.
    pub pre_bind: Vec<PreBindWrite>,
}

/// The decision maker: the framework plus the state carried between decisions.
pub struct Algorithm {
    /// The profile.
    pub framework: Framework,
    next_start: usize,
    rng: Box<dyn Rng>,
}

impl Algorithm {
    /// A decision maker for `framework`, breaking ties with `rng`.
    pub fn new(framework: Framework, rng: Box<dyn Rng>) -> Self {
        Self {
            framework,
            next_start: 0,
            rng,
        }
    }

    /// Decides where `pod` goes in `snapshot`.
    ///
    /// # Errors
    /// A [`FitError`] when no node fits (its `post_filter_msg` is left for preemption).
    pub fn schedule(
        &mut self,
        pod: &PodInfo,
        snapshot: &Snapshot<'_>,
    ) -> Result<Placement, Box<FitError>> {
        let all = snapshot.nodes.len();
        let mut err = Box::new(FitError {
            num_all_nodes: all,
            ..FitError::default()
        });
        if all == 0 {
            return Err(err);
        }
        let mut state = CycleState::new();
        let narrowed = match self.framework.run_pre_filters(&mut state, pod, snapshot) {
            Ok(n) => n,
            Err(status) => {
                err.pre_filter = Some(status);
                return Err(err);
            }
        };
        let (feasible, evaluated) =
            self.find_feasible(&state, pod, snapshot, narrowed.as_ref(), &mut err);
        if feasible.is_empty() {
            return Err(err);
        }
        let node = if feasible.len() == 1 {
            feasible[0]
        } else {
            let scores = self.score(&mut state, pod, snapshot, &feasible);
            self.select(&feasible, &scores)
        };
        Ok(Placement {
            node: node.name.clone(),
            evaluated,
            feasible: feasible.len(),
            pre_bind: self.framework.run_pre_binds(&state, pod, node),
        })
    }

    /// Filters nodes from the rotating start until enough are feasible; rejected nodes'
    /// statuses go to `err`. Returns the feasible nodes and how many were evaluated.
    fn find_feasible<'s>(
        &mut self,
        state: &CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot<'s>,
        narrowed: Option<&std::collections::HashSet<String>>,
        err: &mut FitError,
    ) -> (Vec<&'s NodeInfo>, usize) {
        let nodes = snapshot.nodes;
        let all = nodes.len();
        let wanted = feasible_nodes_to_find(self.framework.percentage_of_nodes_to_score, all);
        let filters = self.framework.active_filters(state);
        let mut feasible = Vec::with_capacity(wanted.min(all));
        let mut evaluated = 0;
        for i in 0..all {
            let node = &nodes[(self.next_start + i) % all];
            evaluated += 1;
            if narrowed.is_some_and(|names| !names.contains(&node.name)) {
                err.node_statuses.insert(node.name.clone(), narrowed_out());
                continue;
            }
            let status = crate::framework::run_filters(&filters, state, pod, node);
            if status.is_success() {
                feasible.push(node);
                if feasible.len() >= wanted {
                    break;
                }
            } else {
                err.node_statuses.insert(node.name.clone(), status);
            }
        }
        self.next_start = (self.next_start + evaluated) % all;
        (feasible, evaluated)
    }

    /// The weighted, normalized total score of each feasible node.
    fn score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot<'_>,
        nodes: &[&NodeInfo],
    ) -> Vec<i64> {
        let mut totals = vec![0i64; nodes.len()];
        for w in &self.framework.score {
            if w.plugin.pre_score(state, pod, snapshot, nodes).is_skip() {
                continue;
            }
            let mut scores: Vec<i64> = nodes
                .iter()
                .map(|n| w.plugin.score(state, pod, n))
                .collect();
            w.plugin.normalize(state, &mut scores);
            for (t, s) in totals.iter_mut().zip(scores) {
                *t += s * w.weight;
            }
        }
        totals
    }

    /// The highest-scoring node; ties are broken uniformly at random.
    fn select<'s>(&mut self, nodes: &[&'s NodeInfo], scores: &[i64]) -> &'s NodeInfo {
        let mut best = 0;
        let mut ties = 0u64;
        for (i, s) in scores.iter().enumerate() {
            if *s > scores[best] {
                best = i;
                ties = 1;
            } else if *s == scores[best] {
                ties += 1;
                if self.rng.next_u64().is_multiple_of(ties) {
                    best = i;
                }
            }
        }
        nodes[best]
    }
}

fn narrowed_out() -> Status {
    Status::unresolvable("", "node(s) didn't satisfy plugin(s) [NodeAffinity]")
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
