//! The garbage collector in `rudder server`: dependents named by ownerReferences are deleted
//! after their owner (background), released by `--cascade=orphan`, and hold their owner
//! with `--cascade=foreground` until they are gone; custom resources own objects too.

use std::time::Duration;

use crate::support::{eventually, Cluster};

const WAIT: Duration = Duration::from_secs(15);

fn uid(cluster: &Cluster, kind: &str, name: &str) -> String {
    cluster.ok(&["get", kind, name, "-o", "jsonpath={.metadata.uid}"])
}

fn exists(cluster: &Cluster, kind: &str, name: &str) -> bool {
    cluster.kubectl(&["get", kind, name]).status.success()
}

fn field(cluster: &Cluster, kind: &str, name: &str, path: &str) -> String {
    cluster.ok(&["get", kind, name, "-o", &format!("jsonpath={{{path}}}")])
}

/// A ConfigMap `owner` and two dependents naming it: ConfigMap `dep-cm` (blocking its
/// owner's deletion, held by `extra_finalizer` when given) and Secret `dep-secret`.
fn owner_with_dependents(cluster: &Cluster, extra_finalizer: Option<&str>) -> String {
    cluster.ok(&["create", "configmap", "owner", "--from-literal=a=b"]);
    let owner = uid(cluster, "configmap", "owner");
    let finalizers = extra_finalizer.map_or(String::new(), |f| format!("\n  finalizers: [{f}]"));
    let reference = |block: bool| {
        format!(
            "  ownerReferences:\n  - {{apiVersion: v1, kind: ConfigMap, name: owner, uid: {owner}, blockOwnerDeletion: {block}}}"
        )
    };
    cluster.apply(
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dep-cm{finalizers}\n{}\ndata: {{x: \"1\"}}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: dep-secret\n{}\nstringData: {{x: \"1\"}}\n",
            reference(true),
            reference(false)
        ),
        &[],
    );
    owner
}

#[test]
fn background_deletion_removes_the_dependents_after_the_owner() {
    let cluster = Cluster::start();
    owner_with_dependents(&cluster, None);
    cluster.ok(&["delete", "configmap", "owner"]);
    assert!(eventually(WAIT, || {
        !exists(&cluster, "configmap", "dep-cm") && !exists(&cluster, "secret", "dep-secret")
    }));
}

#[test]
fn orphan_deletion_keeps_the_dependents_without_their_reference_to_the_owner() {
    let cluster = Cluster::start();
    owner_with_dependents(&cluster, None);
    cluster.ok(&["delete", "configmap", "owner", "--cascade=orphan"]);
    assert!(!exists(&cluster, "configmap", "owner"));
    assert!(exists(&cluster, "configmap", "dep-cm"));
    assert!(exists(&cluster, "secret", "dep-secret"));
    for (kind, name) in [("configmap", "dep-cm"), ("secret", "dep-secret")] {
        assert_eq!(
            field(&cluster, kind, name, ".metadata.ownerReferences"),
            "",
            "{kind}/{name} still names its owner"
        );
    }
}

#[test]
fn foreground_deletion_holds_the_owner_until_its_blocking_dependent_is_gone() {
    let cluster = Cluster::start();
    owner_with_dependents(&cluster, Some("example.com/hold"));
    cluster.ok(&[
        "delete",
        "configmap",
        "owner",
        "--cascade=foreground",
        "--wait=false",
    ]);
    // The held dependent is marked for deletion; the other one goes.
    assert!(eventually(WAIT, || {
        !field(
            &cluster,
            "configmap",
            "dep-cm",
            ".metadata.deletionTimestamp",
        )
        .is_empty()
    }));
    assert!(eventually(WAIT, || !exists(
        &cluster,
        "secret",
        "dep-secret"
    )));
    assert!(exists(&cluster, "configmap", "owner"));
    assert_ne!(
        field(
            &cluster,
            "configmap",
            "owner",
            ".metadata.deletionTimestamp"
        ),
        ""
    );
    assert_eq!(
        field(&cluster, "configmap", "owner", ".metadata.finalizers"),
        r#"["foregroundDeletion"]"#
    );

    cluster.ok(&[
        "patch",
        "configmap",
        "dep-cm",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    assert!(eventually(WAIT, || !exists(&cluster, "configmap", "owner")));
    assert!(!exists(&cluster, "configmap", "dep-cm"));
}

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

#[test]
fn a_custom_resource_owns_a_config_map() {
    let cluster = Cluster::start();
    cluster.apply(CRD, &[]);
    assert!(eventually(WAIT, || {
        cluster.kubectl(&["get", "widgets"]).status.success()
    }));
    cluster.apply(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 1}\n",
        &[],
    );
    let owner = uid(&cluster, "widget", "w1");
    cluster.apply(
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: widget-config\n  ownerReferences:\n  - {{apiVersion: example.com/v1, kind: Widget, name: w1, uid: {owner}}}\n"
        ),
        &[],
    );
    // The owner exists: its dependent stays.
    std::thread::sleep(Duration::from_millis(500));
    assert!(exists(&cluster, "configmap", "widget-config"));
    cluster.ok(&["delete", "widget", "w1"]);
    assert!(eventually(WAIT, || !exists(
        &cluster,
        "configmap",
        "widget-config"
    )));
}

#[test]
fn a_dependent_naming_an_owner_in_another_namespace_is_warned_about_and_collected() {
    let cluster = Cluster::start();
    cluster.ok(&["create", "namespace", "other"]);
    cluster.ok(&["create", "configmap", "owner", "--from-literal=a=b"]);
    let owner = uid(&cluster, "configmap", "owner");
    cluster.apply(
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stray\n  namespace: other\n  ownerReferences:\n  - {{apiVersion: v1, kind: ConfigMap, name: owner, uid: {owner}}}\n"
        ),
        &[],
    );
    assert!(eventually(WAIT, || {
        cluster
            .ok(&["get", "events", "-n", "other"])
            .contains("OwnerRefInvalidNamespace")
    }));
    // In its own namespace the owner does not exist, so the reference dangles.
    assert!(eventually(WAIT, || {
        !cluster
            .kubectl(&["get", "configmap", "stray", "-n", "other"])
            .status
            .success()
    }));
    assert!(exists(&cluster, "configmap", "owner"));
}
