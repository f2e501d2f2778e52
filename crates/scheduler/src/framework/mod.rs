//! The scheduling framework: upstream's extension points as traits, the per-cycle state plugins
//! share, and a [`Framework`] (a profile) listing the plugins enabled at each point.
//!
//! Every extension point here is free of I/O: plugins read the pod and the cluster
//! [`Snapshot`] and answer. PreBind plugins say which API writes must precede the binding
//! ([`PreBindWrite`]); the runtime ([`crate::run`]) makes them, and binds.

mod state;
mod status;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

pub use state::CycleState;
pub use status::{Code, Status};

use crate::cache::Snapshot;
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

/// The highest score a Score plugin gives a node (after normalizing).
pub const MAX_NODE_SCORE: i64 = 100;

/// Every plugin has a name (used in statuses and configuration).
pub trait Plugin: Send + Sync {
    /// The plugin's upstream name (`NodeResourcesFit`).
    fn name(&self) -> &'static str;
}

/// QueueSort: orders the active queue. Higher rank pops first; equal ranks pop in arrival order.
pub trait QueueSort: Plugin {
    /// The rank of `pod`.
    fn rank(&self, pod: &PodInfo) -> i64;
}

/// What a PreFilter plugin found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreFilterResult {
    /// The only nodes worth filtering (`None`: all).
    pub nodes: Option<HashSet<String>>,
}

/// PreFilter: checks the pod once per cycle and precomputes what its Filter needs.
pub trait PreFilter: Plugin {
    /// Runs before filtering. `Err` with a rejecting status fails the pod on every node; a
    /// skip status makes the framework skip this plugin's Filter for the cycle.
    ///
    /// # Errors
    /// A [`Status`] that is a rejection, a skip or an error.
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot<'_>,
    ) -> Result<PreFilterResult, Status>;
}

/// Filter: whether the pod may run on one node.
pub trait Filter: Plugin {
    /// The verdict for `node`.
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;
}

/// Score: how much a feasible node suits the pod, 0..=[`MAX_NODE_SCORE`] after normalizing.
pub trait Score: Plugin {
    /// Runs once before scoring the feasible `nodes`; a skip status skips this plugin's scoring.
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot<'_>,
        nodes: &[&NodeInfo],
    ) -> Status {
        let _ = (state, pod, snapshot, nodes);
        Status::success()
    }

    /// The raw score of `node`.
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64;

    /// Rescales the raw scores of all feasible nodes (in the order scored).
    fn normalize(&self, state: &CycleState, scores: &mut [i64]) {
        let _ = (state, scores);
    }
}

/// Reserve: claims what a pod will use on the chosen node before binding; undone on failure.
pub trait Reserve: Plugin {
    /// Claims resources for `pod` on `node`.
    fn reserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str) -> Status;
    /// Releases what [`Reserve::reserve`] claimed.
    fn unreserve(&self, state: &mut CycleState, pod: &PodInfo, node: &str);
}

/// What a Permit plugin decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermitDecision {
    /// Bind now.
    Allow,
    /// Do not bind; the pod goes back to the queue.
    Reject(Status),
    /// Hold the pod (up to the timeout) until another party allows it.
    Wait(Duration),
}

/// Permit: the last say before binding.
pub trait Permit: Plugin {
    /// Decides whether `pod` may be bound to `node`.
    fn permit(&self, state: &CycleState, pod: &PodInfo, node: &str) -> PermitDecision;
}

/// An API write a PreBind plugin needs made before the pod is bound: a JSON merge patch of
/// one object (guarded by the `resourceVersion` it carries, if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreBindWrite {
    /// Patch the PersistentVolumeClaim `namespace/name`.
    Claim {
        /// The claim's namespace.
        namespace: String,
        /// The claim's name.
        name: String,
        /// The merge patch.
        patch: serde_json::Value,
    },
    /// Patch the PersistentVolume `name`.
    Volume {
        /// The volume's name.
        name: String,
        /// The merge patch.
        patch: serde_json::Value,
    },
}

