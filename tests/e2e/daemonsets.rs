//! DaemonSets through kubectl against Node objects made with kubectl: one pod pinned to each
//! eligible node, tainted nodes skipped unless tolerated, nodes added later followed and nodes
//! removed cleaned up, `kubectl get ds` columns, rollout status, rolling update, history and
//! undo. A stand-in marks pods Ready (see `workloads_support`). The controller pins each pod to
//! its node through node affinity and the scheduler binds it there; the tests read the pinned
//! node (binding may lag) and check that a bound pod is bound to that node.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::Cluster;
use crate::workloads_support::{eventually, with_kubelet};

const WAIT: Duration = Duration::from_secs(30);

fn node(name: &str, taint: bool) -> String {
    let taints = if taint {
        "  taints:\n  - {key: dedicated, value: infra, effect: NoSchedule}\n"
    } else {
        ""
    };
    format!("apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  labels: {{kubernetes.io/hostname: {name}}}\nspec:\n{taints}---\n")
}

const DAEMON_SET: &str = r#"
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: agent
        image: agent:1
"#;

/// Live pods of the DaemonSet by the node they are pinned to, with their images.
fn pods_by_node(cluster: &Cluster) -> BTreeMap<String, Vec<String>> {
    let out = cluster.ok(&["get", "pods", "-l", "app=agent", "-o", "json"]);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pod in list["items"].as_array().unwrap() {
        if !pod["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let terms = &pod["spec"]["affinity"]["nodeAffinity"]
            ["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"];
        let field = &terms[0]["matchFields"][0];
        assert_eq!(field["key"], "metadata.name", "{pod}");
        assert_eq!(field["operator"], "In");
        let node = field["values"][0].as_str().unwrap().to_owned();
        if let Some(bound) = pod["spec"]["nodeName"].as_str() {
            assert_eq!(bound, node, "{pod}");
        }
        let image = pod["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_owned();
        map.entry(node).or_default().push(image);
    }
    map
}

fn one_each(cluster: &Cluster, nodes: &[&str]) -> bool {
    let map = pods_by_node(cluster);
    map.keys().map(String::as_str).eq(nodes.iter().copied()) && map.values().all(|v| v.len() == 1)
}

fn rollout_status(cluster: &Cluster) -> String {
    cluster.ok(&["rollout", "status", "daemonset/agent", "--timeout=60s"])
}

#[test]
fn daemonset_puts_one_pod_on_each_node_skips_tainted_ones_and_follows_new_nodes() {
    let cluster = Cluster::start();
    let _kubelet = with_kubelet(&cluster, Duration::from_millis(50));
    let mut nodes: String = (1..=5).map(|i| node(&format!("n{i}"), false)).collect();
    nodes.push_str(&node("infra", true));
    cluster.apply(&nodes, &[]);
    cluster.apply(DAEMON_SET, &[]);
    let five = ["n1", "n2", "n3", "n4", "n5"];
    assert!(
        eventually(WAIT, || one_each(&cluster, &five)),
        "{:?}",
        pods_by_node(&cluster)
    );
    let out = rollout_status(&cluster);
    assert!(
        out.contains("daemon set \"agent\" successfully rolled out"),
        "{out}"
    );
    let row = cluster.ok(&["get", "ds", "agent", "--no-headers"]);
    let columns: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(columns[1..6], ["5", "5", "5", "5", "5"], "{row}");
    let tolerations = cluster.ok(&[
        "get",
        "pods",
        "-l",
        "app=agent",
        "-o",
        "jsonpath={.items[0].spec.tolerations[*].key}",
    ]);
    assert!(
        tolerations.contains("node.kubernetes.io/unschedulable"),
        "{tolerations}"
    );

    let tolerate = r#"{"spec":{"template":{"spec":{"tolerations":[{"key":"dedicated","operator":"Exists","effect":"NoSchedule"}]}}}}"#;
    cluster.ok(&["patch", "daemonset/agent", "--type=merge", "-p", tolerate]);
    let six = ["infra", "n1", "n2", "n3", "n4", "n5"];
    assert!(
        eventually(WAIT, || one_each(&cluster, &six)),
        "{:?}",
        pods_by_node(&cluster)
    );
    rollout_status(&cluster);

    cluster.apply(&node("n6", false), &[]);
    let seven = ["infra", "n1", "n2", "n3", "n4", "n5", "n6"];
    assert!(
        eventually(WAIT, || one_each(&cluster, &seven)),
        "{:?}",
        pods_by_node(&cluster)
    );
    cluster.ok(&["delete", "node", "n3"]);
    let without = ["infra", "n1", "n2", "n4", "n5", "n6"];
    assert!(
        eventually(WAIT, || one_each(&cluster, &without)),
        "{:?}",
        pods_by_node(&cluster)
    );
    let status = "jsonpath={.status.desiredNumberScheduled}/{.status.numberMisscheduled}";
    assert!(eventually(WAIT, || cluster
        .ok(&["get", "ds", "agent", "-o", status])
        == "6/0"));
}

#[test]
fn daemonset_rolling_update_replaces_every_pod_and_undo_restores_the_template() {
    let cluster = Cluster::start();
    let _kubelet = with_kubelet(&cluster, Duration::from_millis(100));
    let nodes: String = (1..=4).map(|i| node(&format!("n{i}"), false)).collect();
    cluster.apply(&nodes, &[]);
    cluster.apply(DAEMON_SET, &[]);
    rollout_status(&cluster);
    cluster.ok(&["set", "image", "daemonset/agent", "agent=agent:2"]);
    let out = rollout_status(&cluster);
    assert!(out.contains("successfully rolled out"), "{out}");
    let map = pods_by_node(&cluster);
    assert!(
        map.values().all(|v| v == &["agent:2"]) && map.len() == 4,
        "{map:?}"
    );
    let generation = cluster.ok(&[
        "get",
        "pods",
        "-l",
        "app=agent",
        "-o",
        "jsonpath={.items[*].metadata.labels.pod-template-generation}",
    ]);
    assert!(
        generation.split_whitespace().all(|g| g == "2"),
        "{generation}"
    );
    let history = cluster.ok(&["rollout", "history", "daemonset/agent"]);
    assert!(
        history.contains("\n1 ") && history.contains("\n2 "),
        "{history}"
    );

    cluster.ok(&["rollout", "undo", "daemonset/agent"]);
    rollout_status(&cluster);
    assert!(eventually(WAIT, || {
        let map = pods_by_node(&cluster);
        map.len() == 4 && map.values().all(|v| v == &["agent:1"])
    }));
    let history = cluster.ok(&["rollout", "history", "daemonset/agent"]);
    assert!(
        history.contains("\n2 ") && history.contains("\n3 ") && !history.contains("\n1 "),
        "{history}"
    );
}
