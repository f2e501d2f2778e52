//! VolumeBinding: a pod's PersistentVolumeClaims decide where it may go. Claims must exist and
//! not be going away; unbound claims of `Immediate` classes must first be bound by the
//! PersistentVolume binder. A bound claim's volume must accept the node (its node affinity);
//! an unbound `WaitForFirstConsumer` claim needs, on the node, either an available volume it
//! can take or a class that provisions one there. Before binding the pod, the claims are
//! committed to the chosen node: a matched volume is reserved for its claim (`claimRef`), a
//! claim to provision is annotated with the node (`volume.kubernetes.io/selected-node`).

use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    NodeSelectorRequirement, NodeSelectorTerm, PersistentVolume, PersistentVolumeClaim,
};
use k8s_openapi::api::storage::v1::StorageClass;
use rudder_controllers::resourcequota::usage::claim_class;
use rudder_controllers::volume::bind::bind_writes;
use rudder_controllers::volume::binder::{BIND_COMPLETED, SELECTED_NODE};
use rudder_controllers::volume::matching::{best_match, is_reserved_for, volume_class};
use serde_json::json;

use crate::cache::Snapshot;
use crate::framework::{
    Code, CycleState, Filter, Plugin, PreBind, PreBindWrite, PreFilter, PreFilterResult, Status,
};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::selectors::NodeTerm;
use crate::volumes::Volumes;

/// The plugin's name.
pub const NAME: &str = "VolumeBinding";
/// A bound claim's volume does not accept the node.
pub const NODE_CONFLICT: &str = "node(s) had volume node affinity conflict";
/// An unbound claim finds no volume on the node and cannot have one provisioned there.
pub const BIND_CONFLICT: &str = "node(s) didn't find available persistent volumes to bind";
/// A bound claim's volume does not exist.
pub const PV_NOT_EXIST: &str =
    "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";
/// A claim of an `Immediate` class (or of no class) is not bound yet.
pub const UNBOUND_IMMEDIATE: &str = "pod has unbound immediate PersistentVolumeClaims";
/// The provisioner name of classes that never provision.
pub const NO_PROVISIONER: &str = "kubernetes.io/no-provisioner";

/// The VolumeBinding plugin.
#[derive(Debug, Default)]
pub struct VolumeBinding;

/// A pod's claims as PreFilter sorted them.
#[derive(Debug, Clone, Default)]
pub struct PodClaims {
    /// The volumes of bound claims (`None`: the volume does not exist).
    bound: Vec<Option<Arc<PersistentVolume>>>,
    /// Unbound claims of `WaitForFirstConsumer` classes, with their class.
    delayed: Vec<(Arc<PersistentVolumeClaim>, Arc<StorageClass>)>,
    /// The volumes those claims could take: of their classes, free or reserved for one.
    candidates: Vec<Arc<PersistentVolume>>,
}

/// How an unbound claim gets its volume on a node.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimBinding {
    /// It takes this existing volume.
    Static(Arc<PersistentVolumeClaim>, Arc<PersistentVolume>),
    /// Its class's provisioner makes one on the node.
    Provision(Arc<PersistentVolumeClaim>),
}

fn annotation<'a>(claim: &'a PersistentVolumeClaim, key: &str) -> Option<&'a str> {
    claim
        .metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// The claims named by the pod's volumes (generic ephemeral volumes are not looked at yet).
fn claim_names(pod: &PodInfo) -> impl Iterator<Item = &str> {
    pod.pod
        .spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| v.persistent_volume_claim.as_ref())
        .map(|c| c.claim_name.as_str())
}

