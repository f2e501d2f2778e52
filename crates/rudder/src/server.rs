//! `rudder server`: certificates, kubeconfig, store, API server, and an orderly shutdown.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use rudder_apiserver::allocators::{PortRange, ServiceCidr};
use rudder_apiserver::auth::Authenticator;
use rudder_apiserver::{ApiConfig, ApiServer};
use rudder_controllers::nodelifecycle as node_lifecycle;
use rudder_pki::{ClusterPki, TokenFile};
use rudder_store::embedded::EmbeddedStore;
use rudder_store::etcd::EtcdStore;
use rudder_store::Store;
use tokio_util::sync::CancellationToken;

/// Flags of `rudder server`.
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Where the store, certificates and kubeconfig live.
    #[arg(long, default_value = "/var/lib/rudder")]
    data_dir: PathBuf,
    /// The HTTPS port of the API server.
    #[arg(long, default_value_t = 6443)]
    port: u16,
    /// The address the API server listens on.
    #[arg(long, default_value = "127.0.0.1")]
    bind_address: IpAddr,
    /// Keep the cluster in this etcd (comma-separated `http://host:port` endpoints) instead of
    /// the embedded store.
    #[arg(long, value_delimiter = ',')]
    datastore_endpoint: Vec<String>,
    /// A static token file (`token,user,uid,"group1,group2"` per line) for bearer tokens.
    #[arg(long)]
    token_auth_file: Option<PathBuf>,
    /// The range Service cluster IPs come from.
    #[arg(long, default_value = rudder_apiserver::DEFAULT_SERVICE_CIDR, value_parser = ServiceCidr::parse)]
    service_cidr: ServiceCidr,
    /// The range Service node ports come from.
    #[arg(long, default_value = "30000-32767", value_parser = PortRange::parse)]
    service_node_port_range: PortRange,
    /// Controllers not to run (comma-separated names); given alone, no controller runs.
    #[arg(long, value_delimiter = ',', num_args = 0.., default_missing_value = "*")]
    disable_controllers: Vec<String>,
    /// The Job controller's delay before replacing a failed pod, in milliseconds; it doubles
    /// with each further failure, up to 6 minutes.
    #[arg(long, default_value_t = 10_000)]
    job_pod_failure_backoff_ms: u64,
    /// Run this many simulated nodes (`sim-0` …) in the server: no containers, pods bound to
    /// them go through their phases as their annotations say.
    #[arg(long, default_value_t = 0)]
    simulated_nodes: usize,
    #[command(flatten)]
    node_timings: crate::agent::NodeTimingArgs,
    /// How long a node may go without renewing its Lease or posting status before it is
    /// marked NotReady (Unknown) and tainted unreachable.
    #[arg(long, default_value = "40s", value_parser = crate::duration::parse)]
    node_monitor_grace_period: Duration,
    /// How often the node lifecycle controller looks at each node.
    #[arg(long, default_value = "5s", value_parser = crate::duration::parse)]
    node_monitor_period: Duration,
    /// How often every ResourceQuota's usage is recalculated in full.
    #[arg(long, default_value = "5m", value_parser = crate::duration::parse)]
    resource_quota_sync_period: std::time::Duration,
    /// How often each HorizontalPodAutoscaler is synced.
    #[arg(long, default_value = "15s", value_parser = crate::duration::parse)]
    horizontal_pod_autoscaler_sync_period: std::time::Duration,
    /// How long a HorizontalPodAutoscaler waits before scaling down when its behavior sets no
    /// window.
    #[arg(long, default_value = "5m", value_parser = crate::duration::parse)]
    horizontal_pod_autoscaler_downscale_stabilization: std::time::Duration,
    /// Do not run the scheduler (pods stay Pending unless they name a node).
    #[arg(long)]
    disable_scheduler: bool,
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating data directory {}", args.data_dir.display()))?;
    let hosts = vec![host_name(), args.bind_address.to_string()];
    let pki = ClusterPki::load_or_create(&args.data_dir.join("tls"), &hosts)
        .context("preparing certificates")?;
    let url_host = if args.bind_address.is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        args.bind_address.to_string()
    };
    let url_host = if url_host.contains(':') {
        format!("[{url_host}]")
    } else {
        url_host
    };
    let kubeconfig = args.data_dir.join("kubeconfig.yaml");
    let server_url = format!("https://{url_host}:{}", args.port);
    rudder_pki::write_admin_kubeconfig(&kubeconfig, &server_url, &pki)
        .context("writing the admin kubeconfig")?;
    let mut tokens = args
        .token_auth_file
        .as_deref()
        .map(TokenFile::load)
        .transpose()
        .context("reading the token file")?;
    let node_token = crate::agent::accept_join_token(&pki, &args.data_dir, &mut tokens)?;

    let (dyn_store, embedded) = open_store(&args).await?;
    let shutdown = CancellationToken::new();
    let config = ApiConfig {
        service_cidr: args.service_cidr,
        node_ports: args.service_node_port_range,
    };
    let (api, cache_task) = ApiServer::start(
        dyn_store.clone(),
        config,
        Authenticator { tokens },
        shutdown.clone(),
    )
    .await
    .context("starting the API server")?;
    rudder_apiserver::bootstrap::ensure_system_namespaces(api.state())
        .await
        .context("creating system namespaces")?;
    rudder_apiserver::bootstrap::ensure_kubernetes_service(
        api.state(),
        args.service_cidr,
        args.port,
    )
    .await
    .context("creating the kubernetes service")?;
    rudder_apiserver::bootstrap::ensure_local_path_storage_class(api.state())
        .await
        .context("creating the local-path storage class")?;
    rudder_apiserver::bootstrap::ensure_system_priority_classes(api.state())
        .await
        .context("creating the system priority classes")?;
    let compactor = tokio::spawn(rudder_apiserver::compactor::run(
        dyn_store,
        shutdown.clone(),
    ));

    let addr = SocketAddr::new(args.bind_address, args.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let tls = pki
        .server_tls_config()
        .context("building the TLS configuration")?;
    tracing::info!(%addr, kubeconfig = %kubeconfig.display(), node_token = %node_token.display(), elapsed_ms = started.elapsed().as_millis() as u64, "rudder server is ready");
    let serving = tokio::spawn(rudder_apiserver::server::serve_tls(
        listener,
        tls,
        api.router().merge(rudder_apiserver::ca_certs_router(
            pki.ca_cert_pem().to_owned(),
        )),
        shutdown.clone(),
    ));

    let stop_controllers = CancellationToken::new();
    let node_lifecycle = node_lifecycle::Config {
        timings: node_lifecycle::health::Timings {
            grace: args.node_monitor_grace_period,
            ..node_lifecycle::health::Timings::default()
        },
        monitor_period: args.node_monitor_period,
    };
    let controllers = crate::controllers::start(
        &pki,
        &server_url,
        &host_name(),
        &args.disable_controllers,
        rudder_controllers::ControllerOptions {
            node_lifecycle,
            quota_resync: args.resource_quota_sync_period,
            storage_dir: args.data_dir.join("storage"),
            autoscaler: rudder_controllers::podautoscaler::Options {
                sync_period: args.horizontal_pod_autoscaler_sync_period,
                downscale_stabilization: args.horizontal_pod_autoscaler_downscale_stabilization,
                ..Default::default()
            },
            job_backoff: rudder_controllers::job::backoff::Delays {
                base: std::time::Duration::from_millis(args.job_pod_failure_backoff_ms),
                ..Default::default()
            },
            ..Default::default()
        },
        stop_controllers.clone(),
    )?;

    let nodes = crate::agent::start_in_server(
        &pki,
        &server_url,
        args.simulated_nodes,
        &args.node_timings,
        stop_controllers.clone(),
    )?;

    let scheduler = if args.disable_scheduler {
        None
    } else {
        Some(crate::scheduler::start(
            &pki,
            &server_url,
            &host_name(),
            stop_controllers.clone(),
        )?)
    };

    wait_for_signal().await;
    tracing::info!("shutting down");
    // Controllers, the scheduler and nodes first: they release their Leases through the API
    // server.
    stop_controllers.cancel();
    if let Some(controllers) = controllers {
        let _ = controllers.await;
    }
    if let Some(scheduler) = scheduler {
        let _ = scheduler.await;
    }
    if let Some(nodes) = nodes {
        let _ = nodes.await;
    }
    shutdown.cancel();
    let _ = serving.await;
    let _ = cache_task.await;
    let _ = compactor.await;
    if let Some(store) = embedded {
        store.close();
    }
    Ok(())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_lowercase())
        .unwrap_or_default()
}

/// Waits for SIGINT or SIGTERM.
pub async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Opens the cluster store: a real etcd when endpoints are given, else the embedded store in
/// `DATA_DIR/db` (returned as well, so it can be closed in order).
async fn open_store(
    args: &ServerArgs,
) -> anyhow::Result<(Arc<dyn Store>, Option<Arc<EmbeddedStore>>)> {
    if !args.datastore_endpoint.is_empty() {
        let etcd = EtcdStore::connect(&args.datastore_endpoint, None)
            .await
            .with_context(|| {
                format!(
                    "connecting to etcd at {}",
                    args.datastore_endpoint.join(",")
                )
            })?;
        return Ok((Arc::new(etcd), None));
    }
    let store =
        Arc::new(EmbeddedStore::open(&args.data_dir.join("db")).context("opening the store")?);
    Ok((store.clone(), Some(store)))
}
