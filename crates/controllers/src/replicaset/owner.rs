//! ReplicaSets and ReplicationControllers seen the same way: upstream runs one controller for
//! both, the older kind converted to the newer; here both expose a [`ReplicaView`].

use std::fmt::Debug;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{PodTemplateSpec, ReplicationController};
use k8s_openapi::jiff::Timestamp;
use k8s_openapi::serde::de::DeserializeOwned;
use kube::core::Selector;
use kube::Resource;

use super::decision::ReplicaStatus;

/// What the controller needs of a ReplicaSet or ReplicationController.
#[derive(Debug, Clone)]
pub struct ReplicaView {
    /// Desired pods.
    pub replicas: i32,
    /// Which pods it manages; `None` selects nothing.
    pub selector: Option<Selector>,
    /// The template pods are made from.
    pub template: Option<PodTemplateSpec>,
    /// Seconds a ready pod waits before it counts as available.
    pub min_ready_seconds: i32,
    /// `metadata.generation`.
    pub generation: i64,
    /// The status as stored.
    pub status: ReplicaStatus,
}

/// A kind the ReplicaSet controller runs for.
pub trait ReplicaOwner:
    Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + Debug
    + Send
    + Sync
    + 'static
{
    /// The controller's name, as upstream's (`replicaset`, `replicationcontroller`).
    const CONTROLLER: &'static str;
    /// The component its Events are reported by.
    const COMPONENT: &'static str;
    /// The object as the controller sees it.
    fn view(&self) -> ReplicaView;
}

fn failure<'a>(
    conditions: impl Iterator<
        Item = (
            &'a str,
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            Option<Timestamp>,
        ),
    >,
) -> Option<(String, String, Timestamp)> {
    conditions
        .into_iter()
        .find(|(type_, status, ..)| *type_ == "ReplicaFailure" && *status == "True")
        .map(|(_, _, reason, message, at)| {
            (
                reason.unwrap_or_default().to_owned(),
                message.unwrap_or_default().to_owned(),
                at.unwrap_or(Timestamp::UNIX_EPOCH),
            )
        })
}

/// The shared view of `ReplicaSetStatus` and `ReplicationControllerStatus`, which have the
/// same fields under different types.
macro_rules! replica_status {
    ($status:expr) => {{
        let status = $status;
        let conditions = status.conditions.as_deref().unwrap_or_default();
        ReplicaStatus {
            replicas: status.replicas,
            fully_labeled_replicas: status.fully_labeled_replicas.unwrap_or(0),
            ready_replicas: status.ready_replicas.unwrap_or(0),
            available_replicas: status.available_replicas.unwrap_or(0),
            observed_generation: status.observed_generation.unwrap_or(0),
            failure: failure(conditions.iter().map(|c| {
                (
                    c.type_.as_str(),
                    c.status.as_str(),
                    c.reason.as_deref(),
                    c.message.as_deref(),
                    c.last_transition_time.as_ref().map(|t| t.0),
                )
            })),
        }
    }};
}

impl ReplicaOwner for ReplicaSet {
    const CONTROLLER: &'static str = "replicaset";
    const COMPONENT: &'static str = "replicaset-controller";

    fn view(&self) -> ReplicaView {
        let spec = self.spec.clone().unwrap_or_default();
        let status = self.status.clone().unwrap_or_default();
        ReplicaView {
            replicas: spec.replicas.unwrap_or(1),
            selector: Selector::try_from(spec.selector)
                .ok()
                .filter(|s| !s.selects_all()),
            template: spec.template,
            min_ready_seconds: spec.min_ready_seconds.unwrap_or(0),
            generation: self.metadata.generation.unwrap_or(0),
            status: replica_status!(status),
        }
    }
}

impl ReplicaOwner for ReplicationController {
    const CONTROLLER: &'static str = "replicationcontroller";
    const COMPONENT: &'static str = "replication-controller";

    fn view(&self) -> ReplicaView {
        let spec = self.spec.clone().unwrap_or_default();
        let status = self.status.clone().unwrap_or_default();
        ReplicaView {
            replicas: spec.replicas.unwrap_or(1),
            selector: spec
                .selector
                .filter(|s| !s.is_empty())
                .map(|s| s.into_iter().collect()),
            template: spec.template,
            min_ready_seconds: spec.min_ready_seconds.unwrap_or(0),
            generation: self.metadata.generation.unwrap_or(0),
            status: replica_status!(status),
        }
    }
}