/// Looks up and sorts the pod's claims: `Ok(None)` when it has none; a rejection when a claim
/// is missing, lost or being deleted, or when an `Immediate` claim is unbound.
///
/// # Errors
/// An UnschedulableAndUnresolvable [`Status`] with upstream's reason.
pub fn pod_claims(pod: &PodInfo, volumes: &Volumes) -> Result<Option<PodClaims>, Status> {
    let mut claims = Vec::new();
    for name in claim_names(pod) {
        let reject = |why: String| Status::unresolvable(NAME, why);
        let claim = volumes
            .claim(&pod.namespace, name)
            .ok_or_else(|| reject(format!("persistentvolumeclaim {name:?} not found")))?;
        let volume_name = claim.spec.as_ref().and_then(|s| s.volume_name.as_deref());
        if claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Lost") {
            return Err(reject(format!(
                "persistentvolumeclaim {name:?} bound to non-existent persistentvolume {:?}",
                volume_name.unwrap_or_default()
            )));
        }
        if claim.metadata.deletion_timestamp.is_some() {
            return Err(reject(format!(
                "persistentvolumeclaim {name:?} is being deleted"
            )));
        }
        claims.push((Arc::clone(claim), volume_name.filter(|n| !n.is_empty())));
    }
    if claims.is_empty() {
        return Ok(None);
    }
    let mut sorted = PodClaims::default();
    for (claim, volume_name) in claims {
        match volume_name {
            Some(v) if annotation(&claim, BIND_COMPLETED).is_some() => {
                sorted.bound.push(volumes.volume(v).cloned());
            }
            Some(_) => return Err(Status::unresolvable(NAME, UNBOUND_IMMEDIATE)),
            None => {
                let class = claim_class(&claim).and_then(|c| volumes.class(c));
                match class.filter(|c| delays_binding(c)) {
                    Some(class) => sorted.delayed.push((claim, Arc::clone(class))),
                    None => return Err(Status::unresolvable(NAME, UNBOUND_IMMEDIATE)),
                }
            }
        }
    }
    // Only volumes one of these claims could take: of its class, and free or reserved for it
    // (the matching never picks one claimed by another), sorted out once per pod rather than
    // on every node's filter.
    sorted.candidates = volumes
        .volumes()
        .filter(|pv| {
            let class = volume_class(pv);
            let free = pv.spec.as_ref().is_none_or(|s| s.claim_ref.is_none());
            sorted
                .delayed
                .iter()
                .any(|(c, _)| claim_class(c) == Some(class) && (free || is_reserved_for(pv, c)))
        })
        .cloned()
        .collect();
    Ok(Some(sorted))
}

fn delays_binding(class: &StorageClass) -> bool {
    class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer")
}

/// Whether the volume's required node affinity (if any) accepts `node`.
pub fn volume_fits_node(pv: &PersistentVolume, node: &NodeInfo) -> bool {
    pv.spec
        .as_ref()
        .and_then(|s| s.node_affinity.as_ref())
        .and_then(|a| a.required.as_ref())
        .is_none_or(|required| {
            required
                .node_selector_terms
                .iter()
                .any(|t| NodeTerm::new(t).matches(&node.name, &node.labels))
        })
}

/// Whether the class provisions volumes, and may do so where `node` is (its allowed topologies).
fn provisions_on(class: &StorageClass, node: &NodeInfo) -> bool {
    if class.provisioner.is_empty() || class.provisioner == NO_PROVISIONER {
        return false;
    }
    let Some(topologies) = class.allowed_topologies.as_ref().filter(|t| !t.is_empty()) else {
        return true;
    };
    topologies.iter().any(|t| {
        let term = NodeSelectorTerm {
            match_expressions: Some(
                t.match_label_expressions
                    .iter()
                    .flatten()
                    .map(|r| NodeSelectorRequirement {
                        key: r.key.clone(),
                        operator: "In".to_owned(),
                        values: Some(r.values.clone()),
                    })
                    .collect(),
            ),
            match_fields: None,
        };
        NodeTerm::new(&term).matches(&node.name, &node.labels)
    })
}

/// The volume `claim` would take on `node` among `candidates`, leaving out those `taken` by
/// the pod's other claims. A volume already reserved for the claim is the only choice: none if
/// it does not accept the node.
fn matching_volume(
    claim: &PersistentVolumeClaim,
    candidates: &[Arc<PersistentVolume>],
    node: &NodeInfo,
    taken: &[&Arc<PersistentVolume>],
) -> Option<Arc<PersistentVolume>> {
    let free: Vec<&Arc<PersistentVolume>> = candidates
        .iter()
        .filter(|pv| !taken.iter().any(|t| Arc::ptr_eq(t, pv)))
        .collect();
    let reserved = free.iter().find(|pv| is_reserved_for(pv, claim));
    if reserved.is_some_and(|pv| !volume_fits_node(pv, node)) {
        return None;
    }
    let fitting: Vec<&Arc<PersistentVolume>> = free
        .into_iter()
        .filter(|pv| volume_fits_node(pv, node))
        .collect();
    let found = best_match(claim, fitting.iter().map(|pv| pv.as_ref()), false)?;
    let chosen = fitting.iter().find(|pv| std::ptr::eq(pv.as_ref(), found));
    chosen.map(|pv| Arc::clone(pv))
}

