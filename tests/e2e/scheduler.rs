//! The scheduler in `rudder server`, driven through kubectl against Node objects the tests
//! create themselves: requests, nodeSelector, taints, anti-affinity, topology spread,
//! preemption, the FailedScheduling event, volume binding, and the `pods/binding` subresource.

use std::time::Duration;

use crate::support::{eventually, Cluster};

/// Creates a node with `cpu` allocatable, `labels` and `taints` (`key=value:Effect`).
fn add_node(cluster: &Cluster, name: &str, cpu: &str, labels: &[(&str, &str)], taints: &[&str]) {
    let mut labels_yaml = format!("    kubernetes.io/hostname: {name}\n");
    for (k, v) in labels {
        labels_yaml.push_str(&format!("    {k}: \"{v}\"\n"));
    }
    let mut manifest =
        format!("apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  labels:\n{labels_yaml}");
    if !taints.is_empty() {
        manifest.push_str("spec:\n  taints:\n");
        for t in taints {
            let (kv, effect) = t.split_once(':').unwrap_or((t, "NoSchedule"));
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            manifest.push_str(&format!(
                "  - key: {k}\n    value: \"{v}\"\n    effect: {effect}\n"
            ));
        }
    }
    cluster.apply(&manifest, &[]);
    let status = format!(
        r#"{{"status":{{"capacity":{{"cpu":"{cpu}","memory":"8Gi","pods":"110"}},"allocatable":{{"cpu":"{cpu}","memory":"8Gi","pods":"110"}}}}}}"#
    );
    cluster.ok(&[
        "patch",
        "node",
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        &status,
    ]);
}

fn node_of(cluster: &Cluster, pod: &str) -> String {
    cluster.ok(&["get", "pod", pod, "-o", "jsonpath={.spec.nodeName}"])
}

fn wait_bound(cluster: &Cluster, pod: &str) -> String {
    let bound = eventually(Duration::from_secs(20), || {
        !node_of(cluster, pod).is_empty()
    });
    assert!(
        bound,
        "pod {pod} was not scheduled; log:\n{}",
        cluster.log()
    );
    node_of(cluster, pod)
}

fn pod(name: &str, cpu: &str, extra_spec: &str, labels: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  labels: {{{labels}}}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  - name: c\n    image: busybox\n    resources:\n      requests:\n        cpu: {cpu}\n{extra_spec}"
    )
}

#[test]
fn pod_too_big_for_every_node_stays_pending_with_failed_scheduling_event() {
    let cluster = Cluster::start();
    add_node(&cluster, "n1", "1", &[], &[]);
    add_node(&cluster, "n2", "1", &[], &[]);
    add_node(&cluster, "n3", "16", &[], &["dedicated=db:NoSchedule"]);
    cluster.apply(&pod("big", "4", "", ""), &[]);
    let expected = "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 2 Insufficient cpu. \
        preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.";
    let shown = eventually(Duration::from_secs(20), || {
        cluster
            .ok(&[
                "get",
                "events",
                "--field-selector",
                "involvedObject.name=big",
                "-o",
                "jsonpath={.items[*].message}",
            ])
            .contains(expected)
    });
    assert!(shown, "no FailedScheduling event; log:\n{}", cluster.log());
    let describe = cluster.ok(&["describe", "pod", "big"]);
    assert!(describe.contains("FailedScheduling"), "{describe}");
    assert!(describe.contains("default-scheduler"), "{describe}");
    let condition = cluster.ok(&[
        "get",
        "pod",
        "big",
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].reason}",
    ]);
    assert_eq!(condition, "Unschedulable");
    assert_eq!(node_of(&cluster, "big"), "");
    assert_eq!(
        cluster.ok(&["get", "pod", "big", "-o", "jsonpath={.status.phase}"]),
        "Pending"
    );
}

#[test]
fn pending_pod_is_scheduled_when_a_node_that_fits_appears() {
    let cluster = Cluster::start();
    add_node(&cluster, "small", "1", &[], &[]);
    cluster.apply(&pod("later", "2", "", ""), &[]);
    assert!(eventually(Duration::from_secs(20), || {
        cluster
            .ok(&[
                "get",
                "events",
                "--field-selector",
                "involvedObject.name=later",
                "-o",
                "name",
            ])
            .contains("event")
    }));
    add_node(&cluster, "large", "4", &[], &[]);
    assert_eq!(wait_bound(&cluster, "later"), "large");
    let events = cluster.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=later,reason=Scheduled",
        "-o",
        "jsonpath={.items[*].message}",
    ]);
    assert!(
        events.contains("Successfully assigned default/later to large"),
        "{events}"
    );
}

