//! Node lifecycle: a node whose Lease stops being renewed goes Unknown, is tainted
//! unreachable, its pods are marked not ready and evicted after their toleration; cordon and
//! uncordon taint and untaint it. Nodes and heartbeats are played by the test with kubectl.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::Cluster;
use crate::workloads_support::eventually;

const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

fn now() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

/// A cluster whose nodes go Unknown after 3 s of silence, looked at every second.
fn fast_cluster() -> Cluster {
    Cluster::start_with(&[
        "--node-monitor-grace-period".to_owned(),
        "3s".to_owned(),
        "--node-monitor-period".to_owned(),
        "1s".to_owned(),
    ])
}

/// Registers node `name` as a kubelet would: the Node with a Ready condition, and its Lease.
pub(crate) fn register_node(cluster: &Cluster, name: &str) {
    cluster.apply(
        &json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}).to_string(),
        &[],
    );
    post_ready(cluster, name);
    cluster.apply(
        &json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now()}})
        .to_string(),
        &[],
    );
}

/// Posts a fresh `Ready=True` heartbeat on the node's status.
pub(crate) fn post_ready(cluster: &Cluster, name: &str) {
    let t = now();
    let patch = json!({"status": {"conditions": [{"type": "Ready", "status": "True",
        "reason": "KubeletReady", "message": "kubelet is posting ready status",
        "lastHeartbeatTime": t, "lastTransitionTime": t}]}});
    cluster.ok(&[
        "patch",
        "node",
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        &patch.to_string(),
    ]);
}

/// Runs `work` while another thread renews the node's Lease every half second.
fn while_renewing<T>(cluster: &Cluster, node: &str, work: impl FnOnce() -> T) -> T {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                renew_lease(cluster, node);
                std::thread::sleep(Duration::from_millis(500));
            }
        });
        // Stops the renewals even when `work` panics, so the scope can end.
        let _stop = StopOnDrop(&stop);
        work()
    })
}

struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn renew_lease(cluster: &Cluster, name: &str) {
    let patch = json!({"spec": {"renewTime": now()}}).to_string();
    cluster.ok(&[
        "-n",
        "kube-node-lease",
        "patch",
        "lease",
        name,
        "--type=merge",
        "-p",
        &patch,
    ]);
}

/// Creates a pod bound to `node`, deleted at once when evicted (no grace period), tolerating
/// `not-ready` and `unreachable` for `toleration_seconds` (forever when `None`), and marks it
/// Running and Ready as its kubelet would.
pub(crate) fn running_pod(
    cluster: &Cluster,
    name: &str,
    node: &str,
    labels: Value,
    toleration_seconds: Option<i64>,
) {
    let tolerations: Vec<Value> = ["node.kubernetes.io/not-ready", UNREACHABLE]
        .iter()
        .map(|key| {
            let mut t = json!({"key": key, "operator": "Exists", "effect": "NoExecute"});
            if let Some(s) = toleration_seconds {
                t["tolerationSeconds"] = json!(s);
            }
            t
        })
        .collect();
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0,
            "tolerations": tolerations,
            "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}});
    cluster.apply(&pod.to_string(), &[]);
    let status = json!({"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": now()}]}});
    cluster.ok(&[
        "patch",
        "pod",
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        &status.to_string(),
    ]);
}

pub(crate) fn get_json(cluster: &Cluster, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&cluster.ok(&all)).expect("kubectl prints JSON")
}

fn exists(cluster: &Cluster, kind_name: &[&str]) -> bool {
    let mut args = vec!["get"];
    args.extend_from_slice(kind_name);
    args.push("--ignore-not-found");
    !cluster.ok(&args).trim().is_empty()
}

fn condition(obj: &Value, kind: &str) -> Value {
    obj["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == kind).cloned())
        .unwrap_or(Value::Null)
}

fn taints(node: &Value) -> Vec<(String, String)> {
    node["spec"]["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let text = |k: &str| t[k].as_str().unwrap_or_default().to_owned();
            (text("key"), text("effect"))
        })
        .collect()
}

fn has_taint(node: &Value, key: &str, effect: &str) -> bool {
    taints(node).contains(&(key.to_owned(), effect.to_owned()))
}

/// A ReplicaSet with one pod bound to `node` (its template names the node, so the scheduler
/// leaves it alone), whose template then moves to `other`, so a replacement lands there. `other` never
/// posts status, so it stays untainted for its startup grace period. Returns the first pod.
fn replicated_pod_on(cluster: &Cluster, node: &str, other: &str) -> String {
    cluster.apply(
        &json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": other}}).to_string(),
        &[],
    );
    let toleration = |key: &str| json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2});
    let rs = |on: &str| {
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"nodeName": on, "terminationGracePeriodSeconds": 0,
                        "tolerations": [toleration("node.kubernetes.io/not-ready"), toleration(UNREACHABLE)],
                        "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}}}})
        .to_string()
    };
    cluster.apply(&rs(node), &[]);
    let mut first = String::new();
    assert!(eventually(Duration::from_secs(10), || {
        first = cluster.ok(&["get", "pods", "-l", "app=web", "-o", "name"]);
        !first.trim().is_empty()
    }));
    cluster.apply(&rs(other), &[]);
    first.trim().trim_start_matches("pod/").to_owned()
}