/// How one unbound claim would be bound on `node`, if it can be.
fn bind_claim(
    claim: &Arc<PersistentVolumeClaim>,
    class: &StorageClass,
    candidates: &[Arc<PersistentVolume>],
    node: &NodeInfo,
    so_far: &[ClaimBinding],
) -> Option<ClaimBinding> {
    let provision =
        || provisions_on(class, node).then(|| ClaimBinding::Provision(Arc::clone(claim)));
    if let Some(selected) = annotation(claim, SELECTED_NODE) {
        return if selected == node.name {
            provision()
        } else {
            None
        };
    }
    let taken: Vec<&Arc<PersistentVolume>> = so_far
        .iter()
        .filter_map(|b| match b {
            ClaimBinding::Static(_, pv) => Some(pv),
            ClaimBinding::Provision(_) => None,
        })
        .collect();
    match matching_volume(claim, candidates, node, &taken) {
        Some(pv) => Some(ClaimBinding::Static(Arc::clone(claim), pv)),
        None => provision(),
    }
}

/// How the pod's unbound claims would be bound on `node`, or upstream's reasons why the node
/// does not do for its volumes.
///
/// # Errors
/// The reasons (volume node affinity conflict, no volume to bind, missing volume).
pub fn bindings_on(
    claims: &PodClaims,
    node: &NodeInfo,
) -> Result<Vec<ClaimBinding>, Vec<&'static str>> {
    let mut reasons = Vec::new();
    let found = claims.bound.iter().all(Option::is_some);
    if !claims
        .bound
        .iter()
        .flatten()
        .all(|pv| volume_fits_node(pv, node))
    {
        reasons.push(NODE_CONFLICT);
    }
    let mut bindings = Vec::with_capacity(claims.delayed.len());
    let mut unbound_fit = true;
    for (claim, class) in &claims.delayed {
        match bind_claim(claim, class, &claims.candidates, node, &bindings) {
            Some(b) => bindings.push(b),
            None => unbound_fit = false,
        }
    }
    if !unbound_fit {
        reasons.push(BIND_CONFLICT);
    }
    if !found {
        reasons.push(PV_NOT_EXIST);
    }
    if reasons.is_empty() {
        Ok(bindings)
    } else {
        Err(reasons)
    }
}

/// The API writes that commit `bindings` to `node`: a matched volume's `claimRef` (guarded by
/// its resourceVersion), a claim to provision's selected-node annotation (guarded by the
/// claim's), each only when not already there.
pub fn writes(bindings: &[ClaimBinding], node: &str) -> Vec<PreBindWrite> {
    bindings
        .iter()
        .filter_map(|b| match b {
            ClaimBinding::Static(claim, pv) => {
                bind_writes(claim, pv)
                    .volume
                    .map(|patch| PreBindWrite::Volume {
                        name: pv.metadata.name.clone().unwrap_or_default(),
                        patch,
                    })
            }
            ClaimBinding::Provision(claim) if annotation(claim, SELECTED_NODE) == Some(node) => {
                None
            }
            ClaimBinding::Provision(claim) => Some(PreBindWrite::Claim {
                namespace: claim.metadata.namespace.clone().unwrap_or_default(),
                name: claim.metadata.name.clone().unwrap_or_default(),
                patch: json!({"metadata": {
                    "resourceVersion": claim.metadata.resource_version,
                    "annotations": {SELECTED_NODE: node},
                }}),
            }),
        })
        .collect()
}

impl Plugin for VolumeBinding {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl PreFilter for VolumeBinding {
    fn pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot<'_>,
    ) -> Result<PreFilterResult, Status> {
        let claims = pod_claims(pod, snapshot.volumes)?.ok_or_else(Status::skip)?;
        state.write(NAME, claims);
        Ok(PreFilterResult::default())
    }
}

impl Filter for VolumeBinding {
    fn filter(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Status {
        match state.read::<PodClaims>(NAME).map(|c| bindings_on(c, node)) {
            Some(Err(reasons)) => Status {
                code: Code::UnschedulableAndUnresolvable,
                reasons: reasons.into_iter().map(str::to_owned).collect(),
                plugin: NAME,
            },
            _ => Status::success(),
        }
    }
}

impl PreBind for VolumeBinding {
    fn pre_bind(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> Vec<PreBindWrite> {
        state
            .read::<PodClaims>(NAME)
            .and_then(|c| bindings_on(c, node).ok())
            .map(|b| writes(&b, &node.name))
            .unwrap_or_default()
    }
}

#[cfg(test)]
#[path = "volume_binding_tests.rs"]
mod tests;
