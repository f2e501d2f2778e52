//! ResourceQuota usage, PersistentVolume binding with the built-in `local-path` provisioner,
//! and HorizontalPodAutoscaler conditions, through kubectl.

use std::time::Duration;

use crate::support::Cluster;
use crate::workloads_support::eventually;

const WAIT: Duration = Duration::from_secs(30);

fn jsonpath(cluster: &Cluster, what: &[&str], path: &str) -> String {
    let template = format!("jsonpath={path}");
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend(["-o", &template]);
    let out = cluster.kubectl(&args);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn waits_for(cluster: &Cluster, what: &[&str], path: &str, want: &str) -> bool {
    eventually(WAIT, || jsonpath(cluster, what, path) == want)
}

#[test]
fn describe_quota_shows_used_against_hard() {
    let cluster = Cluster::start();
    cluster.ok(&[
        "create",
        "quota",
        "compute",
        "--hard=pods=4,requests.cpu=1,limits.memory=1Gi,configmaps=5,count/deployments.apps=2",
    ]);
    cluster.ok(&["create", "configmap", "a", "--from-literal=k=v"]);
    cluster.ok(&["create", "configmap", "b", "--from-literal=k=v"]);
    cluster.apply(
        r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    image: nginx
    resources:
      requests: {cpu: 250m}
      limits: {cpu: 500m, memory: 256Mi}
"#,
        &[],
    );
    let configmaps = cluster
        .ok(&["get", "configmaps", "-o", "name"])
        .lines()
        .count();
    let expected = [
        "Resource                Used   Hard".to_owned(),
        "--------                ----   ----".to_owned(),
        format!("configmaps              {configmaps:<6} 5"),
        "count/deployments.apps  0      2".to_owned(),
        "limits.memory           256Mi  1Gi".to_owned(),
        "pods                    1      4".to_owned(),
        "requests.cpu            250m   1".to_owned(),
    ];
    let shown = || cluster.ok(&["describe", "quota", "compute"]);
    let ok = eventually(WAIT, || {
        let out = shown();
        expected
            .iter()
            .all(|line| out.lines().any(|l| l.trim_end() == line))
    });
    assert!(ok, "describe quota shows:\n{}", shown());

    cluster.ok(&["delete", "pod", "p", "--grace-period=0", "--force"]);
    let freed = eventually(WAIT, || {
        jsonpath(&cluster, &["quota", "compute"], "{.status.used.pods}") == "0"
    });
    assert!(freed, "{}", shown());
}

const MANUAL_VOLUME: &str = r#"
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv1}
spec:
  storageClassName: manual
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /tmp/rudder-pv1}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-big}
spec:
  storageClassName: manual
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /tmp/rudder-pv-big}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: c1}
spec:
  storageClassName: manual
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 500Mi}}
"#;

