//! A PodDisruptionBudget's status, as upstream's disruption controller computes it: how many
//! pods are expected and how many must stay healthy (from `minAvailable` or `maxUnavailable`,
//! percentages against the owning controllers' scale), how many are healthy (ready, not being
//! deleted, not just evicted), and so how many disruptions are allowed now.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::deployment::util::scaled;
use crate::workload::pod::is_ready;

/// How long an evicted pod may take to be deleted before it counts again (upstream's
/// `DeletionTimeout`).
pub const DELETION_TIMEOUT: SignedDuration = SignedDuration::from_secs(120);

/// The condition saying whether an eviction would be allowed now.
pub const DISRUPTION_ALLOWED: &str = "DisruptionAllowed";

/// How many pods the budget expects and wants healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// `expectedPods`.
    pub expected: i32,
    /// `desiredHealthy`.
    pub desired_healthy: i32,
}

/// Whether the budget's counts depend on the scale of the pods' controllers: with
/// `maxUnavailable`, or a percentage `minAvailable`.
pub fn needs_scale(pdb: &PodDisruptionBudget) -> bool {
    let spec = pdb.spec.as_ref();
    spec.is_some_and(|s| s.max_unavailable.is_some())
        || matches!(
            spec.and_then(|s| s.min_available.as_ref()),
            Some(IntOrString::String(_))
        )
}

/// The counts of the budget over `pods` selected pods, `scale` being the summed scale of their
/// controllers (used when [`needs_scale`]).
pub fn counts(pdb: &PodDisruptionBudget, pods: usize, scale: i32) -> Counts {
    let spec = pdb.spec.clone().unwrap_or_default();
    if let Some(max) = spec.max_unavailable.as_ref() {
        let unavailable = scaled(Some(max), scale, true);
        return Counts {
            expected: scale,
            desired_healthy: (scale - unavailable).max(0),
        };
    }
    match spec.min_available.as_ref() {
        Some(IntOrString::Int(n)) => Counts {
            expected: i32::try_from(pods).unwrap_or(i32::MAX),
            desired_healthy: *n,
        },
        Some(percent @ IntOrString::String(_)) => Counts {
            expected: scale,
            desired_healthy: scaled(Some(percent), scale, true),
        },
        None => Counts {
            expected: 0,
            desired_healthy: 0,
        },
    }
}

/// The pods evicted but not yet deleted, as the budget's status should keep them: entries of
/// pods that are gone, being deleted, or overdue are dropped. Also returns when the earliest
/// kept entry falls due and the names of the overdue pods.
pub fn disrupted_pods(
    pods: &[&Pod],
    recorded: Option<&BTreeMap<String, Time>>,
    now: Timestamp,
) -> (BTreeMap<String, Time>, Option<Timestamp>, Vec<String>) {
    let mut kept = BTreeMap::new();
    let mut recheck: Option<Timestamp> = None;
    let mut overdue = Vec::new();
    let Some(recorded) = recorded else {
        return (kept, recheck, overdue);
    };
    for pod in pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
    {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let Some(at) = recorded.get(&name) else {
            continue;
        };
        let due = at.0.saturating_add(DELETION_TIMEOUT).unwrap_or(at.0);
        if due < now {
            overdue.push(name);
        } else {
            recheck = Some(recheck.map_or(due, |r| r.min(due)));
            kept.insert(name, at.clone());
        }
    }
    (kept, recheck, overdue)
}

/// Ready pods that are neither being deleted nor just evicted.
pub fn healthy(pods: &[&Pod], disrupted: &BTreeMap<String, Time>) -> i32 {
    let count = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| !disrupted.contains_key(p.metadata.name.as_deref().unwrap_or_default()))
        .filter(|p| is_ready(p))
        .count();
    i32::try_from(count).unwrap_or(i32::MAX)
}

/// Sets the `DisruptionAllowed` condition from the allowed disruptions, keeping its
/// transition time while its status holds.
pub fn set_allowed_condition(status: &mut PodDisruptionBudgetStatus, now: Timestamp) {
    let (value, reason) = if status.disruptions_allowed > 0 {
        ("True", "SufficientPods")
    } else {
        ("False", "InsufficientPods")
    };
    set_condition(status, value, reason, "", now);
}

fn set_condition(
    status: &mut PodDisruptionBudgetStatus,
    value: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) {
    let observed = status.observed_generation;
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let transition = conditions
        .iter()
        .find(|c| c.type_ == DISRUPTION_ALLOWED && c.status == value)
        .map_or(Time(now), |c| c.last_transition_time.clone());
    conditions.retain(|c| c.type_ != DISRUPTION_ALLOWED);
    conditions.push(Condition {
        type_: DISRUPTION_ALLOWED.to_owned(),
        status: value.to_owned(),
        reason: reason.to_owned(),
        message: message.to_owned(),
        observed_generation: observed,
        last_transition_time: transition,
    });
}

/// The status of `pdb` over its selected `pods` with `counts`, and when it must be computed
/// again (an evicted pod falling due); also the pods evicted long ago but not deleted.
pub fn status(
    pdb: &PodDisruptionBudget,
    pods: &[&Pod],
    counts: Counts,
    now: Timestamp,
) -> (PodDisruptionBudgetStatus, Option<Timestamp>, Vec<String>) {
    let old = pdb.status.clone().unwrap_or_default();
    let (disrupted, recheck, overdue) = disrupted_pods(pods, old.disrupted_pods.as_ref(), now);
    let current = healthy(pods, &disrupted);
    let allowed = if counts.expected <= 0 {
        0
    } else {
        (current - counts.desired_healthy).max(0)
    };
    let mut status = PodDisruptionBudgetStatus {
        observed_generation: pdb.metadata.generation,
        disruptions_allowed: allowed,
        current_healthy: current,
        desired_healthy: counts.desired_healthy,
        expected_pods: counts.expected,
        disrupted_pods: (!disrupted.is_empty()).then_some(disrupted),
        conditions: old.conditions,
    };
    set_allowed_condition(&mut status, now);
    (status, recheck, overdue)
}

/// The status after a failed sync: no disruption allowed, `SyncFailed` saying why.
pub fn fail_safe(
    pdb: &PodDisruptionBudget,
    why: &str,
    now: Timestamp,
) -> PodDisruptionBudgetStatus {
    let mut status = pdb.status.clone().unwrap_or_default();
    status.disruptions_allowed = 0;
    set_condition(&mut status, "False", "SyncFailed", why, now);
    status
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
