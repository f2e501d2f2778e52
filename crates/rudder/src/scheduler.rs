//! Starting the scheduler inside `rudder server`: a client of the API server over HTTPS with
//! its own client certificate (`system:kube-scheduler`), leader-elected through the
//! `kube-system/kube-scheduler` Lease, as upstream's.

use std::sync::Arc;

use anyhow::Context;
use rudder_controllers::clock::SystemClock;
use rudder_controllers::leader::decision::ElectionConfig;
use rudder_controllers::Credentials;
use rudder_pki::ClusterPki;
use rudder_scheduler::queue::QueueConfig;
use rudder_scheduler::run::SchedulerConfig;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The user the scheduler authenticates as.
const USER: &str = "system:kube-scheduler";

/// Starts the scheduler against `server_url`. The task ends after `shutdown`.
///
/// # Errors
/// When the client certificate cannot be issued or the client built.
pub fn start(
    pki: &ClusterPki,
    server_url: &str,
    host: &str,
    shutdown: CancellationToken,
) -> anyhow::Result<JoinHandle<()>> {
    let (cert_pem, key_pem) = pki
        .issue_client_cert(USER, &[])
        .context("issuing the scheduler's client certificate")?;
    let credentials = Credentials {
        server: server_url.to_owned(),
        ca_pem: pki.ca_cert_pem().to_owned(),
        cert_pem,
        key_pem,
    };
    let identity = format!("{host}_{}", uuid::Uuid::new_v4());
    let config = SchedulerConfig {
        seed: identity
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))),
        identity,
        host: host.to_owned(),
        election: ElectionConfig::default(),
        clock: Arc::new(SystemClock),
        queue: QueueConfig::default(),
    };
    rudder_scheduler::run::start(&credentials, config, shutdown).context("starting the scheduler")
}
