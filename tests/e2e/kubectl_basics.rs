//! The everyday kubectl commands against a fresh cluster.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::Cluster;

const DEPLOYMENT: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  color: blue
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
"#;

#[test]
fn server_reports_kubernetes_1_33_and_system_namespaces() {
    let cluster = Cluster::start();
    let version = cluster.ok(&["version", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&version).unwrap();
    assert_eq!(v["serverVersion"]["minor"], "33", "{version}");
    let ns = cluster.ok(&["get", "ns"]);
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(ns.contains(name), "{ns}");
    }
    assert!(ns.starts_with("NAME"), "table header expected: {ns}");
    assert!(ns.contains("Active"), "{ns}");
    assert_eq!(cluster.raw_get("/readyz"), "ok");
}

#[test]
fn applied_objects_read_back_with_defaults_and_upstream_columns() {
    let cluster = Cluster::start();
    let out = cluster.apply(DEPLOYMENT, &["--validate=false"]);
    assert!(out.contains("deployment.apps/web created"), "{out}");
    let wide = cluster.ok(&["-n", "shop", "get", "deploy", "-o", "wide"]);
    let header: Vec<&str> = wide.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    assert!(
        wide.contains("web")
            && wide.contains("0/2")
            && wide.contains("nginx:1.25")
            && wide.contains("app=web"),
        "{wide}"
    );

    let json = cluster.ok(&["-n", "shop", "get", "deploy", "web", "-o", "json"]);
    let d: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    assert_eq!(d["metadata"]["generation"], 1);
    assert!(d["metadata"]["uid"].as_str().is_some_and(|u| u.len() == 36));

    let name = cluster.ok(&["-n", "shop", "get", "cm", "-o", "name"]);
    assert_eq!(name.trim(), "configmap/settings");
    let jsonpath = cluster.ok(&[
        "-n",
        "shop",
        "get",
        "cm",
        "settings",
        "-o",
        "jsonpath={.data.color}",
    ]);
    assert_eq!(jsonpath, "blue");
    let all = cluster.ok(&["get", "cm", "-A"]);
    assert!(
        all.lines().next().unwrap().starts_with("NAMESPACE"),
        "{all}"
    );
    assert!(all.contains("shop") && all.contains("settings"), "{all}");
}

#[test]
fn label_annotate_scale_and_patch_change_the_object() {
    let cluster = Cluster::start();
    cluster.apply(DEPLOYMENT, &["--validate=false"]);
    cluster.ok(&["-n", "shop", "label", "deploy", "web", "tier=front"]);
    cluster.ok(&["-n", "shop", "annotate", "deploy", "web", "note=hello"]);
    let scaled = cluster.ok(&["-n", "shop", "scale", "deploy", "web", "--replicas=5"]);
    assert!(scaled.contains("scaled"), "{scaled}");
    cluster.ok(&[
        "-n",
        "shop",
        "patch",
        "deploy",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"minReadySeconds":7}}"#,
    ]);
    cluster.ok(&[
        "-n",
        "shop",
        "patch",
        "deploy",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/revisionHistoryLimit","value":3}]"#,
    ]);
    let got = cluster.ok(&[
        "-n",
        "shop",
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.metadata.labels.tier} {.metadata.annotations.note} {.spec.replicas} {.spec.minReadySeconds} {.spec.revisionHistoryLimit} {.metadata.generation}",
    ]);
    assert_eq!(got, "front hello 5 7 3 4");
    let shown = cluster.ok(&[
        "-n",
        "shop",
        "get",
        "deploy",
        "-l",
        "tier=front",
        "--show-labels",
    ]);
    assert!(shown.contains("tier=front"), "{shown}");
    let none = cluster.ok(&["-n", "shop", "get", "deploy", "-l", "tier!=front"]);
    assert!(!none.contains("web"), "{none}");
}

#[test]
fn delete_removes_the_object_and_get_then_fails() {
    let cluster = Cluster::start();
    cluster.apply(DEPLOYMENT, &["--validate=false"]);
    let out = cluster.ok(&["-n", "shop", "delete", "cm", "settings"]);
    assert!(out.contains("configmap \"settings\" deleted"), "{out}");
    let err = cluster.fails(&["-n", "shop", "get", "cm", "settings"], None);
    assert!(err.contains("configmaps \"settings\" not found"), "{err}");
}

#[test]
fn get_watch_prints_a_later_change() {
    let cluster = Cluster::start();
    cluster.apply(DEPLOYMENT, &["--validate=false"]);
    let mut watcher = Command::new("kubectl")
        .args(["-n", "shop", "get", "cm", "-w", "--output-watch-events"])
        .env("KUBECONFIG", cluster.kubeconfig())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = watcher.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The initial listing arrives first.
    let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(first.contains("EVENT") || first.contains("NAME"), "{first}");
    cluster.ok(&[
        "-n",
        "shop",
        "create",
        "configmap",
        "later",
        "--from-literal=a=b",
        "--validate=false",
    ]);
    let mut seen = Vec::new();
    let found = loop {
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) if line.contains("later") => break Some(line),
            Ok(line) => seen.push(line),
            Err(_) => break None,
        }
    };
    let _ = watcher.kill();
    let _ = watcher.wait();
    let line = found.unwrap_or_else(|| panic!("no event for the new configmap; saw {seen:?}"));
    assert!(line.contains("ADDED"), "{line}");
}
