//! Node agents: `rudder agent --server URL --token T --simulate N` runs simulated nodes in their
//! own process, joined with the server's node token; `rudder server --simulated-nodes N` runs
//! them inside the server with a client certificate.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use rudder_controllers::clock::SystemClock;
use rudder_controllers::Credentials;
use rudder_kubelet::node::config::{simulated_capacity, NodeTimings};
use rudder_kubelet::simulated::{self, SimulatedConfig};
use rudder_pki::{ClusterPki, JoinToken, TokenFile, TokenUser};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The user node agents authenticate as, with a join token's secret or (in the server) a
/// client certificate.
pub const AGENT_USER: &str = "system:node-agent";
/// The group node agents belong to, as upstream's kubelets.
pub const AGENT_GROUP: &str = "system:nodes";
/// The join token file in the server's data directory, as k3s's.
pub const NODE_TOKEN_FILE: &str = "node-token";

/// How often node agents prove they are alive (upstream's kubelet configuration fields).
#[derive(Args, Debug, Clone)]
pub struct NodeTimingArgs {
    /// Node Leases' duration; they are renewed every quarter of it.
    #[arg(long, default_value_t = 40)]
    node_lease_duration_seconds: u64,
    /// How often an unchanged node status is reported anyway.
    #[arg(long, default_value_t = 300)]
    node_status_report_frequency_seconds: u64,
}

impl NodeTimingArgs {
    fn timings(&self) -> NodeTimings {
        NodeTimings {
            lease_duration: Duration::from_secs(self.node_lease_duration_seconds.max(1)),
            status_report_frequency: Duration::from_secs(self.node_status_report_frequency_seconds),
        }
    }
}

/// Flags of `rudder agent`.
#[derive(Args, Debug)]
pub struct AgentArgs {
    /// The API server to join, `https://host:port`.
    #[arg(long, env = "RUDDER_URL")]
    server: String,
    /// The server's join token (`DATA_DIR/node-token` on the server).
    #[arg(long, env = "RUDDER_TOKEN", conflicts_with = "token_file")]
    token: Option<String>,
    /// A file holding the join token.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Run this many simulated nodes (no containers) instead of a real node.
    #[arg(long)]
    simulate: Option<usize>,
    /// The simulated nodes' name prefix (`<prefix>-0`, `<prefix>-1`, …).
    #[arg(long, default_value = "sim")]
    node_name_prefix: String,
    #[command(flatten)]
    timings: NodeTimingArgs,
}

/// Runs `rudder agent` until SIGINT or SIGTERM.
pub async fn run(args: AgentArgs) -> anyhow::Result<()> {
    let Some(count) = args.simulate else {
        anyhow::bail!("only simulated nodes can run yet: pass --simulate N");
    };
    let token = match (&args.token, &args.token_file) {
        (Some(token), _) => token.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the join token from {}", path.display()))?,
        (None, None) => anyhow::bail!("a join token is needed: --token or --token-file"),
    };
    let client = rudder_kubelet::join::join(&args.server, &token)
        .await
        .with_context(|| format!("joining {}", args.server))?;
    let config = SimulatedConfig {
        count,
        prefix: args.node_name_prefix,
        timings: args.timings.timings(),
        capacity: simulated_capacity(),
    };
    let shutdown = CancellationToken::new();
    let task = simulated::start(client, &config, Arc::new(SystemClock), shutdown.clone())?;
    tracing::info!(server = %args.server, count, "rudder agent is running simulated nodes");
    crate::server::wait_for_signal().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    let _ = task.await;
    Ok(())
}

/// Writes (or reads) the server's join token and lets its secret authenticate node agents.
///
/// # Errors
/// When the token file cannot be read or written.
pub fn accept_join_token(
    pki: &ClusterPki,
    data_dir: &std::path::Path,
    tokens: &mut Option<TokenFile>,
) -> anyhow::Result<PathBuf> {
    let path = data_dir.join(NODE_TOKEN_FILE);
    let token = JoinToken::load_or_create(&path, pki.ca_cert_pem())
        .context("preparing the node join token")?;
    let user = TokenUser {
        name: AGENT_USER.to_owned(),
        uid: String::new(),
        groups: vec![AGENT_GROUP.to_owned()],
    };
    tokens
        .get_or_insert_with(TokenFile::default)
        .insert(token.secret(), user);
    Ok(path)
}

/// Starts `count` simulated nodes inside the server (none when `count` is 0).
///
/// # Errors
/// When the client certificate cannot be issued, the client built, or the count is too large.
pub fn start_in_server(
    pki: &ClusterPki,
    server_url: &str,
    count: usize,
    timings: &NodeTimingArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<Option<JoinHandle<()>>> {
    if count == 0 {
        return Ok(None);
    }
    let (cert_pem, key_pem) = pki
        .issue_client_cert(AGENT_USER, &[AGENT_GROUP])
        .context("issuing the simulated nodes' client certificate")?;
    let client = Credentials {
        server: server_url.to_owned(),
        ca_pem: pki.ca_cert_pem().to_owned(),
        cert_pem,
        key_pem,
    }
    .client()
    .context("building the simulated nodes' client")?;
    let config = SimulatedConfig {
        count,
        prefix: "sim".to_owned(),
        timings: timings.timings(),
        capacity: simulated_capacity(),
    };
    let task = simulated::start(client, &config, Arc::new(SystemClock), shutdown)?;
    Ok(Some(task))
}
