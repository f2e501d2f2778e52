//! Bad input and races get upstream's errors and leave the store unchanged.

use crate::support::Cluster;

fn configmap_count(cluster: &Cluster) -> usize {
    cluster.ok(&["get", "cm", "-o", "name"]).lines().count()
}

#[test]
fn two_updates_from_the_same_resource_version_one_gets_409() {
    let cluster = Cluster::start();
    cluster.ok(&["create", "configmap", "race", "--from-literal=a=1"]);
    let json = cluster.ok(&["get", "cm", "race", "-o", "json"]);
    let mut first: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut second = first.clone();
    first["data"]["a"] = "2".into();
    second["data"]["a"] = "3".into();
    let a = cluster.kubectl_with_input(
        &["replace", "-f", "-", "--validate=false"],
        Some(&first.to_string()),
    );
    let b = cluster.kubectl_with_input(
        &["replace", "-f", "-", "--validate=false"],
        Some(&second.to_string()),
    );
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(!b.status.success());
    let err = String::from_utf8_lossy(&b.stderr);
    assert!(err.contains("the object has been modified"), "{err}");
    assert_eq!(
        cluster.ok(&["get", "cm", "race", "-o", "jsonpath={.data.a}"]),
        "2"
    );
}

#[test]
fn malformed_yaml_is_rejected_and_nothing_is_stored() {
    let cluster = Cluster::start();
    let before = configmap_count(&cluster);
    let err = cluster.fails(
        &["create", "-f", "-", "--validate=false"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n"),
    );
    assert!(
        err.to_lowercase().contains("yaml") || err.contains("error"),
        "{err}"
    );
    assert_eq!(configmap_count(&cluster), before);
}

#[test]
fn unknown_kind_is_rejected() {
    let cluster = Cluster::start();
    let err = cluster.fails(
        &["create", "-f", "-", "--validate=false"],
        Some("apiVersion: v1\nkind: Gadget\nmetadata:\n  name: g\n"),
    );
    assert!(err.contains("no matches for kind \"Gadget\""), "{err}");
}

#[test]
fn invalid_name_gets_422_with_the_field_path() {
    let cluster = Cluster::start();
    let before = configmap_count(&cluster);
    let err = cluster.fails(
        &["create", "-f", "-", "--validate=false"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n"),
    );
    assert!(
        err.contains(
            "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\""
        ),
        "{err}"
    );
    assert_eq!(configmap_count(&cluster), before);
}

#[test]
fn missing_namespace_gets_404() {
    let cluster = Cluster::start();
    let err = cluster.fails(
        &["create", "-f", "-", "--validate=false"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: nowhere\n"),
    );
    assert!(err.contains("namespaces \"nowhere\" not found"), "{err}");
}

#[test]
fn wrong_typed_field_is_rejected_and_nothing_is_stored() {
    let cluster = Cluster::start();
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: three\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: i}]}\n";
    let err = cluster.fails(&["create", "-f", "-", "--validate=false"], Some(manifest));
    assert!(err.contains("spec.replicas"), "{err}");
    let listed = cluster.ok(&["get", "deploy", "-o", "name"]);
    assert!(listed.trim().is_empty(), "{listed}");
}

#[test]
fn requests_without_credentials_get_401() {
    let cluster = Cluster::start();
    let out = std::process::Command::new("curl")
        .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!(
            "https://127.0.0.1:{}/api/v1/namespaces",
            cluster.port
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
}
