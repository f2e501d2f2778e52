//! When a pod on a node with `NoExecute` taints must go, as upstream's taint eviction
//! controller decides: at once when a taint is not tolerated, after the shortest
//! `tolerationSeconds` of the tolerations used when all are, never when those tolerate
//! forever. The wait counts from when the controller first saw the pod tainted.

use k8s_openapi::api::core::v1::{Taint, Toleration};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::taints::tolerates;

/// The effect that evicts running pods.
const NO_EXECUTE: &str = "NoExecute";

/// An eviction waiting for its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    /// The pod it is for (a new pod of the same name starts afresh).
    pub uid: String,
    /// When the controller first saw the pod tainted.
    pub created: Timestamp,
    /// When the pod is to be deleted.
    pub fire_at: Timestamp,
}

/// What to do about one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Nothing is scheduled and nothing needs to be.
    Nothing,
    /// Drop the scheduled eviction: the pod tolerates its node's taints now.
    Cancel,
    /// Evict the pod at the given time.
    At(Scheduled),
    /// Evict the pod now.
    Now,
}

/// How long the pod may stay given the tolerations that matched its node's taints: the
/// shortest `tolerationSeconds` (none or a negative one means at once); `None` when every one
/// tolerates forever.
fn toleration_time(used: &[&Toleration]) -> Option<SignedDuration> {
    if used.is_empty() {
        return Some(SignedDuration::ZERO);
    }
    used.iter()
        .filter_map(|t| t.toleration_seconds)
        .map(|s| SignedDuration::from_secs(s.max(0)))
        .min()
}

/// Plans the eviction of pod `uid` with `tolerations` on a node with `taints`, given what is
/// already `scheduled`, at `now`.
pub fn plan(
    uid: &str,
    tolerations: &[Toleration],
    taints: &[Taint],
    scheduled: Option<&Scheduled>,
    now: Timestamp,
) -> Plan {
    let scheduled = scheduled.filter(|s| s.uid == uid);
    let unsettled = || {
        if scheduled.is_some() {
            Plan::Cancel
        } else {
            Plan::Nothing
        }
    };
    let mut used = Vec::new();
    for taint in taints.iter().filter(|t| t.effect == NO_EXECUTE) {
        match tolerations.iter().find(|t| tolerates(t, taint)) {
            Some(toleration) => used.push(toleration),
            None => return Plan::Now,
        }
    }
    if taints.iter().all(|t| t.effect != NO_EXECUTE) {
        return unsettled();
    }
    let Some(wait) = toleration_time(&used) else {
        return unsettled();
    };
    let created = scheduled.map_or(now, |s| s.created);
    let fire_at = created.saturating_add(wait).unwrap_or(created);
    if fire_at <= now {
        return Plan::Now;
    }
    Plan::At(Scheduled {
        uid: uid.to_owned(),
        created,
        fire_at,
    })
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
