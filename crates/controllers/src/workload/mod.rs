//! What the workload controllers (ReplicaSet, ReplicationController, Deployment, StatefulSet,
//! DaemonSet) share, after upstream's `controller_utils.go` and `pkg/controller/history`: pod
//! readiness and availability, building pods from a template, claiming objects through
//! controller references, creating and deleting pods with their Events, the order pods are
//! removed in when scaling down, expectations of writes not yet seen through the watch, short
//! hashes, and ControllerRevision history.

pub mod adoption;
pub mod claim;
pub mod expectations;
pub mod hash;
pub mod history;
pub mod mapping;
pub mod pod;
pub mod pod_control;
pub mod ranking;
pub mod revisions;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
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

/// An int-or-percent of `total`, rounded up or down; unparsable values count as 0.
pub fn scaled(value: Option<&IntOrString>, total: i32, round_up: bool) -> i32 {
    match value {
        None => 0,
        Some(IntOrString::Int(n)) => *n,
        Some(IntOrString::String(s)) => {
            let percent: i64 = s.trim_end_matches('%').parse().unwrap_or(0);
            let product = percent * i64::from(total);
            let value = if round_up {
                (product + 99).div_euclid(100)
            } else {
                product.div_euclid(100)
            };
            i32::try_from(value).unwrap_or(i32::MAX)
        }
    }
}
