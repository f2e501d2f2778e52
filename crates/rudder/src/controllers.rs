//! Starting the controller manager inside `rudder server`: a client of the API server over
//! HTTPS with its own client certificate (`system:kube-controller-manager`), as upstream's.

use std::sync::Arc;

use anyhow::Context;
use rudder_controllers::clock::SystemClock;
use rudder_controllers::leader::decision::ElectionConfig;
use rudder_controllers::{ControllerOptions, Credentials, ManagerConfig};
use rudder_pki::ClusterPki;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The user the controller manager authenticates as.
const USER: &str = "system:kube-controller-manager";

/// Starts the controller manager against `server_url` unless `disabled` holds `*`; the other
/// names in `disabled` are controllers not to run. The task ends after `shutdown`.
///
/// # Errors
/// When the client certificate cannot be issued or the client built.
pub fn start(
    pki: &ClusterPki,
    server_url: &str,
    host: &str,
    disabled: &[String],
    options: ControllerOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<Option<JoinHandle<()>>> {
    if disabled.iter().any(|d| d == "*") {
        tracing::info!("controllers disabled");
        return Ok(None);
    }
    let (cert_pem, key_pem) = pki
        .issue_client_cert(USER, &[])
        .context("issuing the controller manager's client certificate")?;
    let credentials = Credentials {
        server: server_url.to_owned(),
        ca_pem: pki.ca_cert_pem().to_owned(),
        cert_pem,
        key_pem,
    };
    let config = ManagerConfig {
        identity: format!("{host}_{}", uuid::Uuid::new_v4()),
        election: ElectionConfig::default(),
        clock: Arc::new(SystemClock),
        disabled: disabled.to_vec(),
        options,
    };
    let task = rudder_controllers::start(&credentials, config, shutdown)
        .context("starting the controller manager")?;
    Ok(Some(task))
}