#[test]
fn a_claim_binds_the_smallest_matching_volume_and_releases_it() {
    let cluster = Cluster::start();
    cluster.apply(MANUAL_VOLUME, &[]);
    assert!(waits_for(
        &cluster,
        &["pvc", "c1"],
        "{.status.phase}",
        "Bound"
    ));
    assert_eq!(
        jsonpath(&cluster, &["pvc", "c1"], "{.spec.volumeName}"),
        "pv1"
    );
    assert_eq!(
        jsonpath(&cluster, &["pvc", "c1"], "{.status.capacity.storage}"),
        "1Gi"
    );
    assert!(waits_for(
        &cluster,
        &["pv", "pv1"],
        "{.status.phase}",
        "Bound"
    ));
    assert_eq!(
        jsonpath(&cluster, &["pv", "pv1"], "{.spec.claimRef.name}"),
        "c1"
    );
    let annotations = jsonpath(&cluster, &["pvc", "c1"], "{.metadata.annotations}");
    assert!(
        annotations.contains(r#""pv.kubernetes.io/bind-completed":"yes""#),
        "{annotations}"
    );
    assert_eq!(
        jsonpath(&cluster, &["pv", "pv-big"], "{.status.phase}"),
        "Available"
    );

    cluster.ok(&["delete", "pvc", "c1"]);
    assert!(waits_for(
        &cluster,
        &["pv", "pv1"],
        "{.status.phase}",
        "Released"
    ));
}

#[test]
fn local_path_provisions_a_volume_on_the_selected_node_and_deletes_it_with_the_claim() {
    let cluster = Cluster::start_with(&["--simulated-nodes".into(), "1".into()]);
    let classes = cluster.ok(&["get", "storageclass"]);
    assert!(
        classes.contains("local-path (default)")
            && classes.contains("rancher.io/local-path")
            && classes.contains("WaitForFirstConsumer"),
        "{classes}"
    );
    cluster.apply(
        r#"
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 2Gi}}
"#,
        &[],
    );
    assert_eq!(
        jsonpath(&cluster, &["pvc", "data"], "{.spec.storageClassName}"),
        "local-path"
    );
    let waiting = eventually(WAIT, || {
        cluster
            .ok(&["describe", "pvc", "data"])
            .contains("waiting for first consumer to be created before binding")
    });
    assert!(waiting, "{}", cluster.ok(&["describe", "pvc", "data"]));

    // The scheduler places the first pod using the claim and selects its node for the claim.
    cluster.apply(
        r#"
apiVersion: v1
kind: Pod
metadata: {name: user}
spec:
  containers: [{name: c, image: busybox}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
"#,
        &[],
    );
    assert!(waits_for(
        &cluster,
        &["pod", "user"],
        "{.spec.nodeName}",
        "sim-0"
    ));
    assert_eq!(
        jsonpath(
            &cluster,
            &["pvc", "data"],
            "{.metadata.annotations.volume\\.kubernetes\\.io/selected-node}"
        ),
        "sim-0"
    );
    assert!(waits_for(
        &cluster,
        &["pvc", "data"],
        "{.status.phase}",
        "Bound"
    ));
    let uid = jsonpath(&cluster, &["pvc", "data"], "{.metadata.uid}");
    let pv = format!("pvc-{uid}");
    assert_eq!(
        jsonpath(&cluster, &["pvc", "data"], "{.spec.volumeName}"),
        pv
    );
    let data_dir = cluster.kubeconfig().parent().unwrap().to_path_buf();
    let want_path = data_dir.join("storage").join(format!("{pv}_default_data"));
    assert_eq!(
        jsonpath(&cluster, &["pv", &pv], "{.spec.hostPath.path}"),
        want_path.to_string_lossy()
    );
    assert_eq!(
        jsonpath(
            &cluster,
            &["pv", &pv],
            "{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}"
        ),
        "sim-0"
    );
    assert!(waits_for(
        &cluster,
        &["pv", &pv],
        "{.status.phase}",
        "Bound"
    ));

    cluster.ok(&["delete", "pod", "user", "--grace-period=0", "--force"]);
    cluster.ok(&["delete", "pvc", "data"]);
    let gone = eventually(WAIT, || {
        !cluster.kubectl(&["get", "pv", &pv]).status.success()
    });
    assert!(gone, "{}", cluster.ok(&["get", "pv"]));
}

#[test]
fn describe_hpa_shows_that_no_metrics_api_is_served() {
    let cluster = Cluster::start();
    cluster.ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx",
        "--replicas=2",
    ]);
    cluster.ok(&[
        "autoscale",
        "deployment",
        "web",
        "--cpu-percent=50",
        "--min=1",
        "--max=5",
    ]);
    let expected = [
        "AbleToScale    True    SucceededGetScale        the HPA controller was able to get the target's current scale",
        "ScalingActive  False   FailedGetResourceMetric  the HPA was unable to compute the replica count: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)",
    ];
    let shown = || cluster.ok(&["describe", "hpa", "web"]);
    let ok = eventually(WAIT, || {
        let out = shown();
        expected
            .iter()
            .all(|line| out.lines().any(|l| l.trim() == *line))
            && out.contains("FailedGetResourceMetric")
            && out.contains("Min replicas:")
    });
    assert!(ok, "describe hpa shows:\n{}", shown());
    // Upstream, too, reports no desired count while no metric could be computed.
    let out = shown();
    assert!(out.contains("2 current / 0 desired"), "{out}");
}
