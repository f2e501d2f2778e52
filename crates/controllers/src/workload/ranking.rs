//! The order pods are removed in when a controller scales down, as upstream's: the pods that
//! cost least to lose go first.
//!
//! Unassigned before assigned; Pending before Unknown before Running; not ready before ready;
//! lower `controller.kubernetes.io/pod-deletion-cost` first; pods sharing a node with more of
//! their siblings first; ready for less time first; more container restarts first; newer
//! first. Ready and creation times compare on a logarithmic scale (durations within the same
//! power of two are equal), ties broken by UID, as upstream's `LogarithmicScaleDown`.

use std::cmp::Ordering;
use std::collections::HashMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use super::pod::{is_active, is_ready, ready_since};

/// The annotation that tells which pods are cheaper to delete.
pub const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// The `count` pods of `pods` to delete first. `related` are the pods whose presence on a node
/// makes a pod "doubled up" (usually `pods` itself, or every pod of the same Deployment).
pub fn pods_to_delete<'a>(
    pods: &'a [Pod],
    related: &[Pod],
    count: usize,
    now: Timestamp,
) -> Vec<&'a Pod> {
    let mut on_node: HashMap<&str, usize> = HashMap::new();
    for pod in related.iter().filter(|p| is_active(p)) {
        *on_node.entry(node_of(pod)).or_default() += 1;
    }
    let mut ranked: Vec<(&Pod, usize)> = pods
        .iter()
        .map(|p| (p, on_node.get(node_of(p)).copied().unwrap_or(0)))
        .collect();
    ranked.sort_by(|a, b| compare(a, b, now));
    ranked.into_iter().take(count).map(|(p, _)| p).collect()
}

fn node_of(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("")
}

fn phase_ordinal(pod: &Pod) -> u8 {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 0,
    }
}

/// The pod's deletion cost; absent or invalid counts as 0.
pub fn deletion_cost(pod: &Pod) -> i32 {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DELETION_COST))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn max_restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.iter().map(|c| c.restart_count).max())
        .unwrap_or(0)
}

/// `Less` means "delete first".
fn compare(a: &(&Pod, usize), b: &(&Pod, usize), now: Timestamp) -> Ordering {
    let (pa, ra) = (a.0, a.1);
    let (pb, rb) = (b.0, b.1);
    let (na, nb) = (node_of(pa), node_of(pb));
    if na != nb && (na.is_empty() || nb.is_empty()) {
        return nb.is_empty().cmp(&na.is_empty());
    }
    phase_ordinal(pa)
        .cmp(&phase_ordinal(pb))
        .then_with(|| is_ready(pa).cmp(&is_ready(pb)))
        .then_with(|| deletion_cost(pa).cmp(&deletion_cost(pb)))
        .then_with(|| rb.cmp(&ra))
        .then_with(|| {
            let ready = |p: &Pod| ready_since(p).flatten();
            if is_ready(pa) && is_ready(pb) {
                newer_first(ready(pa), ready(pb), pa, pb, now)
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| max_restarts(pb).cmp(&max_restarts(pa)))
        .then_with(|| {
            let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
            newer_first(created(pa), created(pb), pa, pb, now)
        })
}

/// Missing times first, then newer before older on a log2 scale of age, ties by UID.
fn newer_first(
    ta: Option<Timestamp>,
    tb: Option<Timestamp>,
    pa: &Pod,
    pb: &Pod,
    now: Timestamp,
) -> Ordering {
    if ta == tb {
        return Ordering::Equal;
    }
    match (ta, tb) {
        (None, _) => Ordering::Less,
        (_, None) => Ordering::Greater,
        (Some(ta), Some(tb)) => match log_age(ta, now).cmp(&log_age(tb, now)) {
            Ordering::Equal => pa.metadata.uid.cmp(&pb.metadata.uid),
            other => other,
        },
    }
}

/// floor(log2(age in nanoseconds)), or -1 for a time not in the past.
fn log_age(t: Timestamp, now: Timestamp) -> i64 {
    let nanos = now.duration_since(t).as_nanos();
    if nanos <= 0 {
        return -1;
    }
    i64::from(127 - nanos.leading_zeros())
}

#[cfg(test)]
#[path = "ranking_tests.rs"]
mod tests;