#[test]
fn a_silent_node_goes_unknown_is_tainted_and_its_pods_are_evicted_after_their_toleration() {
    let cluster = fast_cluster();
    register_node(&cluster, "n1");
    let start = Instant::now();
    let replaced = while_renewing(&cluster, "n1", || {
        running_pod(&cluster, "brief", "n1", json!({"app": "brief"}), Some(2));
        let steadfast = json!({"app": "steadfast"});
        running_pod(&cluster, "steadfast", "n1", steadfast, None);
        let replaced = replicated_pod_on(&cluster, "n1", "n2");
        // While the Lease is renewed the node stays Ready, well past the grace period.
        std::thread::sleep(Duration::from_secs(5).saturating_sub(start.elapsed()));
        let node = get_json(&cluster, &["get", "node", "n1"]);
        assert_eq!(condition(&node, "Ready")["status"], "True", "{node}");
        assert!(taints(&node).is_empty(), "{node}");
        replaced
    });

    // Silence: Ready and the pressure conditions turn Unknown, the unreachable taints appear.
    assert!(
        eventually(Duration::from_secs(20), || {
            let node = get_json(&cluster, &["get", "node", "n1"]);
            has_taint(&node, UNREACHABLE, "NoExecute")
        }),
        "node never tainted; log:\n{}",
        cluster.log()
    );
    let node = get_json(&cluster, &["get", "node", "n1"]);
    let ready = condition(&node, "Ready");
    assert_eq!(ready["status"], "Unknown");
    assert_eq!(ready["reason"], "NodeStatusUnknown");
    assert_eq!(ready["message"], "Kubelet stopped posting node status.");
    assert_eq!(condition(&node, "MemoryPressure")["status"], "Unknown");
    assert!(has_taint(&node, UNREACHABLE, "NoSchedule"), "{node}");
    let table = cluster.ok(&["get", "node", "n1"]);
    assert!(table.contains("NotReady"), "{table}");

    // The pod tolerating 2 s is evicted; the one tolerating forever stays, not ready.
    assert!(
        eventually(Duration::from_secs(20), || !exists(
            &cluster,
            &["pod", "brief"]
        )),
        "pod not evicted; log:\n{}",
        cluster.log()
    );
    let events = cluster.ok(&[
        "get",
        "events",
        "--field-selector",
        "reason=TaintManagerEviction",
    ]);
    assert!(
        events.contains("Marking for deletion Pod default/brief"),
        "{events}"
    );
    // The ReplicaSet's pod was evicted too and its replacement runs on the other node.
    assert!(
        eventually(Duration::from_secs(20), || {
            let pods = get_json(&cluster, &["get", "pods", "-l", "app=web"]);
            let nodes: Vec<&str> = pods["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["spec"]["nodeName"].as_str())
                .collect();
            nodes == ["n2"]
        }),
        "no replacement on n2; log:\n{}",
        cluster.log()
    );
    assert!(!exists(&cluster, &["pod", &replaced]));
    let steadfast = get_json(&cluster, &["get", "pod", "steadfast"]);
    assert_eq!(
        condition(&steadfast, "Ready")["status"],
        "False",
        "{steadfast}"
    );
    assert!(steadfast["metadata"]["deletionTimestamp"].is_null());

    // The node is back: heartbeat and Lease renewed, the taints go.
    renew_lease(&cluster, "n1");
    post_ready(&cluster, "n1");
    assert!(
        eventually(Duration::from_secs(20), || {
            renew_lease(&cluster, "n1");
            taints(&get_json(&cluster, &["get", "node", "n1"])).is_empty()
        }),
        "taints stayed; log:\n{}",
        cluster.log()
    );
}

#[test]
fn cordon_taints_the_node_unschedulable_and_uncordon_removes_it() {
    // The default grace period: the node must not go silent during the test.
    let cluster = Cluster::start();
    register_node(&cluster, "n1");
    let out = cluster.ok(&["cordon", "n1"]);
    assert!(out.contains("node/n1 cordoned"), "{out}");
    assert!(eventually(Duration::from_secs(10), || {
        let node = get_json(&cluster, &["get", "node", "n1"]);
        has_taint(&node, "node.kubernetes.io/unschedulable", "NoSchedule")
    }));
    let node = get_json(&cluster, &["get", "node", "n1"]);
    assert_eq!(node["spec"]["unschedulable"], true);
    let table = cluster.ok(&["get", "node", "n1"]);
    assert!(table.contains("SchedulingDisabled"), "{table}");

    let out = cluster.ok(&["uncordon", "n1"]);
    assert!(out.contains("node/n1 uncordoned"), "{out}");
    assert!(eventually(Duration::from_secs(10), || {
        let node = get_json(&cluster, &["get", "node", "n1"]);
        taints(&node).is_empty()
    }));
}