#[test]
fn node_selector_and_taints_steer_pods() {
    let cluster = Cluster::start();
    add_node(&cluster, "ssd", "2", &[("disk", "ssd")], &[]);
    add_node(&cluster, "plain", "8", &[], &[]);
    add_node(&cluster, "gpu", "64", &[], &["gpu=yes:NoSchedule"]);
    cluster.apply(
        &pod("wants-ssd", "100m", "  nodeSelector:\n    disk: ssd\n", ""),
        &[],
    );
    cluster.apply(&pod("no-toleration", "100m", "", ""), &[]);
    let tolerates = "  tolerations:\n  - key: gpu\n    operator: Equal\n    value: \"yes\"\n    effect: NoSchedule\n  nodeSelector:\n    kubernetes.io/hostname: gpu\n";
    cluster.apply(&pod("tolerant", "100m", tolerates, ""), &[]);
    assert_eq!(wait_bound(&cluster, "wants-ssd"), "ssd");
    assert_ne!(wait_bound(&cluster, "no-toleration"), "gpu");
    assert_eq!(wait_bound(&cluster, "tolerant"), "gpu");
}

#[test]
fn three_replicas_with_required_anti_affinity_land_on_three_nodes() {
    let cluster = Cluster::start();
    for n in ["a", "b", "c"] {
        add_node(&cluster, n, "4", &[], &[]);
    }
    let anti = "  affinity:\n    podAntiAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n      - labelSelector:\n          matchLabels:\n            app: web\n        topologyKey: kubernetes.io/hostname\n";
    for i in 0..3 {
        cluster.apply(&pod(&format!("web-{i}"), "100m", anti, "app: web"), &[]);
    }
    let mut nodes: Vec<String> = (0..3)
        .map(|i| wait_bound(&cluster, &format!("web-{i}")))
        .collect();
    nodes.sort();
    assert_eq!(nodes, vec!["a", "b", "c"]);
}

#[test]
fn topology_spread_balances_pods_across_zones() {
    let cluster = Cluster::start();
    add_node(
        &cluster,
        "a1",
        "8",
        &[("topology.kubernetes.io/zone", "a")],
        &[],
    );
    add_node(
        &cluster,
        "a2",
        "8",
        &[("topology.kubernetes.io/zone", "a")],
        &[],
    );
    add_node(
        &cluster,
        "b1",
        "8",
        &[("topology.kubernetes.io/zone", "b")],
        &[],
    );
    let spread = "  topologySpreadConstraints:\n  - maxSkew: 1\n    topologyKey: topology.kubernetes.io/zone\n    whenUnsatisfiable: DoNotSchedule\n    labelSelector:\n      matchLabels:\n        app: spread\n";
    let mut zones = Vec::new();
    for i in 0..4 {
        let name = format!("s-{i}");
        cluster.apply(&pod(&name, "100m", spread, "app: spread"), &[]);
        let node = wait_bound(&cluster, &name);
        zones.push(if node.starts_with('a') { 'a' } else { 'b' });
    }
    let in_a = zones.iter().filter(|z| **z == 'a').count();
    assert_eq!(in_a, 2, "zones: {zones:?}");
}

const HIGH_CLASS: &str =
    "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: high\nvalue: 1000\n";

#[test]
fn priority_classes_resolve_to_priorities_and_unknown_ones_are_forbidden() {
    let cluster = Cluster::start();
    let system = cluster.ok(&["get", "priorityclasses", "-o", "name"]);
    assert!(
        system.contains("system-cluster-critical") && system.contains("system-node-critical"),
        "{system}"
    );
    cluster.apply(HIGH_CLASS, &[]);
    let spec = |name: &str| {
        cluster.ok(&[
            "get",
            "pod",
            name,
            "-o",
            "jsonpath={.spec.priorityClassName}/{.spec.priority}/{.spec.preemptionPolicy}",
        ])
    };
    cluster.apply(&pod("named", "10m", "  priorityClassName: high\n", ""), &[]);
    assert_eq!(spec("named"), "high/1000/PreemptLowerPriority");
    cluster.apply(
        &pod(
            "critical",
            "10m",
            "  priorityClassName: system-node-critical\n",
            "",
        ),
        &[],
    );
    assert_eq!(
        spec("critical"),
        "system-node-critical/2000001000/PreemptLowerPriority"
    );
    cluster.apply(&pod("plain", "10m", "", ""), &[]);
    assert_eq!(spec("plain"), "/0/PreemptLowerPriority");

    let err = cluster.fails(
        &["apply", "-f", "-"],
        Some(&pod("lost", "10m", "  priorityClassName: nope\n", "")),
    );
    assert!(
        err.contains("pods \"lost\" is forbidden: no PriorityClass with name nope was found"),
        "{err}"
    );

    cluster.apply(
        "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: everyone\nvalue: 7\nglobalDefault: true\npreemptionPolicy: Never\n",
        &[],
    );
    cluster.apply(&pod("defaulted", "10m", "", ""), &[]);
    assert_eq!(spec("defaulted"), "everyone/7/Never");
}

