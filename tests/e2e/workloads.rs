//! ReplicaSets, ReplicationControllers and Deployments through kubectl: exact replica counts,
//! adoption, rolling updates within their budgets, rollout status, history and undo. Until
//! Rudder runs nodes, a stand-in marks pods Ready (see `workloads_support`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::durability::client;
use crate::support::Cluster;
use crate::workloads_support::{eventually, live_pods, on_simulated_nodes, watch_bounds, Observed};

const WAIT: Duration = Duration::from_secs(30);

fn deployment(replicas: u32, surge: &str, unavailable: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: {surge}, maxUnavailable: {unavailable}}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
"#
    )
}

fn rollout_status(cluster: &Cluster) -> String {
    cluster.ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
}

fn replica_sets(cluster: &Cluster) -> Vec<String> {
    let out = cluster.ok(&["get", "rs", "-l", "app=web", "-o", "name"]);
    out.lines().map(str::to_owned).collect()
}

/// Whether exactly `n` live pods exist now and still do a moment later.
fn settles_at(cluster: &Cluster, n: usize) -> bool {
    eventually(WAIT, || live_pods(cluster, "default").len() == n) && {
        std::thread::sleep(Duration::from_millis(500));
        live_pods(cluster, "default").len() == n
    }
}

#[test]
fn deployment_becomes_available_and_scales_to_exact_pod_counts() {
    let cluster = on_simulated_nodes();
    cluster.apply(&deployment(3, "25%", "25%"), &[]);
    let out = rollout_status(&cluster);
    assert!(
        out.contains("deployment \"web\" successfully rolled out"),
        "{out}"
    );
    let ready = cluster.ok(&[
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.status.readyReplicas}/{.status.availableReplicas}/{.status.updatedReplicas}",
    ]);
    assert_eq!(ready, "3/3/3");

    for n in [10, 2] {
        cluster.ok(&["scale", "deployment/web", &format!("--replicas={n}")]);
        assert!(
            settles_at(&cluster, n),
            "expected {n} pods, have {:?}",
            live_pods(&cluster, "default")
        );
    }
    assert_eq!(
        replica_sets(&cluster).len(),
        1,
        "scaling makes no new ReplicaSet"
    );
    let rs = cluster.ok(&[
        "get",
        "rs",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[0].metadata.annotations}",
    ]);
    assert!(
        rs.contains("\"deployment.kubernetes.io/desired-replicas\":\"2\""),
        "{rs}"
    );
    let events = cluster.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=Deployment",
        "-o",
        "jsonpath={.items[*].message}",
    ]);
    assert!(events.contains("Scaled down replica set web-"), "{events}");
}

