//! The pod lifecycle simulator's I/O: one watch of every bound pod (`spec.nodeName!=`) on the
//! shared reconcile harness, pods of other nodes skipped, and the [`decision`] carried out
//! through `pods/status` and graceful-deletion's final delete.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodStatus};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use kube::Client;
use rudder_controllers::clock::Clock;
use rudder_controllers::harness::Harness;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::decision::{self, PodAction};
use super::ipam::PodIpam;

/// How many pods are worked on at once.
const CONCURRENCY: u16 = 64;
/// The field manager status writes carry, as the kubelet's.
const FIELD_MANAGER: &str = "kubelet";

/// Why carrying out a decision about a pod failed (the harness retries with backoff).
#[derive(Debug, thiserror::Error)]
pub enum PodError {
    /// Writing the pod's status failed.
    #[error("writing the status of pod {namespace}/{name}")]
    WriteStatus {
        /// The pod's namespace.
        namespace: String,
        /// The pod's name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The final delete of a terminated pod failed.
    #[error("deleting pod {namespace}/{name}")]
    Delete {
        /// The pod's namespace.
        namespace: String,
        /// The pod's name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// A simulated node as the pod simulator sees it.
#[derive(Debug, Clone)]
pub struct PodNode {
    /// The node's name.
    pub name: String,
    /// Its InternalIP, the pods' hostIP.
    pub host_ip: Ipv4Addr,
    /// The /24 its pods' addresses come from.
    pub pod_range: Ipv4Addr,
}

/// What the simulator's reconciles share.
struct Simulator {
    client: Client,
    nodes: HashMap<String, Ipv4Addr>,
    ipam: Mutex<PodIpam>,
    clock: Arc<dyn Clock>,
    cache: Store<Pod>,
}

/// Runs the pod simulator for `nodes` until `shutdown`.
pub async fn run(
    client: Client,
    nodes: Vec<PodNode>,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) {
    let mut ipam = PodIpam::default();
    for node in &nodes {
        ipam.add_node(&node.name, node.pod_range);
    }
    let bound = watcher::Config::default().fields("spec.nodeName!=");
    let controller = Controller::new(Api::<Pod>::all(client.clone()), bound)
        .with_config(controller::Config::default().concurrency(CONCURRENCY));
    let simulator = Simulator {
        client,
        nodes: nodes.into_iter().map(|n| (n.name, n.host_ip)).collect(),
        ipam: Mutex::new(ipam),
        clock,
        cache: controller.store(),
    };
    Harness::from_controller("pod-simulator", controller)
        .run(reconcile, Arc::new(simulator), shutdown)
        .await;
}

fn names(pod: &Pod) -> (String, String) {
    (
        pod.metadata.namespace.clone().unwrap_or_default(),
        pod.metadata.name.clone().unwrap_or_default(),
    )
}

/// Moves one pod on, if it is bound to one of this simulator's nodes.
async fn reconcile(pod: Arc<Pod>, sim: Arc<Simulator>) -> Result<Action, PodError> {
    let node = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or_default();
    let Some(host_ip) = sim.nodes.get(node).copied() else {
        return Ok(Action::await_change());
    };
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let pod_ip = sim.address(node, &uid, &pod);
    let now = sim.clock.now();
    match decision::decide(&pod, IpAddr::V4(host_ip), pod_ip.map(IpAddr::V4), now) {
        PodAction::Wait { recheck } => Ok(after(recheck, now)),
        PodAction::Write { status, recheck } => {
            if !sim.write_status(&pod, &status).await? {
                return Ok(Action::await_change());
            }
            if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
                sim.release(node, &uid);
            }
            Ok(after(recheck, now))
        }
        PodAction::Finalize { status } => {
            if let Some(status) = status {
                sim.write_status(&pod, &status).await?;
            }
            sim.delete(&pod).await?;
            sim.release(node, &uid);
            Ok(Action::await_change())
        }
    }
}

/// Look again at `recheck`, or only when the pod changes.
fn after(recheck: Option<Timestamp>, now: Timestamp) -> Action {
    match recheck {
        Some(at) => {
            let wait = Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO);
            Action::requeue(wait.max(Duration::from_millis(10)))
        }
        None => Action::await_change(),
    }
}

impl Simulator {
    /// The pod's address: noted when it already has one, given from the node's range when
    /// it needs one.
    fn address(&self, node: &str, uid: &str, pod: &Pod) -> Option<Ipv4Addr> {
        let status = pod.status.as_ref();
        let mut ipam = self.ipam.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ip) = status
            .and_then(|s| s.pod_ip.as_deref())
            .and_then(|ip| ip.parse().ok())
        {
            if !matches!(
                status.and_then(|s| s.phase.as_deref()),
                Some("Succeeded" | "Failed")
            ) {
                ipam.record(node, uid, ip);
            }
            return Some(ip);
        }
        if !decision::needs_address(pod) {
            return None;
        }
        let live: OnceCell<HashSet<String>> = OnceCell::new();
        let alive = |u: &str| {
            live.get_or_init(|| {
                self.cache
                    .state()
                    .iter()
                    .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node))
                    .filter_map(|p| p.metadata.uid.clone())
                    .collect()
            })
            .contains(u)
        };
        ipam.allocate(node, uid, &alive)
    }

    fn release(&self, node: &str, uid: &str) {
        self.ipam
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .release(node, uid);
    }

    /// Writes `status` through `pods/status`; `false` when the pod is gone.
    async fn write_status(&self, pod: &Pod, status: &PodStatus) -> Result<bool, PodError> {
        let (namespace, name) = names(pod);
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &namespace);
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        let patch = Patch::Merge(json!({ "status": status }));
        match api.patch_status(&name, &params, &patch).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.is_not_found() => Ok(false),
            Err(source) => Err(PodError::WriteStatus {
                namespace,
                name,
                source,
            }),
        }
    }

    /// Deletes the pod for good: no grace period, and only this pod (its uid), not a
    /// namesake created since.
    async fn delete(&self, pod: &Pod) -> Result<(), PodError> {
        let (namespace, name) = names(pod);
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &namespace);
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: pod.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.is_not_found() || s.is_conflict() => Ok(()),
            Err(source) => Err(PodError::Delete {
                namespace,
                name,
                source,
            }),
        }
    }
}
