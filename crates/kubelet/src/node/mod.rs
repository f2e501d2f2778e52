//! The node part of a node agent, shared by the simulated nodes and the real kubelet: register
//! the Node, keep its Lease in `kube-node-lease` renewed every quarter of the lease duration,
//! and report the node status when it changes or when `nodeStatusReportFrequency` has passed.
//!
//! The objects written are computed by the I/O-free [`status`] and [`lease`] modules; this
//! module only sequences the API calls.

pub mod config;
pub mod lease;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::Client;
use rudder_controllers::clock::Clock;
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use config::{NodeConfig, NodeTimings};
use status::NodeHealth;

/// The field manager node agents write with.
const FIELD_MANAGER: &str = "kubelet";
/// The first retry delay after a failed heartbeat (upstream's lease controller: 200 ms,
/// doubling up to 7 s).
const RETRY_BASE: Duration = Duration::from_millis(200);
/// The longest retry delay after failed heartbeats.
const RETRY_MAX: Duration = Duration::from_secs(7);

/// Why a step of a node agent failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Creating, reading or relabelling the Node failed.
    #[error("registering node {name}")]
    Register {
        /// The node.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Reading, creating or renewing the node's Lease failed.
    #[error("renewing the lease of node {name}")]
    RenewLease {
        /// The node.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Writing the node status failed.
    #[error("reporting the status of node {name}")]
    ReportStatus {
        /// The node.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// One node's agent: registration, Lease heartbeat and status reports.
pub struct NodeAgent {
    nodes: Api<Node>,
    leases: Api<Lease>,
    config: NodeConfig,
    health: NodeHealth,
    timings: NodeTimings,
    clock: Arc<dyn Clock>,
    cache: Store<Node>,
}

/// What the agent knows between heartbeats.
struct Heartbeat {
    node: Node,
    lease: Option<Lease>,
    last_report: Option<Timestamp>,
}

impl NodeAgent {
    /// An agent for `config` talking through `client`. `cache` is a reflector store of Nodes
    /// (shared by every agent of the process) through which changes others make to the node's
    /// status are seen without a read per heartbeat.
    pub fn new(
        client: Client,
        config: NodeConfig,
        timings: NodeTimings,
        clock: Arc<dyn Clock>,
        cache: Store<Node>,
    ) -> Self {
        Self {
            nodes: Api::all(client.clone()),
            leases: Api::namespaced(client, lease::LEASE_NAMESPACE),
            config,
            health: NodeHealth::default(),
            timings,
            clock,
            cache,
        }
    }

    /// Registers the node (one registration at a time per permit of `gate`), then renews its
    /// Lease and reports its status until `shutdown`. The first renewal after registration
    /// waits `stagger` more, so that many nodes of one process spread their writes in time.
    pub async fn run(self, stagger: Duration, gate: Arc<Semaphore>, shutdown: CancellationToken) {
        let Some(node) = self.register_until_done(&gate, &shutdown).await else {
            return;
        };
        let mut beat = Heartbeat {
            node,
            lease: None,
            last_report: None,
        };
        let mut failures = 0u32;
        let mut next = Instant::now();
        let mut first = true;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(next) => {}
            }
            match self.heartbeat(&mut beat).await {
                Ok(()) => {
                    failures = 0;
                    let extra = if first { stagger } else { Duration::ZERO };
                    first = false;
                    next = Instant::now() + self.timings.renew_interval() + extra;
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(node = %self.config.name, error = %e, cause = ?std::error::Error::source(&e).map(ToString::to_string), "node heartbeat failed");
                    next = Instant::now() + self.retry_delay(failures);
                }
            }
        }
    }

    fn retry_delay(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(16);
        RETRY_BASE
            .saturating_mul(1 << exponent)
            .min(RETRY_MAX)
            .min(self.timings.renew_interval())
    }

    async fn register_until_done(
        &self,
        gate: &Semaphore,
        shutdown: &CancellationToken,
    ) -> Option<Node> {
        let mut failures = 0u32;
        loop {
            let result = {
                let _permit = gate.acquire().await.ok()?;
                self.register().await
            };
            match result {
                Ok(node) => return Some(node),
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(node = %self.config.name, error = %e, cause = ?std::error::Error::source(&e).map(ToString::to_string), "node registration failed");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                _ = tokio::time::sleep(self.retry_delay(failures)) => {}
            }
        }
    }

    /// Creates the Node, or takes the existing one and adds the labels it lacks.
    async fn register(&self) -> Result<Node, NodeError> {
        let name = &self.config.name;
        let err = |source| NodeError::Register {
            name: name.clone(),
            source,
        };
        let created = self
            .nodes
            .create(&manager_post(), &status::registration(&self.config))
            .await;
        match created {
            Ok(node) => {
                tracing::info!(node = %name, "node registered");
                Ok(node)
            }
            Err(kube::Error::Api(s)) if s.is_already_exists() => {
                let existing = self.nodes.get(name).await.map_err(err)?;
                match status::missing_labels(&existing, &self.config) {
                    None => Ok(existing),
                    Some(labels) => {
                        let patch = Patch::Merge(json!({"metadata": {"labels": labels}}));
                        self.nodes
                            .patch(name, &manager_patch(), &patch)
                            .await
                            .map_err(err)
                    }
                }
            }
            Err(e) => Err(err(e)),
        }
    }

    async fn heartbeat(&self, beat: &mut Heartbeat) -> Result<(), NodeError> {
        self.renew_lease(beat).await?;
        self.report_status(beat).await
    }

    /// Renews the Lease from the copy last written, reading (or creating) it when there is none.
    async fn renew_lease(&self, beat: &mut Heartbeat) -> Result<(), NodeError> {
        let name = &self.config.name;
        let err = |source| NodeError::RenewLease {
            name: name.clone(),
            source,
        };
        let now = self.clock.now();
        let seconds = self.timings.lease_duration_seconds();
        let current = match beat.lease.take() {
            Some(lease) => Some(lease),
            None => self.leases.get_opt(name).await.map_err(err)?,
        };
        let written = match current {
            Some(lease) => {
                let lease = lease::renewed(&lease, &beat.node, seconds, now);
                self.leases.replace(name, &manager_post(), &lease).await
            }
            None => {
                let lease = lease::new_lease(&beat.node, seconds, now);
                self.leases.create(&manager_post(), &lease).await
            }
        };
        beat.lease = Some(written.map_err(err)?);
        Ok(())
    }

    /// Reports the status when it changed (as the cache shows the Node) or is due anyway.
    async fn report_status(&self, beat: &mut Heartbeat) -> Result<(), NodeError> {
        let name = &self.config.name;
        let now = self.clock.now();
        let cached = self.cache.get(&ObjectRef::new(name));
        let current = cached
            .as_deref()
            .and_then(|n| n.status.as_ref())
            .or(beat.node.status.as_ref());
        let desired = status::desired_status(&self.config, &self.health, current, now);
        let frequency = self.timings.status_report_frequency;
        if !status::needs_report(current, &desired, beat.last_report, now, frequency) {
            return Ok(());
        }
        let patch = Patch::Strategic(json!({ "status": desired }));
        beat.node = self
            .nodes
            .patch_status(name, &manager_patch(), &patch)
            .await
            .map_err(|source| NodeError::ReportStatus {
                name: name.clone(),
                source,
            })?;
        beat.last_report = Some(now);
        Ok(())
    }
}

fn manager_post() -> PostParams {
    PostParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PostParams::default()
    }
}

fn manager_patch() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    }
}