#[test]
fn high_priority_pod_preempts_a_low_priority_one_on_a_full_node() {
    let cluster = Cluster::start();
    add_node(&cluster, "only", "2", &[], &[]);
    cluster.apply(HIGH_CLASS, &[]);
    cluster.apply(&pod("low", "1500m", "", ""), &[]);
    assert_eq!(wait_bound(&cluster, "low"), "only");
    cluster.apply(&pod("high", "1", "  priorityClassName: high\n", ""), &[]);
    assert_eq!(wait_bound(&cluster, "high"), "only");
    let gone = eventually(Duration::from_secs(10), || {
        !cluster.kubectl(&["get", "pod", "low"]).status.success()
    });
    assert!(gone, "the victim was not deleted");
    let events = cluster.ok(&[
        "get",
        "events",
        "--field-selector",
        "reason=Preempted",
        "-o",
        "jsonpath={.items[*].message}",
    ]);
    assert!(events.contains("Preempted by pod"), "{events}");
}

fn events_of(cluster: &Cluster, pod: &str) -> String {
    cluster.ok(&[
        "get",
        "events",
        "--field-selector",
        &format!("involvedObject.name={pod}"),
        "-o",
        "jsonpath={.items[*].message}",
    ])
}

#[test]
fn pod_waits_for_its_claim_then_goes_where_its_local_volume_is() {
    let cluster = Cluster::start();
    add_node(&cluster, "n1", "4", &[], &[]);
    add_node(&cluster, "n2", "4", &[], &[]);
    cluster.apply(
        r#"
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: manual}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: disk-n2}
spec:
  storageClassName: manual
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /tmp/disk-n2}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [n2]}]
"#,
        &[],
    );
    let volumes = "  volumes:\n  - name: data\n    persistentVolumeClaim: {claimName: data}\n";
    cluster.apply(&pod("user", "100m", volumes, ""), &[]);
    let missing = r#"0/2 nodes are available: persistentvolumeclaim "data" not found."#;
    assert!(
        eventually(Duration::from_secs(20), || events_of(&cluster, "user")
            .contains(missing)),
        "{}",
        events_of(&cluster, "user")
    );
    cluster.apply(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n  storageClassName: manual\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n",
        &[],
    );
    assert_eq!(wait_bound(&cluster, "user"), "n2");
    let bound = eventually(Duration::from_secs(20), || {
        cluster.ok(&[
            "get",
            "pvc",
            "data",
            "-o",
            "jsonpath={.status.phase}/{.spec.volumeName}",
        ]) == "Bound/disk-n2"
    });
    assert!(bound, "{}", cluster.ok(&["describe", "pvc", "data"]));
}

#[test]
fn pods_of_other_schedulers_are_left_alone_and_binding_subresource_binds() {
    let cluster = Cluster::start();
    add_node(&cluster, "n1", "4", &[], &[]);
    cluster.apply(
        &pod("custom", "100m", "  schedulerName: my-scheduler\n", ""),
        &[],
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(node_of(&cluster, "custom"), "");
    let binding = "apiVersion: v1\nkind: Binding\nmetadata:\n  name: custom\ntarget:\n  apiVersion: v1\n  kind: Node\n  name: n1\n";
    let out = cluster.kubectl_with_input(&["create", "--validate=false", "-f", "-"], Some(binding));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(node_of(&cluster, "custom"), "n1");
    let again = cluster.fails(&["create", "--validate=false", "-f", "-"], Some(binding));
    assert!(again.contains("already assigned to node"), "{again}");
    let scheduled = cluster.ok(&[
        "get",
        "pod",
        "custom",
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"PodScheduled\")].status}",
    ]);
    assert_eq!(scheduled, "True");
}

#[test]
fn scheduler_holds_its_lease_in_kube_system() {
    let cluster = Cluster::start();
    let held = eventually(Duration::from_secs(10), || {
        let out = cluster.kubectl(&[
            "-n",
            "kube-system",
            "get",
            "lease",
            "kube-scheduler",
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ]);
        out.status.success() && !out.stdout.is_empty()
    });
    assert!(held, "no kube-scheduler lease; log:\n{}", cluster.log());
}
