//! The node lifecycle controller: watches Nodes and their Leases in `kube-node-lease`; a node
//! silent for longer than the grace period gets its Ready and pressure conditions set to
//! Unknown, its pods marked not ready, and the `unreachable` taints (`not-ready` when the
//! kubelet reports Ready False) that the taint eviction controller acts on; they go again when
//! the node is back. It also keeps the `NoSchedule` taints that mirror node conditions and
//! cordons (`node.kubernetes.io/unschedulable`).
//!
//! Upstream rate-limits the `NoExecute` tainting per zone and slows it when a whole zone goes
//! dark; here every node is tainted as soon as it is judged silent.

pub mod health;
pub mod pods;
pub mod taints;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition, ObjectReference, Pod};
use kube::api::{Api, ListParams, Patch};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::events::{EventRecorder, EventType};
use crate::harness::Harness;
use crate::workload::patch_params;
use health::{Health, Timings};

/// The namespace of the nodes' heartbeat Leases.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

/// How the controller judges nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// How long nodes may stay silent.
    pub timings: Timings,
    /// How often each node is looked at (upstream's `--node-monitor-period`, 5 s).
    pub monitor_period: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            timings: Timings::default(),
            monitor_period: Duration::from_secs(5),
        }
    }
}

/// What the controller's reconciles share.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// The wall clock.
    pub clock: Arc<dyn Clock>,
    /// Timings.
    pub config: Config,
    /// The nodes' Leases, as the watch last showed them.
    pub leases: Store<Lease>,
    /// Every node, as the watch last showed it.
    pub nodes: Store<Node>,
    /// What was last seen of each node.
    pub health: Mutex<HashMap<String, Health>>,
    /// Nodes whose pods still have to be marked not ready after a failed attempt.
    pub pods_to_mark: Mutex<HashSet<String>>,
    /// Where Events go.
    pub recorder: EventRecorder,
}

/// Why reconciling a node failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing the node's conditions failed.
    #[error("updating the status of node {node}")]
    UpdateStatus {
        /// The node.
        node: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Writing the node's taints failed.
    #[error("updating the taints of node {node}")]
    UpdateTaints {
        /// The node.
        node: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Listing or updating the pods of the node failed.
    #[error("marking the pods of node {node} not ready")]
    MarkPodsNotReady {
        /// The node.
        node: String,
        /// The first API error.
        #[source]
        source: kube::Error,
    },
}

/// Runs the controller until `shutdown` is cancelled.
pub async fn run(
    client: Client,
    clock: Arc<dyn Clock>,
    recorder: EventRecorder,
    config: Config,
    shutdown: CancellationToken,
) {
    let harness = Harness::<Node>::new("nodelifecycle", Api::all(client.clone()));
    let nodes = harness.store();
    let (harness, leases) = harness.watches_cached(
        Api::<Lease>::namespaced(client.clone(), NODE_LEASE_NAMESPACE),
        watcher::Config::default(),
        |lease: Lease| Some(ObjectRef::new(&lease.name_any())),
    );
    let ctx = Arc::new(Context {
        client,
        clock,
        config,
        leases,
        nodes,
        health: Mutex::new(HashMap::new()),
        pods_to_mark: Mutex::new(HashSet::new()),
        recorder,
    });
    harness.run(reconcile, ctx, shutdown).await;
}

/// Looks at one node: its health, its pods' readiness, its taints.
///
/// # Errors
/// Every [`Error`]; the look is repeated after a backoff.
pub async fn reconcile(node: Arc<Node>, ctx: Arc<Context>) -> Result<Action, Error> {
    let name = node.name_any();
    let now = ctx.clock.now();
    let lease_renew = ctx
        .leases
        .get(&ObjectRef::new(&name).within(NODE_LEASE_NAMESPACE))
        .and_then(|l| l.spec.as_ref()?.renew_time.as_ref().map(|t| t.0));
    let look = {
        let mut records = ctx.health.lock().unwrap_or_else(|e| e.into_inner());
        forget_deleted_nodes(&mut records, &ctx.nodes);
        let look = health::look(
            records.get(&name),
            &node,
            lease_renew,
            now,
            ctx.config.timings,
        );
        records.insert(name.clone(), look.health.clone());
        look
    };
    let mut current = Node::clone(&node);
    if let Some(conditions) = &look.conditions {
        current = write_conditions(&ctx, &current, conditions).await?;
    }
    let went_dark = look.observed_ready.as_deref() == Some("True")
        && look.current_ready.as_deref() != Some("True");
    if went_dark {
        record_not_ready(&ctx, &name).await;
    }
    let retry = ctx
        .pods_to_mark
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&name);
    if went_dark || (retry && look.current_ready.as_deref() != Some("True")) {
        mark_pods_not_ready(&ctx, &name).await?;
    }
    update_taints(&ctx, &current).await?;
    Ok(Action::requeue(next_look(
        &look,
        now,
        ctx.config.monitor_period,
    )))
}

