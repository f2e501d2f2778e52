//! A DaemonSet's rolling update, decided without I/O, as upstream's `rollingUpdate`: without
//! surge, old pods are deleted (their replacements come with the next sync) while fewer than
//! `maxUnavailable` nodes lack an available updated pod; with surge, new pods start beside
//! old ones on up to `maxSurge` nodes, and each old pod goes once its successor is available.
//! Old pods that are unavailable anyway are always replaced at once.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;

use super::decision::{budgets, is_updated, pod_for, Input, Plan};
use super::placement::Placement;
use crate::workload::pod::is_available;

/// A node's pods split by template: (updated, old); `None` when there is more than one of
/// either (the next sync's management prunes them first).
fn split<'a>(input: &Input<'_>, pods: &[&'a Pod]) -> Option<(Option<&'a Pod>, Option<&'a Pod>)> {
    let (mut new, mut old) = (None, None);
    for pod in pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
    {
        let slot = if is_updated(pod, input.hash, input.ds.metadata.generation) {
            &mut new
        } else {
            &mut old
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(*pod);
    }
    Some((new, old))
}

/// Adds the rolling update's creates and deletes to `plan`.
pub fn update(
    input: &Input<'_>,
    on_node: &BTreeMap<&str, Vec<&Pod>>,
    placements: &[(&str, Placement)],
    plan: &mut Plan,
) {
    let desired = plan.status.desired_number_scheduled;
    let mut nodes: BTreeMap<&str, Vec<&Pod>> = on_node.clone();
    for (node, _) in placements.iter().filter(|(_, p)| p.should_run) {
        nodes.entry(node).or_default();
    }
    let (surge, unavailable) = budgets(input.ds, desired);
    let min_ready = input
        .ds
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let available = |p: &Pod| is_available(p, min_ready, input.now);
    let budget = if surge > 0 { surge } else { unavailable };
    let (mut used, mut always, mut candidates) = (0, Vec::new(), Vec::new());
    for (node, pods) in &nodes {
        let Some((new, old)) = split(input, pods) else {
            used += 1;
            continue;
        };
        match (new, old, surge > 0) {
            // Nothing to replace, or management still has work here.
            (None, None, false) | (Some(_), Some(_), false) => used += 1,
            (None, None, true) | (Some(_), None, true) => {}
            (Some(new), None, false) => used += i32::from(!available(new)),
            (Some(new), Some(old), true) => {
                if available(new) {
                    plan.delete.push(Pod::clone(old));
                } else {
                    used += 1;
                }
            }
            (None, Some(old), _) if !available(old) => always.push((*node, old)),
            (None, Some(old), _) => {
                if used < budget {
                    candidates.push((*node, old));
                }
            }
        }
    }
    let room = usize::try_from((budget - used).max(0)).unwrap_or(0);
    let chosen = always.into_iter().chain(candidates.into_iter().take(room));
    for (node, old) in chosen {
        if surge > 0 {
            plan.create.push(pod_for(input.ds, node, input.hash));
        } else {
            plan.delete.push(Pod::clone(old));
        }
    }
}
