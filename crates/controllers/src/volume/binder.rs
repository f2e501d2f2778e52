//! The PersistentVolume binder's decisions, without I/O, after upstream's `pv_controller.go`:
//! what one claim sync (`syncClaim`) and one volume sync (`syncVolume`) should do.

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};

use super::matching::{best_match, is_reserved_for};
use crate::events::EventType;
use crate::resourcequota::usage::claim_class;

/// Set on a claim once its binding is complete.
pub const BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// Set on the side the controller (not the user) pointed at the other.
pub const BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
/// The node the scheduler chose for a WaitForFirstConsumer claim (the scheduler's contract).
pub const SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
/// The provisioner asked to provision a claim.
pub const STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
/// Its beta spelling, still set beside it.
pub const BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";
/// The provisioner that made a volume.
pub const PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";

/// What the binder knows of the claim's StorageClass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    /// `provisioner`.
    pub provisioner: String,
    /// `volumeBindingMode: WaitForFirstConsumer`.
    pub delay_binding: bool,
}

/// An Event to record about the object synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Normal or Warning.
    pub event_type: EventType,
    /// The reason.
    pub reason: &'static str,
    /// The message.
    pub message: String,
}

fn note(event_type: EventType, reason: &'static str, message: impl Into<String>) -> Note {
    Note {
        event_type,
        reason,
        message: message.into(),
    }
}

/// What a claim sync does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimPlan {
    /// Bind (or finish binding) the claim and the named volume.
    Bind(String),
    /// Leave the claim Pending; ask `provisioner` (when set) to provision it.
    Pending {
        /// The provisioner to name in the claim's annotations.
        provisioner: Option<String>,
        /// What to tell the user.
        note: Option<Note>,
    },
    /// The claim's volume is gone or bound elsewhere: phase Lost.
    Lost(Note),
}

fn annotated(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, key: &str) -> bool {
    meta.annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(key))
}

/// Decides one claim sync from the claim, every volume, and its class (if it names one that
/// exists).
pub fn sync_claim(
    claim: &PersistentVolumeClaim,
    volumes: &[&PersistentVolume],
    class: Option<&Class>,
) -> ClaimPlan {
    let volume_name = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .filter(|n| !n.is_empty());
    let named = volume_name.and_then(|n| {
        volumes
            .iter()
            .find(|v| v.metadata.name.as_deref() == Some(n))
    });
    if annotated(&claim.metadata, BIND_COMPLETED) {
        return match (volume_name, named) {
            (None, _) => ClaimPlan::Lost(note(
                EventType::Warning,
                "ClaimLost",
                "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!",
            )),
            (Some(_), None) => ClaimPlan::Lost(note(
                EventType::Warning,
                "ClaimLost",
                "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
            )),
            (Some(name), Some(pv)) if unclaimed(pv) || is_reserved_for(pv, claim) => {
                ClaimPlan::Bind(name.to_owned())
            }
            (Some(_), Some(_)) => ClaimPlan::Lost(note(
                EventType::Warning,
                "ClaimMisbound",
                "Two claims are bound to the same volume, this one is bound incorrectly",
            )),
        };
    }
    match (volume_name, named) {
        (None, _) => unbound_claim(claim, volumes, class),
        (Some(_), None) => ClaimPlan::Pending {
            provisioner: None,
            note: None,
        },
        (Some(name), Some(pv)) if unclaimed(pv) || is_reserved_for(pv, claim) => {
            ClaimPlan::Bind(name.to_owned())
        }
        (Some(name), Some(_)) => ClaimPlan::Pending {
            provisioner: None,
            note: Some(note(
                EventType::Warning,
                "FailedBinding",
                format!("volume {name:?} already bound to a different claim."),
            )),
        },
    }
}

fn unclaimed(pv: &PersistentVolume) -> bool {
    pv.spec
        .as_ref()
        .and_then(|s| s.claim_ref.as_ref())
        .is_none()
}

