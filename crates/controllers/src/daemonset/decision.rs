//! One sync of a DaemonSet, decided without I/O, as upstream's `daemon_controller.go` and
//! `update.go`: one pod on every node where it should run, none elsewhere (including on nodes
//! that are gone), failed pods replaced, then — when nothing else needs doing — the rolling
//! update, which replaces old pods within `maxUnavailable`, or surges new pods beside old ones
//! within `maxSurge`; and the status `kubectl get ds` and `kubectl rollout status ds` read.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{Node, Pod, PodSpec};
use k8s_openapi::jiff::Timestamp;

use super::placement::{add_daemon_tolerations, pin_to_node, placement, target_node, Placement};
use crate::workload::history::CONTROLLER_REVISION_HASH;
use crate::workload::pod::{
    controller_ref, is_available, is_ready, next_availability_check, pod_from_template,
};
use crate::workload::scaled;

/// The label carrying the DaemonSet generation a pod was made at (upstream keeps it for
/// compatibility with the hash).
pub const TEMPLATE_GENERATION: &str = "pod-template-generation";

/// What a sync starts from.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The DaemonSet.
    pub ds: &'a DaemonSet,
    /// Every node.
    pub nodes: &'a [Node],
    /// The pods the DaemonSet controls.
    pub pods: &'a [Pod],
    /// The hash of its current revision.
    pub hash: &'a str,
    /// The current time.
    pub now: Timestamp,
}

/// What one sync does.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Pods to create, one per node that needs one.
    pub create: Vec<Pod>,
    /// Pods to delete.
    pub delete: Vec<Pod>,
    /// Failed pods found, by node (upstream reports each in a `FailedDaemonPod` Event).
    pub failed: Vec<(String, String)>,
    /// The status, computed from the pods before this sync's writes.
    pub status: DaemonSetStatus,
    /// When to sync again though nothing changes (a pod becoming available).
    pub requeue: Option<Duration>,
}

/// The template's pod spec with the daemon tolerations, as placement judges it.
pub fn daemon_spec(ds: &DaemonSet) -> PodSpec {
    let mut spec = ds
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.clone())
        .unwrap_or_default();
    add_daemon_tolerations(&mut spec);
    spec
}

fn min_ready(ds: &DaemonSet) -> i32 {
    ds.spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0)
}

/// Whether a pod is at the DaemonSet's current template: its hash or its generation matches.
pub fn is_updated(pod: &Pod, hash: &str, generation: Option<i64>) -> bool {
    let label = |k: &str| {
        pod.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(k))
            .map(String::as_str)
    };
    (!hash.is_empty() && label(CONTROLLER_REVISION_HASH) == Some(hash))
        || generation.is_some_and(|g| label(TEMPLATE_GENERATION) == Some(g.to_string().as_str()))
}

