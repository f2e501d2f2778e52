//! The `local-path` provisioner's decisions (k3s's local-path-provisioner): a hostPath volume
//! on the node the scheduler picked, for each claim of a class it provisions, and removal of
//! the volumes it made once released under the Delete policy.
//!
//! The contract with the scheduler (WaitForFirstConsumer): the scheduler sets the claim's
//! `volume.kubernetes.io/selected-node` annotation when it places the first pod using the
//! claim; the binder then names this provisioner in `volume.kubernetes.io/storage-provisioner`,
//! and only then is a volume made, pinned to that node by node affinity.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, ObjectReference,
    PersistentVolume, PersistentVolumeClaim, PersistentVolumeSpec, VolumeNodeAffinity,
};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::ObjectMeta;

use super::binder::{PROVISIONED_BY, SELECTED_NODE, STORAGE_PROVISIONER};

/// The provisioner's name, as k3s's.
pub const PROVISIONER: &str = "rancher.io/local-path";
/// The built-in StorageClass served by it.
pub const CLASS_NAME: &str = "local-path";

fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// The name of the volume made for a claim (`pvc-<claim uid>`, as external provisioners do).
pub fn volume_name(claim: &PersistentVolumeClaim) -> String {
    format!("pvc-{}", claim.metadata.uid.as_deref().unwrap_or_default())
}

/// The hostPath a claim's volume lives at: `<storage dir>/<pv>_<namespace>_<claim>`, as k3s.
pub fn volume_path(storage_dir: &Path, claim: &PersistentVolumeClaim) -> String {
    let namespace = claim.metadata.namespace.as_deref().unwrap_or_default();
    let name = claim.metadata.name.as_deref().unwrap_or_default();
    storage_dir
        .join(format!("{}_{namespace}_{name}", volume_name(claim)))
        .to_string_lossy()
        .into_owned()
}

/// The volume to create for `claim` of `class`, when this provisioner should: the claim is
/// unbound, not being deleted, asks for this provisioner, and has a selected node.
pub fn volume_for(
    claim: &PersistentVolumeClaim,
    class: &StorageClass,
    storage_dir: &Path,
) -> Option<PersistentVolume> {
    let spec = claim.spec.as_ref()?;
    let unbound = spec.volume_name.as_deref().unwrap_or_default().is_empty();
    let asked = annotation(&claim.metadata, STORAGE_PROVISIONER) == Some(PROVISIONER);
    if !unbound || !asked || claim.metadata.deletion_timestamp.is_some() {
        return None;
    }
    if class.provisioner != PROVISIONER {
        return None;
    }
    let node = annotation(&claim.metadata, SELECTED_NODE)?;
    let storage = spec.resources.as_ref()?.requests.as_ref()?.get("storage")?;
    let affinity = NodeSelectorTerm {
        match_expressions: Some(vec![NodeSelectorRequirement {
            key: "kubernetes.io/hostname".to_owned(),
            operator: "In".to_owned(),
            values: Some(vec![node.to_owned()]),
        }]),
        ..NodeSelectorTerm::default()
    };
    Some(PersistentVolume {
        metadata: ObjectMeta {
            name: Some(volume_name(claim)),
            annotations: Some(BTreeMap::from([(
                PROVISIONED_BY.to_owned(),
                PROVISIONER.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeSpec {
            access_modes: spec.access_modes.clone(),
            capacity: Some(BTreeMap::from([("storage".to_owned(), storage.clone())])),
            claim_ref: Some(ObjectReference {
                api_version: Some("v1".to_owned()),
                kind: Some("PersistentVolumeClaim".to_owned()),
                namespace: claim.metadata.namespace.clone(),
                name: claim.metadata.name.clone(),
                uid: claim.metadata.uid.clone(),
                resource_version: claim.metadata.resource_version.clone(),
                ..ObjectReference::default()
            }),
            host_path: Some(HostPathVolumeSource {
                path: volume_path(storage_dir, claim),
                type_: Some("DirectoryOrCreate".to_owned()),
            }),
            node_affinity: Some(VolumeNodeAffinity {
                required: Some(NodeSelector {
                    node_selector_terms: vec![affinity],
                }),
            }),
            persistent_volume_reclaim_policy: Some(
                class
                    .reclaim_policy
                    .clone()
                    .unwrap_or_else(|| "Delete".to_owned()),
            ),
            storage_class_name: class.metadata.name.clone(),
            volume_mode: spec.volume_mode.clone(),
            ..PersistentVolumeSpec::default()
        }),
        status: None,
    })
}

/// Whether `pv` is one of this provisioner's, released under the Delete policy, and so to be
/// deleted. (Its directory is the node agent's to remove.)
pub fn should_delete(pv: &PersistentVolume) -> bool {
    let released = pv.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Released");
    let delete = pv
        .spec
        .as_ref()
        .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
        == Some("Delete");
    released
        && delete
        && annotation(&pv.metadata, PROVISIONED_BY) == Some(PROVISIONER)
        && pv.metadata.deletion_timestamp.is_none()
}

#[cfg(test)]
#[path = "local_path_tests.rs"]
mod tests;
