//! The scheduler's writes to the API server: the PreBind plugins' patches and the binding,
//! the PodScheduled=False condition and nominated node of a pod that fits nowhere, victims'
//! deletion, and the Events.

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{
    Binding, ObjectReference, PersistentVolume, PersistentVolumeClaim, Pod,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::Client;
use rudder_controllers::events::{EventRecorder, EventType};
use serde_json::json;

use crate::framework::PreBindWrite;
use crate::pod_info::PodInfo;

/// Why a write to the API server failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// POST of the pod's binding failed.
    #[error("binding pod {pod} to node {node}")]
    Bind {
        /// `namespace/name`.
        pod: String,
        /// The node.
        node: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// A PreBind plugin's patch of a claim failed.
    #[error("patching persistentvolumeclaim {claim}")]
    PatchClaim {
        /// `namespace/name`.
        claim: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// A PreBind plugin's patch of a volume failed.
    #[error("patching persistentvolume {volume}")]
    PatchVolume {
        /// The volume's name.
        volume: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Writing the pod's status failed.
    #[error("updating the status of pod {pod}")]
    UpdateStatus {
        /// `namespace/name`.
        pod: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Deleting a preemption victim failed.
    #[error("deleting victim pod {pod}")]
    DeleteVictim {
        /// `namespace/name`.
        pod: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// The side effects of scheduling, behind a trait so the loop can be driven without a server.
pub trait Writer: Send + Sync {
    /// Makes a write a PreBind plugin asked for.
    fn pre_bind(&self, write: &PreBindWrite) -> BoxFuture<'static, Result<(), ApiError>>;
    /// Binds `pod` to `node` through `pods/binding`.
    fn bind(&self, pod: &PodInfo, node: &str) -> BoxFuture<'static, Result<(), ApiError>>;
    /// Marks `pod` unschedulable with `message`, and sets (or clears) its nominated node.
    fn unschedulable(
        &self,
        pod: &PodInfo,
        message: &str,
        nominated: Option<&str>,
    ) -> BoxFuture<'static, Result<(), ApiError>>;
    /// Deletes a preemption victim.
    fn delete(&self, pod: &PodInfo) -> BoxFuture<'static, Result<(), ApiError>>;
    /// Records an Event about `pod`.
    fn event(
        &self,
        pod: &PodInfo,
        warning: bool,
        reason: &str,
        message: &str,
    ) -> BoxFuture<'static, ()>;
}

/// The [`Writer`] that talks to the API server.
#[derive(Clone)]
pub struct ApiWriter {
    client: Client,
    events: EventRecorder,
}

impl ApiWriter {
    /// Writes through `client`, recording Events with `events`.
    pub fn new(client: Client, events: EventRecorder) -> Self {
        Self { client, events }
    }

    fn pods(&self, pod: &PodInfo) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &pod.namespace)
    }
}

impl Writer for ApiWriter {
    fn pre_bind(&self, write: &PreBindWrite) -> BoxFuture<'static, Result<(), ApiError>> {
        let params = PatchParams::default();
        match write.clone() {
            PreBindWrite::Claim {
                namespace,
                name,
                patch,
            } => {
                let api: Api<PersistentVolumeClaim> =
                    Api::namespaced(self.client.clone(), &namespace);
                Box::pin(async move {
                    api.patch(&name, &params, &Patch::Merge(&patch))
                        .await
                        .map(drop)
                        .map_err(|source| ApiError::PatchClaim {
                            claim: format!("{namespace}/{name}"),
                            source,
                        })
                })
            }
            PreBindWrite::Volume { name, patch } => {
                let api: Api<PersistentVolume> = Api::all(self.client.clone());
                Box::pin(async move {
                    api.patch(&name, &params, &Patch::Merge(&patch))
                        .await
                        .map(drop)
                        .map_err(|source| ApiError::PatchVolume {
                            volume: name,
                            source,
                        })
                })
            }
        }
    }

    fn bind(&self, pod: &PodInfo, node: &str) -> BoxFuture<'static, Result<(), ApiError>> {
        let api = self.pods(pod);
        let binding = Binding {
            metadata: ObjectMeta {
                name: Some(pod.name.clone()),
                namespace: Some(pod.namespace.clone()),
                uid: Some(pod.uid.clone()),
                ..ObjectMeta::default()
            },
            target: ObjectReference {
                kind: Some("Node".to_owned()),
                name: Some(node.to_owned()),
                ..ObjectReference::default()
            },
        };
        let (name, key, node) = (pod.name.clone(), pod.key.clone(), node.to_owned());
        Box::pin(async move {
            api.create_subresource::<Binding, serde_json::Value>(
                "binding",
                &name,
                &PostParams::default(),
                &binding,
            )
            .await
            .map(drop)
            .map_err(|source| ApiError::Bind {
                pod: key,
                node,
                source,
            })
        })
    }

    fn unschedulable(
        &self,
        pod: &PodInfo,
        message: &str,
        nominated: Option<&str>,
    ) -> BoxFuture<'static, Result<(), ApiError>> {
        let api = self.pods(pod);
        let current = pod
            .pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled"));
        let unchanged = current
            .is_some_and(|c| c.status == "False" && c.message.as_deref() == Some(message))
            && pod
                .pod
                .status
                .as_ref()
                .and_then(|s| s.nominated_node_name.as_deref())
                == nominated;
        let (name, key) = (pod.name.clone(), pod.key.clone());
        let patch = json!({"status": {
            "conditions": [{
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
                "lastProbeTime": null,
                "lastTransitionTime": k8s_openapi::jiff::Timestamp::now().to_string(),
            }],
            "nominatedNodeName": nominated,
        }});
        Box::pin(async move {
            if unchanged {
                return Ok(());
            }
            api.patch_status(&name, &PatchParams::default(), &Patch::Strategic(&patch))
                .await
                .map(drop)
                .map_err(|source| ApiError::UpdateStatus { pod: key, source })
        })
    }

    fn delete(&self, pod: &PodInfo) -> BoxFuture<'static, Result<(), ApiError>> {
        let api = self.pods(pod);
        let (name, key) = (pod.name.clone(), pod.key.clone());
        Box::pin(async move {
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
                Err(source) => Err(ApiError::DeleteVictim { pod: key, source }),
            }
        })
    }

    fn event(
        &self,
        pod: &PodInfo,
        warning: bool,
        reason: &str,
        message: &str,
    ) -> BoxFuture<'static, ()> {
        let events = self.events.clone();
        let pod = pod.pod.clone();
        let (reason, message) = (reason.to_owned(), message.to_owned());
        let kind = if warning {
            EventType::Warning
        } else {
            EventType::Normal
        };
        Box::pin(async move { events.publish(pod.as_ref(), kind, &reason, &message).await })
    }
}
