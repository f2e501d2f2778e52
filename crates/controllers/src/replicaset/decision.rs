//! The ReplicaSet controller's decisions, without I/O: how many pods to create or which to
//! delete, in what batches, and the status that reports what was observed.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use serde_json::{json, Value};

use crate::workload::pod::{has_labels, is_available, is_ready};
use crate::workload::ranking::pods_to_delete;

/// The most pods created or deleted in one sync (upstream's `BurstReplicas`).
pub const BURST_REPLICAS: usize = 500;

/// What to do about the number of pods.
#[derive(Debug, PartialEq)]
pub enum Manage<'a> {
    /// The count is right.
    Nothing,
    /// Create this many pods.
    Create(usize),
    /// Delete these pods.
    Delete(Vec<&'a Pod>),
}

/// Decides how to bring the active pods `pods` to `desired`; `related` are the pods whose
/// placement ranks the candidates for deletion.
pub fn manage<'a>(desired: i32, pods: &'a [Pod], related: &[Pod], now: Timestamp) -> Manage<'a> {
    let desired = usize::try_from(desired).unwrap_or(0);
    if pods.len() < desired {
        Manage::Create((desired - pods.len()).min(BURST_REPLICAS))
    } else if pods.len() > desired {
        let count = (pods.len() - desired).min(BURST_REPLICAS);
        Manage::Delete(pods_to_delete(pods, related, count, now))
    } else {
        Manage::Nothing
    }
}

/// Why managing the pods failed, for the ReplicaFailure condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `FailedCreate` or `FailedDelete`.
    pub reason: String,
    /// The error.
    pub message: String,
}

/// A ReplicaSet's or ReplicationController's status (the two have the same shape).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplicaStatus {
    /// Active pods.
    pub replicas: i32,
    /// Active pods carrying every label of the template.
    pub fully_labeled_replicas: i32,
    /// Active pods that are Ready.
    pub ready_replicas: i32,
    /// Active pods Ready for at least minReadySeconds.
    pub available_replicas: i32,
    /// The generation this status describes.
    pub observed_generation: i64,
    /// The `ReplicaFailure` condition, when true: (reason, message, lastTransitionTime).
    pub failure: Option<(String, String, Timestamp)>,
}

impl ReplicaStatus {
    /// The status as the `status` object of a merge patch.
    pub fn to_json(&self) -> Value {
        let conditions = self.failure.as_ref().map(|(reason, message, at)| {
            json!([{
                "type": "ReplicaFailure",
                "status": "True",
                "reason": reason,
                "message": message,
                "lastTransitionTime": k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(*at),
            }])
        });
        json!({
            "replicas": self.replicas,
            "fullyLabeledReplicas": self.fully_labeled_replicas,
            "readyReplicas": self.ready_replicas,
            "availableReplicas": self.available_replicas,
            "observedGeneration": self.observed_generation,
            "conditions": conditions,
        })
    }
}

/// The status for the active pods `pods` of an object at `generation` whose template has
/// `template_labels`, after a sync that ended with `failure`; `current` is the status as
/// stored, whose failure condition keeps its transition time while it holds.
pub fn status(
    current: &ReplicaStatus,
    generation: i64,
    template_labels: &BTreeMap<String, String>,
    min_ready_seconds: i32,
    pods: &[Pod],
    failure: Option<&Failure>,
    now: Timestamp,
) -> ReplicaStatus {
    let count = |f: &dyn Fn(&Pod) -> bool| {
        i32::try_from(pods.iter().filter(|p| f(p)).count()).unwrap_or(i32::MAX)
    };
    let failure = match (failure, &current.failure) {
        (Some(f), Some((reason, _, at))) if *reason == f.reason => {
            Some((f.reason.clone(), f.message.clone(), *at))
        }
        (Some(f), _) => Some((f.reason.clone(), f.message.clone(), now)),
        (None, _) => None,
    };
    ReplicaStatus {
        replicas: count(&|_| true),
        fully_labeled_replicas: count(&|p| has_labels(p.metadata.labels.as_ref(), template_labels)),
        ready_replicas: count(&is_ready),
        available_replicas: count(&|p| is_available(p, min_ready_seconds, now)),
        observed_generation: generation,
        failure,
    }
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
