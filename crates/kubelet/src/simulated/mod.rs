//! Simulated nodes, as kwok makes them: N Nodes (`<prefix>-0` … `<prefix>-N-1`) that register,
//! keep their Leases fresh and report status through the same [`crate::node`] code as a real
//! node agent, and a pod lifecycle simulator that moves the pods bound to them through their
//! phases without containers.
//!
//! Pods follow their annotations: [`RUN_SECONDS_ANNOTATION`] makes containers exit after that
//! many seconds with [`EXIT_CODE_ANNOTATION`] (default 0), after which the restart policy
//! applies; a readiness probe's `initialDelaySeconds` delays readiness (no probe is run).
//!
//! Addresses are made up and never dialled: node `i` is `10.0.0.0 + i + 1` (its InternalIP)
//! and hands out pod addresses from `10.64.0.0/10`, the /24 number `i`. Two simulator processes
//! (a server's and an agent's) use the same ranges, so their pods may share addresses.

pub mod containers;
pub mod decision;
pub mod ipam;
pub mod pods;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, NodeSystemInfo};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::Api;
use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use rudder_controllers::clock::Clock;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

pub use containers::{EXIT_CODE_ANNOTATION, RUN_SECONDS_ANNOTATION};

use crate::node::config::{go_arch, NodeConfig, NodeTimings, KUBELET_PORT, KUBELET_VERSION};
use crate::node::NodeAgent;
use pods::PodNode;

/// The label every simulated node carries; its value is the simulator's name prefix.
pub const SIMULATOR_LABEL: &str = "sim.rudder.dev/simulator";
/// The most nodes one simulator runs (the /24s of `10.64.0.0/10`).
pub const MAX_NODES: usize = 16_384;
/// How many nodes register at once.
const REGISTRATION_CONCURRENCY: usize = 32;

/// Why simulated nodes could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimulatedError {
    /// More nodes were asked for than the address plan holds.
    #[error("{count} simulated nodes asked for; at most {MAX_NODES} fit")]
    TooManyNodes {
        /// How many were asked for.
        count: usize,
    },
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimulatedConfig {
    /// How many nodes.
    pub count: usize,
    /// Their names' prefix (`<prefix>-<i>`).
    pub prefix: String,
    /// Their heartbeat timings.
    pub timings: NodeTimings,
    /// What each node has (also what pods may use of it).
    pub capacity: BTreeMap<String, Quantity>,
}

/// One simulated node's configuration and pod address range.
fn node(config: &SimulatedConfig, index: u32) -> (NodeConfig, PodNode) {
    let name = format!("{}-{index}", config.prefix);
    let host_ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + index + 1);
    let pod_range = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 64, 0, 0)) + (index << 8));
    let node_info = NodeSystemInfo {
        architecture: go_arch().to_owned(),
        operating_system: "linux".to_owned(),
        kubelet_version: KUBELET_VERSION.to_owned(),
        container_runtime_version: format!("sim://{}", env!("CARGO_PKG_VERSION")),
        os_image: "Rudder simulated node".to_owned(),
        ..NodeSystemInfo::default()
    };
    let node = NodeConfig {
        name: name.clone(),
        labels: BTreeMap::from([(SIMULATOR_LABEL.to_owned(), config.prefix.clone())]),
        capacity: config.capacity.clone(),
        allocatable: config.capacity.clone(),
        internal_ip: IpAddr::V4(host_ip),
        node_info,
        kubelet_port: KUBELET_PORT,
    };
    let pods = PodNode {
        name,
        host_ip,
        pod_range,
    };
    (node, pods)
}

/// The configurations of every node `config` asks for.
///
/// # Errors
/// [`SimulatedError::TooManyNodes`].
pub fn nodes(config: &SimulatedConfig) -> Result<Vec<(NodeConfig, PodNode)>, SimulatedError> {
    if config.count > MAX_NODES {
        return Err(SimulatedError::TooManyNodes {
            count: config.count,
        });
    }
    Ok((0..config.count)
        .filter_map(|i| u32::try_from(i).ok())
        .map(|i| node(config, i))
        .collect())
}

/// Starts the simulated nodes and their pod simulator; the task ends after `shutdown`.
///
/// # Errors
/// [`SimulatedError::TooManyNodes`].
pub fn start(
    client: Client,
    config: &SimulatedConfig,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, SimulatedError> {
    let nodes = nodes(config)?;
    let (cache, writer) = reflector::store();
    let mut tasks = JoinSet::new();
    let selector = format!("{SIMULATOR_LABEL}={}", config.prefix);
    tasks.spawn(node_cache(
        client.clone(),
        selector,
        writer,
        shutdown.clone(),
    ));
    let gate = Arc::new(Semaphore::new(REGISTRATION_CONCURRENCY));
    let interval = config.timings.renew_interval();
    let count = nodes.len().max(1) as f64;
    let mut pod_nodes = Vec::with_capacity(nodes.len());
    for (i, (node, pods)) in nodes.into_iter().enumerate() {
        let stagger = interval.mul_f64(i as f64 / count);
        let agent = NodeAgent::new(
            client.clone(),
            node,
            config.timings,
            clock.clone(),
            cache.clone(),
        );
        tasks.spawn(agent.run(stagger, gate.clone(), shutdown.clone()));
        pod_nodes.push(pods);
    }
    tasks.spawn(pods::run(client, pod_nodes, clock, shutdown));
    tracing::info!(count = config.count, prefix = %config.prefix, "simulated nodes starting");
    Ok(tokio::spawn(async move {
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "a simulated node task failed");
            }
        }
    }))
}

/// Keeps `writer` filled with the simulator's Nodes until `shutdown`.
async fn node_cache(
    client: Client,
    selector: String,
    writer: Writer<Node>,
    shutdown: CancellationToken,
) {
    let config = watcher::Config::default().labels(&selector);
    let events = watcher(Api::<Node>::all(client), config)
        .default_backoff()
        .reflect(writer)
        .for_each(|event| async move {
            if let Err(e) = event {
                tracing::debug!(error = %e, "simulated node watch interrupted");
            }
        });
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = events => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::config::simulated_capacity;

    fn config(count: usize) -> SimulatedConfig {
        SimulatedConfig {
            count,
            prefix: "sim".to_owned(),
            timings: NodeTimings::default(),
            capacity: simulated_capacity(),
        }
    }

    #[test]
    fn nodes_are_numbered_with_distinct_addresses_and_ranges() {
        let nodes = nodes(&config(300)).unwrap();
        let (first, first_pods) = &nodes[0];
        assert_eq!(first.name, "sim-0");
        assert_eq!(first.internal_ip.to_string(), "10.0.0.1");
        assert_eq!(first_pods.pod_range, Ipv4Addr::new(10, 64, 0, 0));
        let (last, last_pods) = &nodes[299];
        assert_eq!(last.name, "sim-299");
        assert_eq!(last.internal_ip.to_string(), "10.0.1.44");
        assert_eq!(last_pods.pod_range, Ipv4Addr::new(10, 65, 43, 0));
        assert_eq!(first.labels[SIMULATOR_LABEL], "sim");
        assert_eq!(first.node_info.kubelet_version, "v1.33.0");
    }

    #[test]
    fn more_nodes_than_the_address_plan_holds_are_refused() {
        assert!(matches!(
            nodes(&config(MAX_NODES + 1)),
            Err(SimulatedError::TooManyNodes { .. })
        ));
    }
}