/// When to look at the node again: after the monitor period, or just after its grace runs
/// out if that comes first.
fn next_look(look: &health::Look, now: k8s_openapi::jiff::Timestamp, period: Duration) -> Duration {
    match Duration::try_from(look.deadline - now) {
        Ok(left) if !left.is_zero() => left.saturating_add(Duration::from_millis(10)).min(period),
        _ => period,
    }
}

/// Drops what was remembered of nodes that no longer exist. The records are walked only when
/// they outnumber the cached nodes, so a reconcile does not copy the whole cache.
fn forget_deleted_nodes(records: &mut HashMap<String, Health>, nodes: &Store<Node>) {
    if records.len() > nodes.len() {
        records.retain(|name, _| nodes.get(&ObjectRef::new(name)).is_some());
    }
}

/// Replaces the node's conditions, conditional on the version read.
async fn write_conditions(
    ctx: &Context,
    node: &Node,
    conditions: &[NodeCondition],
) -> Result<Node, Error> {
    let name = node.name_any();
    let api: Api<Node> = Api::all(ctx.client.clone());
    let patch = json!({
        "metadata": {"resourceVersion": node.resource_version()},
        "status": {"conditions": conditions},
    });
    api.patch_status(&name, &patch_params(), &Patch::Merge(&patch))
        .await
        .map_err(|source| Error::UpdateStatus { node: name, source })
}

/// Upstream's `NodeNotReady` Event on the node (its UID is its name there).
async fn record_not_ready(ctx: &Context, name: &str) {
    let regarding = ObjectReference {
        api_version: Some("v1".to_owned()),
        kind: Some("Node".to_owned()),
        name: Some(name.to_owned()),
        uid: Some(name.to_owned()),
        ..ObjectReference::default()
    };
    let message = format!("Node {name} status is now: NodeNotReady");
    ctx.recorder
        .publish_ref(&regarding, EventType::Normal, "NodeNotReady", &message)
        .await;
}

/// Turns the Ready condition of every pod on the node False; remembers the node for another
/// try if any write fails.
async fn mark_pods_not_ready(ctx: &Context, node: &str) -> Result<(), Error> {
    let failed = |source: kube::Error| {
        ctx.pods_to_mark
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(node.to_owned());
        Error::MarkPodsNotReady {
            node: node.to_owned(),
            source,
        }
    };
    let all: Api<Pod> = Api::all(ctx.client.clone());
    let params = ListParams::default().fields(&format!("spec.nodeName={node}"));
    let pods = all.list(&params).await.map_err(&failed)?;
    let now = ctx.clock.now();
    let mut first_error = None;
    for pod in pods.items {
        let Some(conditions) = pods::not_ready_conditions(&pod, now) else {
            continue;
        };
        let api: Api<Pod> =
            Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
        let patch = json!({
            "metadata": {"resourceVersion": pod.resource_version()},
            "status": {"conditions": conditions},
        });
        match api
            .patch_status(&pod.name_any(), &patch_params(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {
                ctx.recorder
                    .publish(
                        &pod,
                        EventType::Warning,
                        "NodeNotReady",
                        "Node is not ready",
                    )
                    .await;
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(()), |e| Err(failed(e)))
}

/// Brings the node's managed taints in line with its conditions and cordon.
async fn update_taints(ctx: &Context, node: &Node) -> Result<(), Error> {
    let spec = node.spec.as_ref();
    let current = spec.and_then(|s| s.taints.clone()).unwrap_or_default();
    let conditions = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let unschedulable = spec.and_then(|s| s.unschedulable).unwrap_or(false);
    let Some(taints) = taints::reconcile(&current, &conditions, unschedulable, ctx.clock.now())
    else {
        return Ok(());
    };
    let name = node.name_any();
    let api: Api<Node> = Api::all(ctx.client.clone());
    let patch = json!({
        "metadata": {"resourceVersion": node.resource_version()},
        "spec": {"taints": taints},
    });
    api.patch(&name, &patch_params(), &Patch::Merge(&patch))
        .await
        .map(drop)
        .map_err(|source| Error::UpdateTaints { node: name, source })
}
