//! The controller manager: one leader-elected process running every enabled controller while
//! it holds the `kube-controller-manager` Lease in `kube-system`.

use std::sync::Arc;

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use kube::Client;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::client::{ClientError, Credentials};
use crate::clock::Clock;
use crate::events::EventRecorder;
use crate::leader::decision::ElectionConfig;
use crate::leader::LeaderElector;
use crate::replicaset::ReplicaOwner;
use crate::{
    daemonset, deployment, disruption, endpoint, endpointslice, garbagecollector, namespace,
    nodelifecycle, replicaset, serviceaccount, statefulset, tainteviction,
};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::ReplicationController;

/// The Lease the controller manager is elected through, as upstream's.
pub const LEASE_NAME: &str = "kube-controller-manager";
/// The namespace of that Lease.
pub const LEASE_NAMESPACE: &str = "kube-system";

/// The controllers this manager knows, by their upstream names.
pub const CONTROLLERS: &[&str] = &[
    "namespace",
    "serviceaccount",
    "replicaset",
    "replicationcontroller",
    "deployment",
    "statefulset",
    "daemonset",
    "garbagecollector",
    "endpoint",
    "endpointslice",
    "nodelifecycle",
    tainteviction::NAME,
    "disruption",
];

/// How the controller manager runs.
pub struct ManagerConfig {
    /// This candidate's identity in the Lease (upstream: `hostname_uuid`).
    pub identity: String,
    /// Leader-election timings.
    pub election: ElectionConfig,
    /// The wall clock.
    pub clock: Arc<dyn Clock>,
    /// Controllers not to run, by name.
    pub disabled: Vec<String>,
    /// How the node lifecycle controller judges nodes (grace periods, monitor period).
    pub node_lifecycle: nodelifecycle::Config,
}

/// Starts the controller manager against the API server `credentials` name. The task ends
/// (controllers stopped, lease released) after `shutdown` is cancelled.
///
/// # Errors
/// A [`ClientError`] when the client cannot be built.
pub fn start(
    credentials: &Credentials,
    config: ManagerConfig,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, ClientError> {
    let client = credentials.client()?;
    Ok(tokio::spawn(run(client, config, shutdown)))
}

/// Campaigns for leadership and runs the controllers while leading, until `shutdown`.
pub async fn run(client: Client, config: ManagerConfig, shutdown: CancellationToken) {
    // The identity is `<host>_<uuid>`; Events name the host as their reporting instance.
    let host: Arc<str> = config.identity.split('_').next().unwrap_or_default().into();
    let leases: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let elector = LeaderElector::new(
        leases,
        LEASE_NAME,
        config.identity,
        config.election,
        Arc::clone(&config.clock),
    );
    let clock = config.clock;
    let disabled = Arc::new(config.disabled);
    let node_lifecycle = config.node_lifecycle;
    elector
        .run(shutdown, move |leading| {
            run_controllers(
                client.clone(),
                Arc::clone(&clock),
                Arc::clone(&host),
                Arc::clone(&disabled),
                node_lifecycle,
                leading,
            )
        })
        .await;
}

/// Runs every enabled controller until `leading` is cancelled, and waits for them all.
async fn run_controllers(
    client: Client,
    clock: Arc<dyn Clock>,
    host: Arc<str>,
    disabled: Arc<Vec<String>>,
    node_lifecycle: nodelifecycle::Config,
    leading: CancellationToken,
) {
    let enabled = |name: &str| !disabled.iter().any(|d| d == name);
    let mut tasks = tokio::task::JoinSet::new();
    let recorder =
        |component: &str| EventRecorder::new(client.clone(), component, &host, Arc::clone(&clock));
    if enabled("namespace") {
        tasks.spawn(namespace::run(
            client.clone(),
            Arc::clone(&clock),
            leading.clone(),
        ));
    }
    if enabled("replicaset") {
        tasks.spawn(replicaset::run::<ReplicaSet>(
            client.clone(),
            Arc::clone(&clock),
            recorder(ReplicaSet::COMPONENT),
            leading.clone(),
        ));
    }
    if enabled("replicationcontroller") {
        tasks.spawn(replicaset::run::<ReplicationController>(
            client.clone(),
            Arc::clone(&clock),
            recorder(ReplicationController::COMPONENT),
            leading.clone(),
        ));
    }
    if enabled("deployment") {
        tasks.spawn(deployment::run(
            client.clone(),
            Arc::clone(&clock),
            recorder("deployment-controller"),
            leading.clone(),
        ));
    }
    if enabled("statefulset") {
        tasks.spawn(statefulset::run(
            client.clone(),
            Arc::clone(&clock),
            recorder("statefulset-controller"),
            leading.clone(),
        ));
    }
    if enabled("daemonset") {
        tasks.spawn(daemonset::run(
            client.clone(),
            Arc::clone(&clock),
            recorder("daemonset-controller"),
            leading.clone(),
        ));
    }
    if enabled("garbagecollector") {
        let gc = garbagecollector::run(client.clone(), Arc::clone(&clock), leading.clone());
        tasks.spawn(gc);
    }
    if enabled("endpoint") {
        tasks.spawn(endpoint::run(client.clone(), leading.clone()));
    }
    if enabled("endpointslice") {
        tasks.spawn(endpointslice::run(client.clone(), leading.clone()));
    }
    if enabled("nodelifecycle") {
        tasks.spawn(nodelifecycle::run(
            client.clone(),
            Arc::clone(&clock),
            recorder("node-controller"),
            node_lifecycle,
            leading.clone(),
        ));
    }
    if enabled(tainteviction::NAME) {
        tasks.spawn(tainteviction::run(
            client.clone(),
            Arc::clone(&clock),
            recorder(tainteviction::NAME),
            leading.clone(),
        ));
    }
    if enabled("disruption") {
        tasks.spawn(disruption::run(
            client.clone(),
            Arc::clone(&clock),
            recorder("controllermanager"),
            leading.clone(),
        ));
    }
    if enabled("serviceaccount") {
        tasks.spawn(serviceaccount::run(client, leading.clone()));
    }
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done {
            tracing::error!(error = %e, "a controller task failed");
        }
    }
}
