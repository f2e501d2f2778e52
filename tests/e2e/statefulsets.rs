//! StatefulSets through kubectl: members made in order, each after the previous is Ready, with
//! their own claims that outlive them; scale-down from the highest ordinal; rolling updates
//! from the top (with a partition), rollout status, history and undo. A stand-in marks pods
//! Ready (see `workloads_support`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::durability::client;
use crate::support::Cluster;
use crate::workloads_support::{
    eventually, live_pods, on_simulated_nodes, record_pod_events, PodEvent,
};

const WAIT: Duration = Duration::from_secs(30);

fn stateful_set(replicas: u32) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  replicas: {replicas}
  serviceName: nginx
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        volumeMounts:
        - {{name: data, mountPath: /data}}
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests: {{storage: 1Gi}}
"#
    )
}

fn rollout_status(cluster: &Cluster) -> String {
    cluster.ok(&["rollout", "status", "statefulset/web", "--timeout=60s"])
}

fn names(cluster: &Cluster, kind: &str) -> Vec<String> {
    let out = cluster.ok(&["get", kind, "-o", "jsonpath={.items[*].metadata.name}"]);
    let mut names: Vec<String> = out.split_whitespace().map(str::to_owned).collect();
    names.sort();
    names
}

fn sorted_live(cluster: &Cluster) -> Vec<String> {
    let mut pods = live_pods(cluster, "default");
    pods.sort();
    pods
}

#[test]
fn statefulset_creates_members_in_order_with_claims_and_scales_down_from_the_top() {
    let cluster = on_simulated_nodes();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let watcher = rt.block_on(client(&cluster));
    let task = rt.spawn(record_pod_events(
        watcher,
        "default".to_owned(),
        Arc::clone(&log),
    ));
    cluster.apply(&stateful_set(3), &[]);
    let out = rollout_status(&cluster);
    // The defaulted partition (0) makes kubectl report a partitioned roll out, as upstream.
    assert!(
        out.contains("partitioned roll out complete: 3 new pods have been updated"),
        "{out}"
    );

    let added: Vec<PodEvent> = log.lock().unwrap().clone();
    let expected = vec![
        PodEvent::Added("web-0".to_owned(), vec![]),
        PodEvent::Added("web-1".to_owned(), vec!["web-0".to_owned()]),
        PodEvent::Added(
            "web-2".to_owned(),
            vec!["web-0".to_owned(), "web-1".to_owned()],
        ),
    ];
    assert_eq!(
        added, expected,
        "each member only after the previous is Ready"
    );
    assert_eq!(
        names(&cluster, "pvc"),
        ["data-web-0", "data-web-1", "data-web-2"]
    );
    // The scheduler selected each member's node for its claim; local-path provisioned there.
    let bound =
        || cluster.ok(&["get", "pvc", "data-web-0", "-o", "jsonpath={.status.phase}"]) == "Bound";
    assert!(
        eventually(WAIT, bound),
        "{}",
        cluster.ok(&["describe", "pvc", "data-web-0"])
    );
    let identity = cluster.ok(&[
        "get",
        "pod",
        "web-1",
        "-o",
        "jsonpath={.spec.hostname}.{.spec.subdomain} {.metadata.labels.apps\\.kubernetes\\.io/pod-index} {.spec.volumes[0].persistentVolumeClaim.claimName}",
    ]);
    assert_eq!(identity, "web-1.nginx 1 data-web-1");
    let ready = cluster.ok(&["get", "sts", "web", "--no-headers"]);
    assert!(ready.split_whitespace().nth(1) == Some("3/3"), "{ready}");

    cluster.ok(&["scale", "statefulset/web", "--replicas=1"]);
    assert!(eventually(WAIT, || sorted_live(&cluster) == ["web-0"]));
    task.abort();
    let deleted: Vec<PodEvent> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, PodEvent::Deleted(_)))
        .cloned()
        .collect();
    assert_eq!(
        deleted,
        [
            PodEvent::Deleted("web-2".to_owned()),
            PodEvent::Deleted("web-1".to_owned())
        ],
        "highest ordinal first"
    );
    assert_eq!(
        names(&cluster, "pvc"),
        ["data-web-0", "data-web-1", "data-web-2"],
        "claims remain"
    );
    let status = "jsonpath={.status.replicas}/{.status.readyReplicas}/{.status.currentReplicas}/{.status.updatedReplicas}";
    assert!(
        eventually(WAIT, || cluster.ok(&["get", "sts", "web", "-o", status])
            == "1/1/1/1"),
        "{}",
        cluster.ok(&["get", "sts", "web", "-o", status])
    );
}

