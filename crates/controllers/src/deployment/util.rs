//! Reading Deployments and their ReplicaSets the way upstream's `deployment_util.go` does:
//! surge and unavailability budgets, revisions, the annotations a Deployment keeps on its
//! ReplicaSets, and the orders ReplicaSets are considered in.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The revision of a Deployment and of each of its ReplicaSets.
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// Earlier revisions a ReplicaSet had, when rollbacks reused it.
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// The Deployment's replicas when the ReplicaSet was last scaled.
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// The Deployment's replicas plus surge when the ReplicaSet was last scaled.
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// The longest revision-history annotation kept.
const MAX_REVISION_HISTORY_CHARS: usize = 2000;
/// Annotations of a Deployment not copied onto its ReplicaSets.
const NOT_COPIED: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];

/// The Deployment's desired replicas.
pub fn desired(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// A ReplicaSet's desired replicas.
pub fn replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// Sets a ReplicaSet's desired replicas.
pub fn set_replicas(rs: &mut ReplicaSet, n: i32) {
    rs.spec.get_or_insert_with(Default::default).replicas = Some(n);
}

/// A ReplicaSet's observed (status) replicas and available replicas.
pub fn observed(rs: &ReplicaSet) -> (i32, i32) {
    rs.status
        .as_ref()
        .map_or((0, 0), |s| (s.replicas, s.available_replicas.unwrap_or(0)))
}

/// Whether the Deployment rolls out with the RollingUpdate strategy (the default).
pub fn is_rolling(d: &Deployment) -> bool {
    let kind = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref());
    kind != Some("Recreate")
}

pub use crate::workload::scaled;

/// (maxSurge, maxUnavailable) resolved against `replicas`; both zero becomes one unavailable.
fn fenceposts(d: &Deployment) -> (i32, i32) {
    let rolling = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    let quarter = IntOrString::String("25%".to_owned());
    let surge = rolling.map_or(Some(&quarter), |r| r.max_surge.as_ref());
    let unavailable = rolling.map_or(Some(&quarter), |r| r.max_unavailable.as_ref());
    let total = desired(d);
    let surge = scaled(surge, total, true);
    let unavailable = scaled(unavailable, total, false);
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// How many pods above the desired count a rolling update may run.
pub fn max_surge(d: &Deployment) -> i32 {
    if is_rolling(d) {
        fenceposts(d).0
    } else {
        0
    }
}

/// How many pods below the desired count a rolling update may leave unavailable.
pub fn max_unavailable(d: &Deployment) -> i32 {
    if !is_rolling(d) || desired(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(desired(d))
}

/// An annotation of a ReplicaSet.
pub fn annotation<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a str> {
    rs.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// A ReplicaSet's revision (0 when absent or unreadable).
pub fn revision(rs: &ReplicaSet) -> i64 {
    annotation(rs, REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// Gives a ReplicaSet the annotations the Deployment keeps on its newest one: the Deployment's
/// own (but the bookkeeping ones), `revision`, the revisions it had before when a rollback
/// brings it back, and, for one about to be created, the replica counts. Returns whether
/// anything changed.
pub fn set_new_rs_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: i64,
    exists: bool,
) -> bool {
    let own = d.metadata.annotations.clone().unwrap_or_default();
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (k, v) in own
        .iter()
        .filter(|(k, _)| !NOT_COPIED.contains(&k.as_str()))
    {
        if annotations.get(k) != Some(v) {
            annotations.insert(k.clone(), v.clone());
            changed = true;
        }
    }
    let old = annotations.get(REVISION).cloned();
    let old_number = old
        .as_deref()
        .and_then(|r| r.parse::<i64>().ok())
        .unwrap_or(0);
    if old_number < new_revision {
        annotations.insert(REVISION.to_owned(), new_revision.to_string());
        changed = true;
        if let Some(old) = old {
            append_history(annotations, &old);
        }
    }
    if !exists {
        changed |= set_replicas_annotations(rs, desired(d), desired(d) + max_surge(d));
    }
    changed
}

fn append_history(annotations: &mut BTreeMap<String, String>, old: &str) {
    let history = annotations
        .get(REVISION_HISTORY)
        .cloned()
        .unwrap_or_default();
    let mut revisions: Vec<&str> = history.split(',').filter(|r| !r.is_empty()).collect();
    revisions.push(old);
    while revisions.join(",").len() > MAX_REVISION_HISTORY_CHARS && revisions.len() > 1 {
        revisions.remove(0);
    }
    annotations.insert(REVISION_HISTORY.to_owned(), revisions.join(","));
}

/// Records the Deployment's replicas and replicas-plus-surge on a ReplicaSet; returns whether
/// they changed.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (key, value) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        let value = value.to_string();
        if annotations.get(key) != Some(&value) {
            annotations.insert(key.to_owned(), value);
            changed = true;
        }
    }
    changed
}

/// Older first, by creation time then name.
pub fn by_creation(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    let created = |rs: &ReplicaSet| rs.metadata.creation_timestamp.as_ref().map(|t| t.0);
    created(a)
        .cmp(&created(b))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// Lower revision first, then older.
pub fn by_revision(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    revision(a)
        .cmp(&revision(b))
        .then_with(|| by_creation(a, b))
}

/// Whether the ReplicaSet has desired or observed pods.
pub fn is_active(rs: &ReplicaSet) -> bool {
    replicas(rs) > 0
}

#[cfg(test)]
#[path = "util_tests.rs"]
mod tests;
