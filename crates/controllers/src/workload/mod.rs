//! What the workload controllers (ReplicaSet, ReplicationController, Deployment) share, after
//! upstream's `controller_utils.go`: pod readiness and availability, building pods from a
//! template, claiming objects through controller references, the order pods are removed in
//! when scaling down, and expectations of writes not yet seen through the watch.

pub mod claim;
pub mod expectations;
pub mod pod;
pub mod ranking;

use kube::api::{PatchParams, PostParams};

/// The field manager the workload controllers write as (upstream's managedFields show
/// `kube-controller-manager` for every controller).
pub const FIELD_MANAGER: &str = "kube-controller-manager";

/// Patch parameters naming [`FIELD_MANAGER`].
pub fn patch_params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    }
}

/// Create and replace parameters naming [`FIELD_MANAGER`].
pub fn post_params() -> PostParams {
    PostParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PostParams::default()
    }
}