/// PreBind: what must be written before the pod is bound to the chosen node.
pub trait PreBind: Plugin {
    /// The writes for binding `pod` to `node`, from what this cycle found. Any failing write
    /// fails the binding, and the pod is retried.
    fn pre_bind(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Vec<PreBindWrite>;
}

/// A plugin enabled at the score point, with its weight.
#[derive(Clone)]
pub struct Weighted {
    /// The plugin.
    pub plugin: Arc<dyn Score>,
    /// Its weight.
    pub weight: i64,
}

/// A scheduling profile: the plugins enabled at each extension point, in order.
#[derive(Clone)]
pub struct Framework {
    /// The `schedulerName` pods select this profile by.
    pub scheduler_name: String,
    /// Orders the active queue.
    pub queue_sort: Arc<dyn QueueSort>,
    /// PreFilter plugins.
    pub pre_filter: Vec<Arc<dyn PreFilter>>,
    /// Filter plugins.
    pub filter: Vec<Arc<dyn Filter>>,
    /// Score plugins with weights.
    pub score: Vec<Weighted>,
    /// Reserve plugins.
    pub reserve: Vec<Arc<dyn Reserve>>,
    /// Permit plugins.
    pub permit: Vec<Arc<dyn Permit>>,
    /// PreBind plugins.
    pub pre_bind: Vec<Arc<dyn PreBind>>,
    /// Whether DefaultPreemption runs as the PostFilter.
    pub preemption: bool,
    /// Upstream's `percentageOfNodesToScore` (0: adaptive).
    pub percentage_of_nodes_to_score: u32,
}

impl Framework {
    /// The Filter plugins that run this cycle (those whose PreFilter did not skip).
    pub fn active_filters(&self, state: &CycleState) -> Vec<Arc<dyn Filter>> {
        self.filter
            .iter()
            .filter(|p| !state.skips_filter(p.name()))
            .cloned()
            .collect()
    }

    /// The writes every PreBind plugin (whose PreFilter did not skip) needs before `pod` is
    /// bound to `node`.
    pub fn run_pre_binds(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
    ) -> Vec<PreBindWrite> {
        self.pre_bind
            .iter()
            .filter(|p| !state.skips_filter(p.name()))
            .flat_map(|p| p.pre_bind(state, pod, node))
            .collect()
    }

    /// Runs every Filter against `node`, stopping at the first rejection.
    pub fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        run_filters(&self.active_filters(state), state, pod, node)
    }
}

/// Runs `filters` against `node`, stopping at the first rejection.
pub fn run_filters(
    filters: &[Arc<dyn Filter>],
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
) -> Status {
    for plugin in filters {
        let status = plugin.filter(state, pod, node);
        if !status.is_success() {
            return Status {
                plugin: plugin.name(),
                ..status
            };
        }
    }
    Status::success()
}

impl Framework {
    /// Runs every PreFilter: the nodes worth filtering, or the status that rejects the pod.
    ///
    /// # Errors
    /// The first rejecting (or failing) status.
    pub fn run_pre_filters(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot<'_>,
    ) -> Result<Option<HashSet<String>>, Status> {
        let mut nodes: Option<HashSet<String>> = None;
        for plugin in &self.pre_filter {
            match plugin.pre_filter(state, pod, snapshot) {
                Ok(result) => {
                    if let Some(found) = result.nodes {
                        nodes = Some(match nodes {
                            Some(prev) => prev.intersection(&found).cloned().collect(),
                            None => found,
                        });
                    }
                }
                Err(status) if status.is_skip() => state.skip_filter(plugin.name()),
                Err(status) => {
                    return Err(Status {
                        plugin: plugin.name(),
                        ..status
                    })
                }
            }
        }
        Ok(nodes)
    }
}
