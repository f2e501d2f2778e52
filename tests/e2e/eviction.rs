//! The eviction API and `kubectl drain`: evictions spend a PodDisruptionBudget's allowed
//! disruptions and are refused with 429 when it has none; drain evicts through it and waits.

use std::time::Duration;

use serde_json::json;

use crate::node_lifecycle::{get_json, register_node, running_pod};
use crate::support::Cluster;
use crate::workloads_support::eventually;

fn budget(cluster: &Cluster, min_available: i64) {
    let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": "web"}}}});
    cluster.apply(&pdb.to_string(), &[]);
}

/// Waits until the disruption controller reports `allowed` disruptions over `healthy` pods.
fn budget_settles(cluster: &Cluster, healthy: i64, allowed: i64) {
    let settled = eventually(Duration::from_secs(15), || {
        let pdb = get_json(cluster, &["get", "pdb", "web"]);
        let status = &pdb["status"];
        status["currentHealthy"] == healthy
            && status["disruptionsAllowed"] == allowed
            && status["observedGeneration"] == pdb["metadata"]["generation"]
    });
    let pdb = cluster.ok(&["get", "pdb", "web", "-o", "yaml"]);
    assert!(
        settled,
        "budget never settled at {healthy}/{allowed}:\n{pdb}"
    );
}

fn evict(cluster: &Cluster, pod: &str) -> std::process::Output {
    let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction",
        "metadata": {"name": pod, "namespace": "default"}});
    let path = format!("/api/v1/namespaces/default/pods/{pod}/eviction");
    cluster.kubectl_with_input(
        &["create", "--raw", &path, "-f", "-"],
        Some(&eviction.to_string()),
    )
}

#[test]
fn evictions_spend_the_budget_and_are_refused_with_429_when_it_is_spent() {
    let cluster = Cluster::start();
    register_node(&cluster, "n1");
    running_pod(&cluster, "web-1", "n1", json!({"app": "web"}), None);
    budget(&cluster, 1);
    budget_settles(&cluster, 1, 0);

    let refused = evict(&cluster, "web-1");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("Cannot evict pod as it would violate the pod's disruption budget."),
        "{stderr}"
    );
    assert!(!cluster
        .ok(&["get", "pod", "web-1", "--ignore-not-found"])
        .is_empty());

    running_pod(&cluster, "web-2", "n1", json!({"app": "web"}), None);
    budget_settles(&cluster, 2, 1);
    let allowed = evict(&cluster, "web-1");
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&allowed.stdout).expect("a Status");
    assert_eq!(answer["status"], "Success");
    assert!(cluster
        .ok(&["get", "pod", "web-1", "--ignore-not-found"])
        .trim()
        .is_empty());
    // The budget counts the eviction at once, before its controller has caught up.
    budget_settles(&cluster, 1, 0);
    let again = evict(&cluster, "web-2");
    assert!(!again.status.success());
}

#[test]
fn drain_evicts_through_the_budget_and_waits_while_it_blocks() {
    let cluster = Cluster::start();
    register_node(&cluster, "n1");
    for pod in ["web-1", "web-2"] {
        running_pod(&cluster, pod, "n1", json!({"app": "web"}), None);
    }
    budget(&cluster, 2);
    budget_settles(&cluster, 2, 0);

    let drain = [
        "drain",
        "n1",
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--force",
    ];
    let mut blocked = drain.to_vec();
    blocked.push("--timeout=7s");
    let stderr = cluster.fails(&blocked, None);
    assert!(
        stderr.contains("Cannot evict pod as it would violate the pod's disruption budget."),
        "{stderr}"
    );
    assert!(stderr.contains("will retry after 5s"), "{stderr}");
    let node = get_json(&cluster, &["get", "node", "n1"]);
    assert_eq!(node["spec"]["unschedulable"], true);

    budget(&cluster, 0);
    budget_settles(&cluster, 2, 2);
    let out = cluster.ok(&drain);
    assert!(out.contains("pod/web-1 evicted"), "{out}");
    assert!(out.contains("node/n1 drained"), "{out}");
    let left = cluster.ok(&[
        "get",
        "pods",
        "--field-selector",
        "spec.nodeName=n1",
        "-o",
        "name",
    ]);
    assert!(left.trim().is_empty(), "{left}");
}

#[test]
fn a_pending_pod_is_evicted_without_its_budget_and_marked_a_disruption_target() {
    let cluster = Cluster::start();
    budget(&cluster, 1);
    // Bound to a node and given a grace period, the evicted pod stays while it terminates.
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"nodeName": "n1",
            "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}});
    cluster.apply(&pod.to_string(), &[]);
    let out = evict(&cluster, "web-1");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pod = get_json(&cluster, &["get", "pod", "web-1"]);
    assert!(!pod["metadata"]["deletionTimestamp"].is_null(), "{pod}");
    let target = pod["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "DisruptionTarget").cloned())
        .expect("a DisruptionTarget condition");
    assert_eq!(target["reason"], "EvictionByEvictionAPI");
    assert_eq!(target["status"], "True");
}

#[test]
fn a_max_unavailable_budget_expects_the_scale_of_the_pods_controller() {
    let cluster = Cluster::start();
    let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}}}});
    cluster.apply(&rs.to_string(), &[]);
    let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"maxUnavailable": "34%", "selector": {"matchLabels": {"app": "web"}}}});
    cluster.apply(&pdb.to_string(), &[]);
    let settled = eventually(Duration::from_secs(15), || {
        let status = &get_json(&cluster, &["get", "pdb", "web"])["status"];
        status["expectedPods"] == 3 && status["desiredHealthy"] == 1
    });
    let pdb = cluster.ok(&["get", "pdb", "web", "-o", "yaml"]);
    assert!(settled, "{pdb}");
    // No pod is ready (no kubelet runs), so nothing may be disrupted.
    assert!(pdb.contains("disruptionsAllowed: 0"), "{pdb}");
    assert!(pdb.contains("reason: InsufficientPods"), "{pdb}");
}
