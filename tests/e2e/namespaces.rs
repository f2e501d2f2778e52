//! The controller manager in `rudder server`: namespace deletion empties and removes the
//! namespace, every namespace gets a `default` ServiceAccount, and the manager holds its Lease.

use std::time::{Duration, Instant};

use crate::support::{eventually, Cluster};

const MANIFEST: &str = r#"
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
"#;

fn namespace_gone(cluster: &Cluster, name: &str) -> bool {
    let out = cluster.kubectl(&["get", "ns", name]);
    !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("NotFound")
}

#[test]
fn deleting_a_namespace_deletes_its_objects_then_the_namespace() {
    let cluster = Cluster::start();
    cluster.ok(&["create", "ns", "shop"]);
    cluster.ok(&[
        "create",
        "configmap",
        "settings",
        "-n",
        "shop",
        "--from-literal=color=blue",
    ]);
    cluster.ok(&[
        "create",
        "deployment",
        "web",
        "-n",
        "shop",
        "--image=nginx:1.25",
    ]);

    let started = Instant::now();
    cluster.ok(&["delete", "ns", "shop", "--timeout=20s"]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "kubectl delete ns took {:?}",
        started.elapsed()
    );
    assert!(namespace_gone(&cluster, "shop"));
    let left = cluster.ok(&["get", "configmaps,deployments", "-A", "-o", "name"]);
    assert!(
        !left.contains("settings") && !left.contains("web"),
        "{left}"
    );
}

#[test]
fn namespace_applied_from_a_manifest_is_deleted_with_delete_f() {
    let cluster = Cluster::start();
    cluster.apply(MANIFEST, &[]);
    assert!(cluster
        .ok(&["get", "cm", "-n", "shop"])
        .contains("settings"));
    let out = cluster.kubectl_with_input(&["delete", "-f", "-", "--timeout=20s"], Some(MANIFEST));
    assert!(
        out.status.success(),
        "delete -f failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(eventually(Duration::from_secs(10), || namespace_gone(
        &cluster, "shop"
    )));
}

#[test]
fn namespace_waits_for_finalizers_on_its_content_and_says_so() {
    let cluster = Cluster::start();
    cluster.ok(&["create", "ns", "hold"]);
    cluster.apply(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, namespace: hold, finalizers: [example.com/hold]}\n",
        &[],
    );
    cluster.ok(&["delete", "ns", "hold", "--wait=false"]);
    let condition = |type_: &str| {
        let path = format!("jsonpath={{.status.conditions[?(@.type==\"{type_}\")].reason}}");
        cluster.ok(&["get", "ns", "hold", "-o", &path])
    };
    assert!(eventually(Duration::from_secs(10), || {
        condition("NamespaceFinalizersRemaining") == "SomeFinalizersRemain"
    }));
    assert_eq!(
        condition("NamespaceContentRemaining"),
        "SomeResourcesRemain"
    );
    assert_eq!(
        cluster.ok(&["get", "ns", "hold", "-o", "jsonpath={.status.phase}"]),
        "Terminating"
    );

    cluster.ok(&[
        "patch",
        "cm",
        "held",
        "-n",
        "hold",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    assert!(eventually(Duration::from_secs(10), || namespace_gone(
        &cluster, "hold"
    )));
}

#[test]
fn new_namespace_gets_a_default_service_account() {
    let cluster = Cluster::start();
    cluster.ok(&["create", "ns", "team"]);
    assert!(eventually(Duration::from_secs(10), || {
        cluster
            .kubectl(&["get", "sa", "default", "-n", "team"])
            .status
            .success()
    }));
    cluster.ok(&["delete", "sa", "default", "-n", "team"]);
    assert!(
        eventually(Duration::from_secs(10), || {
            cluster
                .kubectl(&["get", "sa", "default", "-n", "team"])
                .status
                .success()
        }),
        "a deleted default ServiceAccount is recreated"
    );
}

#[test]
fn controller_manager_holds_its_lease_in_kube_system() {
    let cluster = Cluster::start();
    let holder = || {
        cluster
            .kubectl(&[
                "get",
                "lease",
                "kube-controller-manager",
                "-n",
                "kube-system",
                "-o",
                "jsonpath={.spec.holderIdentity}",
            ])
            .stdout
    };
    assert!(eventually(Duration::from_secs(10), || !holder().is_empty()));
    let duration = cluster.ok(&[
        "get",
        "lease",
        "kube-controller-manager",
        "-n",
        "kube-system",
        "-o",
        "jsonpath={.spec.leaseDurationSeconds}",
    ]);
    assert_eq!(duration, "15");
}

#[test]
fn a_plain_update_cannot_drop_a_namespace_finalizer() {
    let cluster = Cluster::start();
    cluster.ok(&["create", "namespace", "keep"]);
    let json = cluster.ok(&["get", "ns", "keep", "-o", "json"]);
    let mut ns: serde_json::Value = serde_json::from_str(&json).unwrap();
    ns["spec"]["finalizers"] = serde_json::json!([]);
    let out = cluster.kubectl_with_input(&["replace", "-f", "-"], Some(&ns.to_string()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let finalizers = cluster.ok(&["get", "ns", "keep", "-o", "jsonpath={.spec.finalizers}"]);
    assert_eq!(finalizers, r#"["kubernetes"]"#);
}