#[test]
fn set_image_rolls_within_budgets_and_undo_restores_the_previous_template() {
    let cluster = on_simulated_nodes();
    let rt = tokio::runtime::Runtime::new().unwrap();
    cluster.apply(&deployment(4, "1", "1"), &[]);
    rollout_status(&cluster);

    let seen = Arc::new(Mutex::new(Observed::default()));
    let watcher = rt.block_on(client(&cluster));
    let task = rt.spawn(watch_bounds(
        watcher,
        "default".to_owned(),
        5,
        3,
        Arc::clone(&seen),
    ));
    cluster.ok(&["set", "image", "deployment/web", "web=nginx:1.26"]);
    let out = rollout_status(&cluster);
    assert!(out.contains("successfully rolled out"), "{out}");
    task.abort();
    let seen = seen.lock().unwrap();
    assert!(
        seen.violations.is_empty(),
        "bounds broken: {:?}",
        seen.violations
    );
    assert!(
        seen.states > 10 && seen.max_wanted == 5,
        "the watcher saw the rollout: {seen:?}"
    );

    let history = cluster.ok(&["rollout", "history", "deployment/web"]);
    let revisions: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.parse::<u32>().is_ok())
        .collect();
    assert_eq!(revisions, vec!["1", "2"], "{history}");
    assert_eq!(replica_sets(&cluster).len(), 2);

    cluster.ok(&["rollout", "undo", "deployment/web"]);
    rollout_status(&cluster);
    let image = cluster.ok(&[
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    assert_eq!(image, "nginx:1.25");
    let history = cluster.ok(&["rollout", "history", "deployment/web"]);
    assert!(
        history.contains("\n2 ") && history.contains("\n3 ") && !history.contains("\n1 "),
        "{history}"
    );
    assert_eq!(
        replica_sets(&cluster).len(),
        2,
        "undo reuses the first ReplicaSet"
    );
    assert!(settles_at(&cluster, 4));
}

#[test]
fn pause_resume_and_restart_behave_as_upstream() {
    let cluster = on_simulated_nodes();
    cluster.apply(&deployment(2, "1", "0"), &[]);
    rollout_status(&cluster);
    cluster.ok(&["rollout", "pause", "deployment/web"]);
    cluster.ok(&["set", "image", "deployment/web", "web=nginx:1.26"]);
    let reason = "jsonpath={.status.conditions[?(@.type==\"Progressing\")].reason}";
    assert!(eventually(WAIT, || cluster.ok(&[
        "get",
        "deployment",
        "web",
        "-o",
        reason
    ]) == "DeploymentPaused"));
    assert_eq!(
        replica_sets(&cluster).len(),
        1,
        "a paused deployment does not roll"
    );
    cluster.ok(&["rollout", "resume", "deployment/web"]);
    rollout_status(&cluster);
    assert_eq!(replica_sets(&cluster).len(), 2);
    cluster.ok(&["rollout", "restart", "deployment/web"]);
    rollout_status(&cluster);
    assert_eq!(
        replica_sets(&cluster).len(),
        3,
        "a restart rolls a new ReplicaSet"
    );
    assert!(settles_at(&cluster, 2));
}

const REPLICA_SET: &str = r#"
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: cache
spec:
  replicas: 3
  selector:
    matchLabels: {app: cache}
  template:
    metadata:
      labels: {app: cache}
    spec:
      containers:
      - name: cache
        image: redis:7
"#;

#[test]
fn replica_set_adopts_orphans_keeps_its_count_and_records_events() {
    let cluster = Cluster::start();
    cluster.ok(&["run", "stray", "--image=redis:7", "--labels=app=cache"]);
    cluster.apply(REPLICA_SET, &[]);
    assert!(settles_at(&cluster, 3));
    let owner = cluster.ok(&[
        "get",
        "pod",
        "stray",
        "-o",
        "jsonpath={.metadata.ownerReferences[0].name}/{.metadata.ownerReferences[0].controller}",
    ]);
    assert_eq!(owner, "cache/true", "the matching orphan is adopted");

    let victim = live_pods(&cluster, "default")
        .into_iter()
        .find(|p| p != "stray")
        .unwrap();
    cluster.ok(&["delete", "pod", &victim]);
    assert!(settles_at(&cluster, 3), "a deleted pod is replaced");
    cluster.ok(&["label", "pod", "stray", "app=other", "--overwrite"]);
    let released = "jsonpath={.metadata.ownerReferences}";
    assert!(
        eventually(WAIT, || cluster
            .ok(&["get", "pod", "stray", "-o", released])
            .is_empty()),
        "an unselected pod is released"
    );
    assert!(eventually(WAIT, || live_pods(&cluster, "default").len() == 4));

    let events = cluster.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=cache",
        "-o",
        "jsonpath={.items[*].reason}",
    ]);
    assert!(events.contains("SuccessfulCreate"), "{events}");
    let status = cluster.ok(&[
        "get",
        "rs",
        "cache",
        "-o",
        "jsonpath={.status.replicas}/{.status.fullyLabeledReplicas}/{.status.observedGeneration}",
    ]);
    assert_eq!(status, "3/3/1");
}

#[test]
fn replication_controller_keeps_exactly_its_replicas() {
    let cluster = Cluster::start();
    let rc = REPLICA_SET
        .replace("apps/v1", "v1")
        .replace("kind: ReplicaSet", "kind: ReplicationController")
        .replace("    matchLabels: {app: cache}", "    app: cache");
    cluster.apply(&rc, &[]);
    assert!(settles_at(&cluster, 3));
    cluster.ok(&["scale", "rc/cache", "--replicas=1"]);
    assert!(settles_at(&cluster, 1));
}