fn images(cluster: &Cluster) -> Vec<String> {
    let out = cluster.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name}={.spec.containers[0].image} {end}",
    ]);
    let mut v: Vec<String> = out.split_whitespace().map(str::to_owned).collect();
    v.sort();
    v
}

#[test]
fn statefulset_rolls_from_the_highest_ordinal_and_undo_restores_the_template() {
    let cluster = on_simulated_nodes();
    let rt = tokio::runtime::Runtime::new().unwrap();
    cluster.apply(&stateful_set(3), &[]);
    rollout_status(&cluster);
    let log = Arc::new(Mutex::new(Vec::new()));
    let watcher = rt.block_on(client(&cluster));
    let task = rt.spawn(record_pod_events(
        watcher,
        "default".to_owned(),
        Arc::clone(&log),
    ));

    cluster.ok(&["set", "image", "statefulset/web", "web=nginx:1.26"]);
    let out = rollout_status(&cluster);
    assert!(
        out.contains("roll out complete: 3 new pods have been updated"),
        "{out}"
    );
    task.abort();
    assert_eq!(
        images(&cluster),
        ["web-0=nginx:1.26", "web-1=nginx:1.26", "web-2=nginx:1.26"]
    );
    let deleted: Vec<PodEvent> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, PodEvent::Deleted(_)))
        .cloned()
        .collect();
    let order: Vec<PodEvent> = ["web-2", "web-1", "web-0"]
        .iter()
        .map(|n| PodEvent::Deleted((*n).to_owned()))
        .collect();
    assert_eq!(deleted, order);
    let revisions = cluster.ok(&[
        "get",
        "sts",
        "web",
        "-o",
        "jsonpath={.status.currentRevision}={.status.updateRevision}",
    ]);
    let (current, update) = revisions.split_once('=').unwrap();
    assert_eq!(current, update, "{revisions}");
    let hashes = cluster.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[*].metadata.labels.controller-revision-hash}",
    ]);
    assert!(hashes.split_whitespace().all(|h| h == update), "{hashes}");

    let history = cluster.ok(&["rollout", "history", "statefulset/web"]);
    assert!(
        history.contains("\n1 ") && history.contains("\n2 "),
        "{history}"
    );
    assert_eq!(names(&cluster, "controllerrevisions").len(), 2);
    cluster.ok(&["rollout", "undo", "statefulset/web"]);
    rollout_status(&cluster);
    assert_eq!(
        images(&cluster),
        ["web-0=nginx:1.25", "web-1=nginx:1.25", "web-2=nginx:1.25"]
    );
    let history = cluster.ok(&["rollout", "history", "statefulset/web"]);
    assert!(
        history.contains("\n2 ") && history.contains("\n3 ") && !history.contains("\n1 "),
        "{history}"
    );
}

#[test]
fn statefulset_partition_updates_only_the_members_at_or_above_it() {
    let cluster = on_simulated_nodes();
    cluster.apply(&stateful_set(3), &[]);
    rollout_status(&cluster);
    let partition =
        r#"{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}}}"#;
    cluster.ok(&["patch", "statefulset/web", "--type=merge", "-p", partition]);
    cluster.ok(&["set", "image", "statefulset/web", "web=nginx:1.26"]);
    let out = rollout_status(&cluster);
    assert!(
        out.contains("partitioned roll out complete: 1 new pods have been updated"),
        "{out}"
    );
    assert_eq!(
        images(&cluster),
        ["web-0=nginx:1.25", "web-1=nginx:1.25", "web-2=nginx:1.26"]
    );
}
