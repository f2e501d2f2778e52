//! The writes that bind a claim and a volume, as merge patches, each only when still needed
//! (upstream's `bind`: volume → claim reference, volume phase, claim → volume name and
//! annotations, claim status).

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use serde_json::{json, Value};

use super::binder::{BIND_COMPLETED, BOUND_BY_CONTROLLER};

/// What is left to write for a binding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BindWrites {
    /// A patch of the volume's `claimRef` and annotation, guarded by its resourceVersion.
    pub volume: Option<Value>,
    /// Whether the volume's phase must become Bound.
    pub volume_phase: bool,
    /// A patch of the claim's `volumeName` and annotations.
    pub claim: Option<Value>,
    /// A patch of the claim's status.
    pub claim_status: Option<Value>,
}

fn has(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, key: &str) -> bool {
    meta.annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(key))
}

/// The writes still needed to bind `claim` and `pv`.
pub fn bind_writes(claim: &PersistentVolumeClaim, pv: &PersistentVolume) -> BindWrites {
    let pv_spec = pv.spec.clone().unwrap_or_default();
    let claim_ref = pv_spec.claim_ref.as_ref();
    let volume = match claim_ref {
        Some(r) if r.uid.is_some() && r.uid == claim.metadata.uid => None,
        _ => {
            let mut annotations = json!({});
            if claim_ref.is_none() {
                annotations[BOUND_BY_CONTROLLER] = json!("yes");
            }
            Some(json!({
                "metadata": {
                    "resourceVersion": pv.metadata.resource_version,
                    "annotations": annotations,
                },
                "spec": {"claimRef": {
                    "kind": "PersistentVolumeClaim",
                    "apiVersion": "v1",
                    "namespace": claim.metadata.namespace,
                    "name": claim.metadata.name,
                    "uid": claim.metadata.uid,
                    "resourceVersion": claim.metadata.resource_version,
                }},
            }))
        }
    };
    let volume_phase = pv.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Bound");
    let claim_spec = claim.spec.clone().unwrap_or_default();
    let has_name = claim_spec
        .volume_name
        .as_deref()
        .is_some_and(|n| !n.is_empty());
    let claim_patch = if has_name && has(&claim.metadata, BIND_COMPLETED) {
        None
    } else {
        let mut annotations = json!({ BIND_COMPLETED: "yes" });
        if !has_name {
            annotations[BOUND_BY_CONTROLLER] = json!("yes");
        }
        Some(json!({
            "metadata": {"annotations": annotations},
            "spec": {"volumeName": pv.metadata.name},
        }))
    };
    let status = claim.status.clone().unwrap_or_default();
    let claim_status = (status.phase.as_deref() != Some("Bound")
        || status.access_modes != pv_spec.access_modes
        || status.capacity != pv_spec.capacity)
        .then(|| {
            json!({"status": {
                "phase": "Bound",
                "accessModes": pv_spec.access_modes,
                "capacity": pv_spec.capacity,
            }})
        });
    BindWrites {
        volume,
        volume_phase,
        claim: claim_patch,
        claim_status,
    }
}
