//! DaemonSets through kubectl on simulated nodes: one pod pinned to each eligible node,
//! tainted nodes skipped unless tolerated, nodes that join later (a `rudder agent`) followed
//! and nodes removed cleaned up, `kubectl get ds` columns, rollout status, rolling update,
//! history and undo. The controller pins each pod to its node through node affinity, the
//! scheduler binds it there and the simulated kubelet runs it; the tests read the pinned node
//! (binding may lag) and check that a bound pod is bound to that node.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::{eventually, node_token, Agent, Cluster};

const WAIT: Duration = Duration::from_secs(30);

fn on_simulated_nodes(count: usize) -> Cluster {
    Cluster::start_with(&["--simulated-nodes".to_owned(), count.to_string()])
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
    let cluster = on_simulated_nodes(5);
    cluster.ok(&["taint", "node", "sim-4", "dedicated=infra:NoSchedule"]);
    cluster.apply(DAEMON_SET, &[]);
    let four = ["sim-0", "sim-1", "sim-2", "sim-3"];
    assert!(
        eventually(WAIT, || one_each(&cluster, &four)),
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
    assert_eq!(columns[1..6], ["4", "4", "4", "4", "4"], "{row}");
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
    let five = ["sim-0", "sim-1", "sim-2", "sim-3", "sim-4"];
    assert!(
        eventually(WAIT, || one_each(&cluster, &five)),
        "{:?}",
        pods_by_node(&cluster)
    );
    rollout_status(&cluster);
    let row = cluster.ok(&["get", "ds", "agent", "--no-headers"]);
    let columns: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(columns[1..6], ["5", "5", "5", "5", "5"], "{row}");

    let mut agent = Agent::start(
        &cluster,
        &node_token(&cluster),
        &["--simulate", "1", "--node-name-prefix", "late"],
    );
    let six = ["late-0", "sim-0", "sim-1", "sim-2", "sim-3", "sim-4"];
    assert!(
        eventually(WAIT, || one_each(&cluster, &six)),
        "{:?}",
        pods_by_node(&cluster)
    );
    let out = rollout_status(&cluster);
    assert!(out.contains("successfully rolled out"), "{out}");

    agent.kill9();
    cluster.ok(&["delete", "node", "late-0"]);
    assert!(
        eventually(WAIT, || one_each(&cluster, &five)),
        "{:?}",
        pods_by_node(&cluster)
    );
    let status = "jsonpath={.status.desiredNumberScheduled}/{.status.numberMisscheduled}";
    assert!(eventually(WAIT, || cluster
        .ok(&["get", "ds", "agent", "-o", status])
        == "5/0"));
}

#[test]
fn daemonset_rolling_update_replaces_every_pod_and_undo_restores_the_template() {
    let cluster = on_simulated_nodes(4);
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
