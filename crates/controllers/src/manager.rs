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
use crate::informer::Informers;
use crate::leader::decision::ElectionConfig;
use crate::leader::LeaderElector;
use crate::replicaset::ReplicaOwner;
use crate::{
    cronjob, daemonset, deployment, disruption, endpoint, endpointslice, garbagecollector, job,
    namespace, nodelifecycle, podautoscaler, replicaset, resourcequota, serviceaccount,
    statefulset, tainteviction, ttlafterfinished, volume,
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
    "resourcequota",
    volume::NAME,
    volume::provisioner::NAME,
    podautoscaler::NAME,
    "job",
    "cronjob",
    "ttl-after-finished",
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
    /// Settings of individual controllers.
    pub options: ControllerOptions,
}

/// Settings of individual controllers, with upstream's defaults.
#[derive(Clone)]
pub struct ControllerOptions {
    /// How the node lifecycle controller judges nodes (grace periods, monitor period).
    pub node_lifecycle: nodelifecycle::Config,
    /// How often every ResourceQuota is recalculated in full (`--resource-quota-sync-period`).
    pub quota_resync: std::time::Duration,
    /// Where the `local-path` provisioner puts volumes (`<data-dir>/storage`).
    pub storage_dir: std::path::PathBuf,
    /// The HorizontalPodAutoscaler controller's timings.
    pub autoscaler: podautoscaler::Options,
    /// Where the HorizontalPodAutoscaler controller reads pods' resource usage.
    pub metrics: Arc<dyn podautoscaler::MetricsSource>,
    /// The Job controller's pod-failure back-off (`--job-pod-failure-backoff-ms` sets its base).
    pub job_backoff: job::backoff::Delays,
}

impl Default for ControllerOptions {
    fn default() -> Self {
        Self {
            node_lifecycle: nodelifecycle::Config::default(),
            quota_resync: resourcequota::DEFAULT_RESYNC,
            storage_dir: std::path::PathBuf::from("/var/lib/rudder/storage"),
            autoscaler: podautoscaler::Options::default(),
            metrics: Arc::new(podautoscaler::NoMetricsApi),
            job_backoff: job::backoff::Delays::default(),
        }
    }
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
    let options = Arc::new(config.options);
    elector
        .run(shutdown, move |leading| {
            run_controllers(
                client.clone(),
                Arc::clone(&clock),
                Arc::clone(&host),
                Arc::clone(&disabled),
                Arc::clone(&options),
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
    options: Arc<ControllerOptions>,
    leading: CancellationToken,
) {
    let enabled = |name: &str| !disabled.iter().any(|d| d == name);
    let mut tasks = tokio::task::JoinSet::new();
    let recorder =
        |component: &str| EventRecorder::new(client.clone(), component, &host, Arc::clone(&clock));
    let informers = Informers::start(&client, &leading);
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
            informers.clone(),
            leading.clone(),
        ));
    }
    if enabled("replicationcontroller") {
        tasks.spawn(replicaset::run::<ReplicationController>(
            client.clone(),
            Arc::clone(&clock),
            recorder(ReplicationController::COMPONENT),
            informers.clone(),
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
            informers.clone(),
            leading.clone(),
        ));
    }
    if enabled("daemonset") {
        tasks.spawn(daemonset::run(
            client.clone(),
            Arc::clone(&clock),
            recorder("daemonset-controller"),
            informers.clone(),
            leading.clone(),
        ));
    }
    if enabled("garbagecollector") {
        let gc = garbagecollector::run(client.clone(), Arc::clone(&clock), leading.clone());
        tasks.spawn(gc);
    }
    if enabled("endpoint") {
        tasks.spawn(endpoint::run(
            client.clone(),
            informers.clone(),
            leading.clone(),
        ));
    }
    if enabled("endpointslice") {
        tasks.spawn(endpointslice::run(
            client.clone(),
            informers.clone(),
            leading.clone(),
        ));
    }
    if enabled("nodelifecycle") {
        tasks.spawn(nodelifecycle::run(
            client.clone(),
            Arc::clone(&clock),
            recorder("node-controller"),
            options.node_lifecycle,
            leading.clone(),
        ));
    }
    if enabled(tainteviction::NAME) {
        tasks.spawn(tainteviction::run(
            client.clone(),
            Arc::clone(&clock),
            recorder(tainteviction::NAME),
            informers.clone(),
            leading.clone(),
        ));
    }
    if enabled("disruption") {
        tasks.spawn(disruption::run(
            client.clone(),
            Arc::clone(&clock),
            recorder("controllermanager"),
            informers.clone(),
            leading.clone(),
        ));
    }
    if enabled("resourcequota") {
        tasks.spawn(resourcequota::run(
            client.clone(),
            Arc::clone(&clock),
            options.quota_resync,
            informers.clone(),
            leading.clone(),
        ));
    }
    if enabled(volume::NAME) {
        tasks.spawn(volume::run(
            client.clone(),
            recorder("persistentvolume-controller"),
            leading.clone(),
        ));
    }
    if enabled(volume::provisioner::NAME) {
        tasks.spawn(volume::provisioner::run(
            client.clone(),
            recorder(volume::local_path::PROVISIONER),
            options.storage_dir.clone(),
            leading.clone(),
        ));
    }
    if enabled(podautoscaler::NAME) {
        tasks.spawn(podautoscaler::run(
            client.clone(),
            Arc::clone(&clock),
            recorder("horizontal-pod-autoscaler"),
            Arc::clone(&options.metrics),
            options.autoscaler,
            leading.clone(),
        ));
    }
    if enabled("job") {
        let ctx = job::Context::new(
            client.clone(),
            Arc::clone(&clock),
            recorder(job::COMPONENT),
            options.job_backoff,
        );
        tasks.spawn(job::run(ctx, leading.clone()));
    }
    if enabled("cronjob") {
        let ctx = cronjob::Context {
            client: client.clone(),
            clock: Arc::clone(&clock),
            recorder: recorder(cronjob::COMPONENT),
        };
        tasks.spawn(cronjob::run(ctx, leading.clone()));
    }
    if enabled("ttl-after-finished") {
        let ctx = ttlafterfinished::Context {
            client: client.clone(),
            clock: Arc::clone(&clock),
        };
        tasks.spawn(ttlafterfinished::run(ctx, leading.clone()));
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
