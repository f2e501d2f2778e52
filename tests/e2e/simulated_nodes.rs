//! Simulated nodes: `rudder server --simulated-nodes N` and `rudder agent --simulate N` register
//! Ready nodes with fresh Leases, and pods bound to them run, finish and go away as a kubelet's.

use std::time::Duration;

use crate::support::{data_dir, eventually, node_token, Agent, Cluster};

/// `kubectl get nodes` rows (name, status) of the nodes whose name starts with `prefix`.
fn nodes(cluster: &Cluster, prefix: &str) -> Vec<(String, String)> {
    cluster
        .ok(&["get", "nodes", "--no-headers"])
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols[0].to_owned(), cols[1].to_owned())
        })
        .collect()
}

fn all_ready(cluster: &Cluster, prefix: &str, count: usize) -> bool {
    let rows = nodes(cluster, prefix);
    rows.len() == count && rows.iter().all(|(_, status)| status == "Ready")
}

fn pod_field(cluster: &Cluster, name: &str, path: &str) -> String {
    let out = cluster.kubectl(&["get", "pod", name, "-o", &format!("jsonpath={{{path}}}")]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pod(name: &str, node: &str, annotations: &str, restart_policy: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  annotations: {{{annotations}}}
spec:
  nodeName: {node}
  restartPolicy: {restart_policy}
  containers:
  - name: app
    image: nginx
"#
    )
}

#[test]
fn simulated_nodes_are_ready_and_run_pods_through_their_lifecycle() {
    let cluster = Cluster::start_with(&["--simulated-nodes".to_owned(), "3".to_owned()]);
    assert!(
        eventually(Duration::from_secs(10), || all_ready(&cluster, "sim-", 3)),
        "nodes: {:?}\n{}",
        nodes(&cluster, "sim-"),
        cluster.log()
    );
    let table = cluster.ok(&["get", "nodes", "-o", "wide"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "STATUS",
            "ROLES",
            "AGE",
            "VERSION",
            "INTERNAL-IP",
            "EXTERNAL-IP",
            "OS-IMAGE",
            "KERNEL-VERSION",
            "CONTAINER-RUNTIME"
        ]
    );
    assert!(table.contains("v1.33.0"), "{table}");
    let lease = cluster.ok(&[
        "get",
        "lease",
        "-n",
        "kube-node-lease",
        "sim-1",
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ]);
    assert_eq!(lease, "sim-1");

    cluster.apply(&pod("web", "sim-1", "", "Always"), &[]);
    assert!(eventually(Duration::from_secs(10), || {
        pod_field(&cluster, "web", ".status.phase") == "Running"
    }));
    assert!(pod_field(&cluster, "web", ".status.podIP").starts_with("10.64.1."));
    assert_eq!(pod_field(&cluster, "web", ".status.hostIP"), "10.0.0.2");
    assert_eq!(
        pod_field(
            &cluster,
            "web",
            ".status.conditions[?(@.type==\"Ready\")].status"
        ),
        "True"
    );
    let get = cluster.ok(&["get", "pod", "web", "--no-headers"]);
    assert!(get.contains("1/1") && get.contains("Running"), "{get}");

    let done = r#""sim.rudder.dev/run-seconds": "1""#;
    let failing = r#""sim.rudder.dev/run-seconds": "1", "sim.rudder.dev/exit-code": "3""#;
    cluster.apply(&pod("done", "sim-0", done, "Never"), &[]);
    cluster.apply(&pod("failing", "sim-2", failing, "Never"), &[]);
    assert!(eventually(Duration::from_secs(10), || {
        pod_field(&cluster, "done", ".status.phase") == "Succeeded"
            && pod_field(&cluster, "failing", ".status.phase") == "Failed"
    }));
    assert_eq!(
        pod_field(
            &cluster,
            "failing",
            ".status.containerStatuses[0].state.terminated.exitCode"
        ),
        "3"
    );

    cluster.ok(&["delete", "pod", "web", "--timeout=20s"]);
    let out = cluster.kubectl(&["get", "pod", "web"]);
    assert!(!out.status.success(), "the pod is still there");
}

#[test]
fn an_agent_joins_with_the_node_token_and_its_leases_stop_when_it_dies() {
    let cluster = Cluster::start();
    let token = node_token(&cluster);
    assert!(
        token.starts_with("K10") && token.contains("::server:"),
        "{token}"
    );
    let mut agent = Agent::start(
        &cluster,
        &token,
        &[
            "--simulate",
            "2",
            "--node-name-prefix",
            "agent",
            "--node-lease-duration-seconds",
            "4",
        ],
    );
    assert!(
        eventually(Duration::from_secs(10), || all_ready(&cluster, "agent-", 2)),
        "nodes: {:?}\nagent log:\n{}",
        nodes(&cluster, "agent-"),
        std::fs::read_to_string(data_dir(&cluster).join("agent.log")).unwrap_or_default()
    );
    let renew_time = || {
        cluster.ok(&[
            "get",
            "lease",
            "-n",
            "kube-node-lease",
            "agent-0",
            "-o",
            "jsonpath={.spec.renewTime}",
        ])
    };
    let first = renew_time();
    assert!(
        eventually(Duration::from_secs(5), || renew_time() != first),
        "the lease is not renewed"
    );

    agent.kill9();
    let last = renew_time();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        renew_time(),
        last,
        "the lease was renewed after the agent died"
    );
}

#[test]
fn an_agent_refuses_a_server_whose_ca_does_not_match_the_token() {
    let cluster = Cluster::start();
    let token = node_token(&cluster);
    let (_, rest) = token.split_once("::").unwrap();
    let forged = format!("K10{}::{rest}", "0".repeat(64));
    let mut agent = Agent::start(&cluster, &forged, &["--simulate", "1"]);
    let status = agent.child.wait().unwrap();
    assert!(!status.success());
    let log = std::fs::read_to_string(data_dir(&cluster).join("agent.log")).unwrap();
    assert!(log.contains("does not match the join token"), "{log}");
}

#[test]
fn a_status_write_during_graceful_deletion_keeps_the_pod_until_the_final_delete() {
    let cluster = Cluster::start();
    cluster.apply(&pod("bound", "no-agent-here", "", "Always"), &[]);
    cluster.ok(&["delete", "pod", "bound", "--wait=false"]);
    assert!(!pod_field(&cluster, "bound", ".metadata.deletionTimestamp").is_empty());
    cluster.ok(&[
        "patch",
        "pod",
        "bound",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Succeeded"}}"#,
    ]);
    assert_eq!(pod_field(&cluster, "bound", ".status.phase"), "Succeeded");
    cluster.ok(&["delete", "pod", "bound", "--grace-period=0", "--force"]);
    assert!(!cluster.kubectl(&["get", "pod", "bound"]).status.success());
}
