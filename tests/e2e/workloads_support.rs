//! What the workload tests share: a cluster on simulated nodes (the scheduler places pods, the
//! simulated nodes run them), and watchers that check rolling-update bounds and creation order
//! on every event they see.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};

pub use crate::support::eventually;
use crate::support::Cluster;

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// A cluster whose pods the scheduler places on three simulated nodes, which run them.
pub fn on_simulated_nodes() -> Cluster {
    Cluster::start_with(&["--simulated-nodes".to_owned(), "3".to_owned()])
}

/// A pod event as the order-checking watcher saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodEvent {
    /// The pod appeared; these pods were Ready at that moment.
    Added(String, Vec<String>),
    /// The pod was deleted.
    Deleted(String),
}

/// Records, in watch order, every pod of `namespace` appearing (with the pods Ready then) and
/// disappearing.
pub async fn record_pod_events(
    client: kube::Client,
    namespace: String,
    log: Arc<Mutex<Vec<PodEvent>>>,
) {
    let api: Api<Pod> = Api::namespaced(client, &namespace);
    let mut ready: BTreeMap<String, bool> = BTreeMap::new();
    let mut events = std::pin::pin!(watcher(api, watcher::Config::default()).default_backoff());
    while let Some(Ok(event)) = events.next().await {
        let (pod, gone) = match event {
            watcher::Event::Apply(p) | watcher::Event::InitApply(p) => (p, false),
            watcher::Event::Delete(p) => (p, true),
            _ => continue,
        };
        let name = pod.metadata.name.clone().unwrap_or_default();
        let mut log = log.lock().unwrap();
        if gone {
            ready.remove(&name);
            log.push(PodEvent::Deleted(name));
            continue;
        }
        if !ready.contains_key(&name) {
            let now_ready = ready
                .iter()
                .filter(|(_, r)| **r)
                .map(|(n, _)| n.clone())
                .collect();
            log.push(PodEvent::Added(name.clone(), now_ready));
        }
        ready.insert(
            name,
            is_ready(&pod) && pod.metadata.deletion_timestamp.is_none(),
        );
    }
}

/// What the bounds watcher saw.
#[derive(Debug, Default)]
pub struct Observed {
    /// Every state that broke a bound.
    pub violations: Vec<String>,
    /// How many states were checked.
    pub states: usize,
    /// The most pods the ReplicaSets asked for at once.
    pub max_wanted: i32,
    /// The fewest ready pods seen at once.
    pub min_ready: Option<usize>,
}

/// Checks on every pod and ReplicaSet event of `namespace` that the ReplicaSets never ask
/// for more than `ceiling` pods and that never fewer than `floor` pods are ready.
pub async fn watch_bounds(
    client: kube::Client,
    namespace: String,
    ceiling: i32,
    floor: usize,
    seen: Arc<Mutex<Observed>>,
) {
    let (pods, pods_writer) = reflector::store::<Pod>();
    let (rses, rs_writer) = reflector::store::<ReplicaSet>();
    let pod_events = reflector::reflector(
        pods_writer,
        watcher(
            Api::namespaced(client.clone(), &namespace),
            watcher::Config::default(),
        ),
    )
    .map(|e| (0, matches!(e, Ok(watcher::Event::InitDone))));
    let rs_events = reflector::reflector(
        rs_writer,
        watcher(
            Api::namespaced(client, &namespace),
            watcher::Config::default(),
        ),
    )
    .map(|e| (1, matches!(e, Ok(watcher::Event::InitDone))));
    let mut events = std::pin::pin!(futures::stream::select(pod_events, rs_events));
    // States are checked only once both caches hold a full list.
    let mut listed = [false, false];
    while let Some((source, init_done)) = events.next().await {
        listed[source] |= init_done;
        if listed == [true, true] {
            check(&pods, &rses, ceiling, floor, &seen);
        }
    }
}

fn check(
    pods: &Store<Pod>,
    rses: &Store<ReplicaSet>,
    ceiling: i32,
    floor: usize,
    seen: &Mutex<Observed>,
) {
    let wanted: i32 = rses
        .state()
        .iter()
        .map(|rs| rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0))
        .sum();
    let ready = pods
        .state()
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() && is_ready(p))
        .count();
    let mut seen = seen.lock().unwrap();
    seen.states += 1;
    seen.max_wanted = seen.max_wanted.max(wanted);
    seen.min_ready = Some(seen.min_ready.map_or(ready, |m| m.min(ready)));
    if wanted > ceiling {
        seen.violations.push(format!(
            "ReplicaSets want {wanted} pods (ceiling {ceiling})"
        ));
    }
    if ready < floor {
        let by_rs: BTreeMap<String, i32> = rses
            .state()
            .iter()
            .map(|rs| {
                (
                    rs.metadata.name.clone().unwrap_or_default(),
                    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0),
                )
            })
            .collect();
        seen.violations.push(format!(
            "{ready} pods ready (floor {floor}); replica sets {by_rs:?}"
        ));
    }
}

/// Names of the pods of `cluster` in `namespace` not being deleted.
pub fn live_pods(cluster: &Cluster, namespace: &str) -> Vec<String> {
    let out = cluster.ok(&["get", "pods", "-n", namespace, "-o", "json"]);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}
