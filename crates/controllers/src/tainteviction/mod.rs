//! The taint eviction controller: deletes pods bound to nodes with `NoExecute` taints they do
//! not tolerate, at once, or after the `tolerationSeconds` of the tolerations they use
//! (pods carry 300 s tolerations of `not-ready` and `unreachable` by default). Each deletion is
//! announced by a `TaintManagerEviction` Event and a `DisruptionTarget` pod condition.

pub mod decision;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::SignedDuration;
use kube::api::{Api, DeleteParams, Patch, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::events::{EventRecorder, EventType};
use crate::harness::Harness;
use crate::informer::Informers;
use crate::workload::patch_params;
use decision::{Plan, Scheduled};

/// The controller's name, as upstream's, also the Events' source.
pub const NAME: &str = "taint-eviction-controller";

/// How long past its time a scheduled eviction is kept: a pod that still exists is evicted
/// when its time comes, so older entries are of pods deleted meanwhile.
const STALE_AFTER: SignedDuration = SignedDuration::from_secs(60);

/// What the controller's reconciles share.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// The wall clock.
    pub clock: Arc<dyn Clock>,
    /// Every node, as the watch last showed it.
    pub nodes: Store<Node>,
    /// Evictions waiting for their time, by `namespace/name`.
    pub scheduled: Mutex<HashMap<String, Scheduled>>,
    /// Where Events go.
    pub recorder: EventRecorder,
}

/// Why evicting a pod failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Marking the pod as a disruption target failed.
    #[error("marking pod {pod} as a disruption target")]
    MarkPod {
        /// The pod.
        pod: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Deleting the pod failed.
    #[error("deleting pod {pod}")]
    DeletePod {
        /// The pod.
        pod: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Runs the controller until `shutdown` is cancelled.
pub async fn run(
    client: Client,
    clock: Arc<dyn Clock>,
    recorder: EventRecorder,
    informers: Informers,
    shutdown: CancellationToken,
) {
    let harness = Harness::<Pod>::new(NAME, Api::all(client.clone()));
    let pods = harness.store();
    let (harness, nodes) = harness.watches_shared(&informers.nodes, move |node: &Node| {
        pods_on(&pods, &node.name_any())
    });
    let ctx = Arc::new(Context {
        client,
        clock,
        nodes,
        scheduled: Mutex::new(HashMap::new()),
        recorder,
    });
    harness.run(reconcile, ctx, shutdown).await;
}

fn node_of(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or_default()
}

/// The pods bound to `node`, to look at again when its taints change.
fn pods_on(pods: &Store<Pod>, node: &str) -> Vec<ObjectRef<Pod>> {
    pods.state()
        .iter()
        .filter(|p| node_of(p) == node)
        .map(|p| ObjectRef::from_obj(p.as_ref()))
        .collect()
}

/// Schedules, cancels or carries out the eviction of one pod.
///
/// # Errors
/// [`Error::MarkPod`] and [`Error::DeletePod`]; the eviction is retried after a backoff.
pub async fn reconcile(pod: Arc<Pod>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = format!("{}/{}", pod.namespace().unwrap_or_default(), pod.name_any());
    let node = node_of(&pod);
    if node.is_empty() || pod.metadata.deletion_timestamp.is_some() {
        forget(&ctx, &key);
        return Ok(Action::await_change());
    }
    let taints = ctx
        .nodes
        .get(&ObjectRef::new(node))
        .and_then(|n| n.spec.as_ref()?.taints.clone())
        .unwrap_or_default();
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    let now = ctx.clock.now();
    let plan = {
        let scheduled = ctx.scheduled.lock().unwrap_or_else(|e| e.into_inner());
        let uid = pod.uid().unwrap_or_default();
        decision::plan(&uid, &tolerations, &taints, scheduled.get(&key), now)
    };
    match plan {
        Plan::Nothing => Ok(Action::await_change()),
        Plan::Cancel => {
            forget(&ctx, &key);
            let message = format!("Cancelling deletion of Pod {key}");
            ctx.recorder
                .publish(
                    pod.as_ref(),
                    EventType::Normal,
                    "TaintManagerEviction",
                    &message,
                )
                .await;
            Ok(Action::await_change())
        }
        Plan::At(scheduled) => {
            let wait = Duration::try_from(scheduled.fire_at - now).unwrap_or(Duration::ZERO);
            let mut all = ctx.scheduled.lock().unwrap_or_else(|e| e.into_inner());
            // Entries long past their time belong to pods deleted meanwhile.
            let stale = now.saturating_sub(STALE_AFTER).unwrap_or(now);
            all.retain(|_, s| s.fire_at > stale);
            all.insert(key, scheduled);
            Ok(Action::requeue(wait))
        }
        Plan::Now => {
            evict(&ctx, &pod, &key).await?;
            forget(&ctx, &key);
            Ok(Action::await_change())
        }
    }
}

fn forget(ctx: &Context, key: &str) {
    ctx.scheduled
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(key);
}

/// Announces the eviction, marks the pod as a disruption target and deletes it.
async fn evict(ctx: &Context, pod: &Pod, key: &str) -> Result<(), Error> {
    let message = format!("Marking for deletion Pod {key}");
    ctx.recorder
        .publish(pod, EventType::Normal, "TaintManagerEviction", &message)
        .await;
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
    let name = pod.name_any();
    let gone = |e: &kube::Error| matches!(e, kube::Error::Api(s) if s.code == 404);
    let condition = json!({"status": {"conditions": [{
        "type": "DisruptionTarget",
        "status": "True",
        "reason": "DeletionByTaintManager",
        "message": "Taint manager: deleting due to NoExecute taint",
        "lastTransitionTime": Time(ctx.clock.now()),
    }]}});
    if !is_disruption_target(pod) {
        match api
            .patch_status(&name, &patch_params(), &Patch::Strategic(&condition))
            .await
        {
            Ok(_) => {}
            Err(e) if gone(&e) => return Ok(()),
            Err(source) => {
                return Err(Error::MarkPod {
                    pod: key.to_owned(),
                    source,
                })
            }
        }
    }
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: pod.uid(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(&name, &params).await {
        Ok(_) => Ok(()),
        Err(e) if gone(&e) => Ok(()),
        Err(source) => Err(Error::DeletePod {
            pod: key.to_owned(),
            source,
        }),
    }
}

fn is_disruption_target(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == "DisruptionTarget" && c.status == "True")
        })
}