/// Oldest first, by creation time then name.
fn by_age(pods: &mut [&Pod]) {
    pods.sort_by(|a, b| {
        let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
        created(a)
            .cmp(&created(b))
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
}

/// The pod the DaemonSet runs on `node`.
pub fn pod_for(ds: &DaemonSet, node: &str, hash: &str) -> Pod {
    let mut template = ds
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let labels = template
        .metadata
        .get_or_insert_with(Default::default)
        .labels
        .get_or_insert_with(BTreeMap::new);
    labels.insert(CONTROLLER_REVISION_HASH.to_owned(), hash.to_owned());
    if let Some(generation) = ds.metadata.generation {
        labels.insert(TEMPLATE_GENERATION.to_owned(), generation.to_string());
    }
    let mut spec = daemon_spec(ds);
    pin_to_node(&mut spec, node);
    template.spec = Some(spec);
    let name = ds.metadata.name.as_deref().unwrap_or_default();
    let owner = controller_ref(
        "apps/v1",
        "DaemonSet",
        name,
        ds.metadata.uid.as_deref().unwrap_or_default(),
    );
    pod_from_template(
        &template,
        name,
        ds.metadata.namespace.as_deref().unwrap_or_default(),
        owner,
    )
}

/// The controlled pods by the node they are on or pinned to; finished pods being deleted are
/// left out.
fn by_node(pods: &[Pod]) -> BTreeMap<&str, Vec<&Pod>> {
    let mut map: BTreeMap<&str, Vec<&Pod>> = BTreeMap::new();
    for pod in pods {
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        let finished = matches!(phase, Some("Failed" | "Succeeded"));
        if finished && pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        if let Some(node) = target_node(pod) {
            map.entry(node).or_default().push(pod);
        }
    }
    map
}

/// Decides one sync.
pub fn sync(input: &Input<'_>) -> Plan {
    let ds = input.ds;
    let spec = daemon_spec(ds);
    let on_node = by_node(input.pods);
    let placements: Vec<(&str, Placement)> = input
        .nodes
        .iter()
        .map(|n| {
            (
                n.metadata.name.as_deref().unwrap_or_default(),
                placement(&spec, n),
            )
        })
        .collect();
    let mut plan = Plan {
        status: status(input, &on_node, &placements),
        ..Plan::default()
    };
    let owned: Vec<Pod> = on_node.values().flatten().map(|p| Pod::clone(p)).collect();
    plan.requeue = next_availability_check(&owned, min_ready(ds), input.now);
    if ds.metadata.deletion_timestamp.is_some() {
        return plan;
    }
    manage(input, &on_node, &placements, &mut plan);
    if plan.create.is_empty() && plan.delete.is_empty() && is_rolling(ds) {
        super::rolling::update(input, &on_node, &placements, &mut plan);
    }
    plan
}

/// Whether the DaemonSet updates with the RollingUpdate strategy (the default).
pub fn is_rolling(ds: &DaemonSet) -> bool {
    let strategy = ds.spec.as_ref().and_then(|s| s.update_strategy.as_ref());
    strategy.and_then(|s| s.type_.as_deref()) != Some("OnDelete")
}

/// (maxSurge, maxUnavailable) against `desired` nodes; both zero means one unavailable.
pub fn budgets(ds: &DaemonSet, desired: i32) -> (i32, i32) {
    if !is_rolling(ds) {
        return (0, 0);
    }
    let rolling = ds
        .spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    let surge = scaled(rolling.and_then(|r| r.max_surge.as_ref()), desired, true);
    let unavailable = match rolling.and_then(|r| r.max_unavailable.as_ref()) {
        None => 1,
        value => scaled(value, desired, true),
    };
    if desired > 0 && surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// Creates and deletes so that each node has the pods it should.
fn manage(
    input: &Input<'_>,
    on_node: &BTreeMap<&str, Vec<&Pod>>,
    placements: &[(&str, Placement)],
    plan: &mut Plan,
) {
    let ds = input.ds;
    let (surge, _) = budgets(ds, plan.status.desired_number_scheduled);
    for (node, place) in placements {
        let pods = on_node.get(node).map(Vec::as_slice).unwrap_or_default();
        if place.should_run && pods.is_empty() {
            plan.create.push(pod_for(ds, node, input.hash));
        } else if place.should_continue {
            let mut running = Vec::new();
            for pod in pods
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
            {
                match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
                    Some("Failed") => {
                        plan.failed.push((
                            node.to_string(),
                            pod.metadata.name.clone().unwrap_or_default(),
                        ));
                        plan.delete.push(Pod::clone(pod));
                    }
                    Some("Succeeded") => plan.delete.push(Pod::clone(pod)),
                    _ => running.push(*pod),
                }
            }
            by_age(&mut running);
            if surge > 0 {
                surge_excess(input, place.should_run, node, &running, plan);
            } else {
                plan.delete
                    .extend(running.iter().skip(1).map(|p| Pod::clone(p)));
            }
        } else {
            let live = pods
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none());
            plan.delete.extend(live.map(|p| Pod::clone(p)));
        }
    }
    let known: Vec<&str> = placements.iter().map(|(n, _)| *n).collect();
    // Pods on nodes that no longer exist.
    let gone = on_node
        .iter()
        .filter(|(n, _)| !known.contains(n))
        .flat_map(|(_, pods)| pods);
    let live = gone.filter(|p| p.metadata.deletion_timestamp.is_none());
    plan.delete.extend(live.map(|p| Pod::clone(p)));
}

/// With surge, a node keeps its oldest new pod and its oldest old pod; the old one goes once
/// it is not ready or the new one is available. A node left with none gets one.
fn surge_excess(
    input: &Input<'_>,
    should_run: bool,
    node: &str,
    running: &[&Pod],
    plan: &mut Plan,
) {
    if running.is_empty() && should_run {
        plan.create.push(pod_for(input.ds, node, input.hash));
        return;
    }
    let (mut newest, mut oldest) = (None, None);
    for pod in running {
        let slot = if is_updated(pod, input.hash, input.ds.metadata.generation) {
            &mut newest
        } else {
            &mut oldest
        };
        if slot.is_none() {
            *slot = Some(*pod);
        } else {
            plan.delete.push(Pod::clone(pod));
        }
    }
    if let (Some(new), Some(old)) = (newest, oldest) {
        if !is_ready(old) || is_available(new, min_ready(input.ds), input.now) {
            plan.delete.push(Pod::clone(old));
        }
    }
}

/// The status the pods give, node by node (the oldest pod of a node speaks for it).
fn status(
    input: &Input<'_>,
    on_node: &BTreeMap<&str, Vec<&Pod>>,
    placements: &[(&str, Placement)],
) -> DaemonSetStatus {
    let ds = input.ds;
    let mut s = DaemonSetStatus {
        observed_generation: ds.metadata.generation,
        collision_count: ds.status.as_ref().and_then(|s| s.collision_count),
        conditions: ds.status.as_ref().and_then(|s| s.conditions.clone()),
        ..DaemonSetStatus::default()
    };
    let (mut available, mut updated) = (0, 0);
    for (node, place) in placements {
        let mut pods = on_node.get(node).cloned().unwrap_or_default();
        if !place.should_run {
            s.number_misscheduled += i32::from(!pods.is_empty());
            continue;
        }
        s.desired_number_scheduled += 1;
        by_age(&mut pods);
        let Some(pod) = pods.first() else {
            continue;
        };
        s.current_number_scheduled += 1;
        if is_ready(pod) {
            s.number_ready += 1;
            available += i32::from(is_available(pod, min_ready(ds), input.now));
        }
        updated += i32::from(is_updated(pod, input.hash, ds.metadata.generation));
    }
    s.number_available = Some(available);
    s.updated_number_scheduled = Some(updated);
    s.number_unavailable = Some((s.desired_number_scheduled - available).max(0));
    s
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