/// A claim that names no volume: bind the best match, or wait, or ask for provisioning.
fn unbound_claim(
    claim: &PersistentVolumeClaim,
    volumes: &[&PersistentVolume],
    class: Option<&Class>,
) -> ClaimPlan {
    let delay = class.is_some_and(|c| c.delay_binding);
    if let Some(pv) = best_match(claim, volumes.iter().copied(), delay) {
        return ClaimPlan::Bind(pv.metadata.name.clone().unwrap_or_default());
    }
    let pending = |provisioner: Option<String>, note: Note| ClaimPlan::Pending {
        provisioner,
        note: Some(note),
    };
    match (claim_class(claim), class) {
        _ if delay && !annotated(&claim.metadata, SELECTED_NODE) => pending(
            None,
            note(
                EventType::Normal,
                "WaitForFirstConsumer",
                "waiting for first consumer to be created before binding",
            ),
        ),
        (Some(_), Some(class)) => pending(
            Some(class.provisioner.clone()),
            note(
                EventType::Normal,
                "ExternalProvisioning",
                format!(
                    "Waiting for a volume to be created either by the external provisioner '{}' \
                     or manually by the system administrator. If volume creation is delayed, \
                     please verify that the provisioner is running and correctly registered.",
                    class.provisioner
                ),
            ),
        ),
        (Some(name), None) => pending(
            None,
            note(
                EventType::Warning,
                "ProvisioningFailed",
                format!("storageclass.storage.k8s.io {name:?} not found"),
            ),
        ),
        (None, _) => pending(
            None,
            note(
                EventType::Normal,
                "FailedBinding",
                "no persistent volumes available for this claim and no storage class is set",
            ),
        ),
    }
}

/// What a volume sync does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumePlan {
    /// Nothing to change.
    Nothing,
    /// Set the phase (and, for Failed, a message and a Warning).
    Phase(&'static str, Option<Note>),
    /// Clear the controller-set `claimRef`: the claim bound another volume.
    Unbind,
}

/// Decides one volume sync from the volume and the claim its `claimRef` names, if that
/// claim (by namespace and name) exists.
pub fn sync_volume(pv: &PersistentVolume, claim: Option<&PersistentVolumeClaim>) -> VolumePlan {
    let phase = pv.status.as_ref().and_then(|s| s.phase.as_deref());
    let set = |want: &'static str| {
        if phase == Some(want) {
            VolumePlan::Nothing
        } else {
            VolumePlan::Phase(want, None)
        }
    };
    let Some(claim_ref) = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return set("Available");
    };
    if claim_ref.uid.as_deref().unwrap_or_default().is_empty() {
        // Reserved by the user for a claim not yet bound.
        return set("Available");
    }
    let claim = claim.filter(|c| c.metadata.uid == claim_ref.uid);
    let Some(claim) = claim else {
        return released(pv, phase);
    };
    match claim.spec.as_ref().and_then(|s| s.volume_name.as_deref()) {
        None | Some("") => VolumePlan::Nothing,
        Some(name) if Some(name) == pv.metadata.name.as_deref() => set("Bound"),
        Some(_) if annotated(&pv.metadata, BOUND_BY_CONTROLLER) => VolumePlan::Unbind,
        Some(_) => VolumePlan::Nothing,
    }
}

/// The claim is gone: the volume is Released, then reclaimed by its policy. Volumes an
/// external provisioner made are deleted by that provisioner; Rudder has no in-tree deleter
/// or recycler, so other Delete or Recycle volumes fail as upstream's do without a plugin.
fn released(pv: &PersistentVolume, phase: Option<&str>) -> VolumePlan {
    if matches!(phase, Some("Failed")) {
        return VolumePlan::Nothing;
    }
    let policy = pv
        .spec
        .as_ref()
        .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
        .unwrap_or("Retain");
    let external = annotated(&pv.metadata, PROVISIONED_BY);
    let name = pv.metadata.name.as_deref().unwrap_or_default();
    match policy {
        "Delete" if !external => VolumePlan::Phase(
            "Failed",
            Some(note(
                EventType::Warning,
                "VolumeFailedDelete",
                format!(
                    "error getting deleter volume plugin for volume {name:?}: \
                     no deletable volume plugin matched"
                ),
            )),
        ),
        "Recycle" => VolumePlan::Phase(
            "Failed",
            Some(note(
                EventType::Warning,
                "VolumeFailedRecycle",
                "No recycler plugin found for the volume!",
            )),
        ),
        _ if phase == Some("Released") => VolumePlan::Nothing,
        _ => VolumePlan::Phase("Released", None),
    }
}

#[cfg(test)]
#[path = "binder_tests.rs"]
mod tests;
