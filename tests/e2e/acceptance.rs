//! The issue's kubectl tour: apply, re-apply after an edit, and the everyday read and write
//! commands, each checked against what upstream prints.

use crate::support::Cluster;

const MANIFEST: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: acc}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: acc}
data: {color: blue}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: acc}
stringData: {password: hunter2}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: acc, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80}]
        env: [{name: A, value: "1"}]
      - name: sidecar
        image: busybox:1.36
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: acc}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
"#;

#[test]
fn apply_then_reapply_an_edited_manifest_merges_by_strategy() {
    let cluster = Cluster::start();
    let first = cluster.apply(MANIFEST, &[]);
    assert!(
        first.contains("namespace/acc created") && first.contains("service/web created"),
        "{first}"
    );
    let edited = MANIFEST
        .replace("nginx:1.25", "nginx:1.26")
        .replace("value: \"1\"", "value: \"2\"");
    let edited = edited.replace("      - name: sidecar\n        image: busybox:1.36\n", "");
    let second = cluster.apply(&edited, &[]);
    assert!(
        second.contains("deployment.apps/web configured")
            && second.contains("configmap/settings unchanged"),
        "{second}"
    );
    let got = cluster.ok(&[
        "-n",
        "acc",
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[*].name} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[0].value} {.metadata.generation}",
    ]);
    assert_eq!(got, "nginx nginx:1.26 2 2");
    let secret = cluster.ok(&[
        "-n",
        "acc",
        "get",
        "secret",
        "creds",
        "-o",
        "jsonpath={.data.password}",
    ]);
    assert_eq!(secret, "aHVudGVyMg==");
    let all = cluster.ok(&["get", "all", "-n", "acc"]);
    assert!(
        all.contains("service/web") && all.contains("deployment.apps/web"),
        "{all}"
    );
}

#[test]
fn describe_explain_edit_and_api_resources_work() {
    let cluster = Cluster::start();
    cluster.apply(MANIFEST, &[]);
    let described = cluster.ok(&["-n", "acc", "describe", "deploy", "web"]);
    assert!(
        described.contains("Replicas:               2 desired"),
        "{described}"
    );
    assert!(
        described.contains("RollingUpdateStrategy:  25% max unavailable, 25% max surge"),
        "{described}"
    );
    let explained = cluster.ok(&["explain", "deployment.spec.strategy"]);
    assert!(
        explained.contains("FIELD: strategy <DeploymentStrategy>")
            && explained.contains("rollingUpdate"),
        "{explained}"
    );
    let editor = cluster.kubeconfig().with_file_name("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/color: blue/color: green/' \"$1\"\n",
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&editor)
        .status()
        .unwrap();
    let out = std::process::Command::new("kubectl")
        .args(["-n", "acc", "edit", "cm", "settings"])
        .env("KUBECONFIG", cluster.kubeconfig())
        .env("EDITOR", &editor)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        cluster.ok(&[
            "-n",
            "acc",
            "get",
            "cm",
            "settings",
            "-o",
            "jsonpath={.data.color}"
        ]),
        "green"
    );
    let resources = cluster.ok(&["api-resources"]);
    for line in [
        "deployments",
        "deploy",
        "apps/v1",
        "customresourcedefinitions",
        "crd,crds",
    ] {
        assert!(resources.contains(line), "{line} missing from {resources}");
    }
}

#[test]
fn imperative_creates_and_strategic_patch_work() {
    let cluster = Cluster::start();
    cluster.ok(&["create", "namespace", "imp"]);
    cluster.ok(&[
        "-n",
        "imp",
        "create",
        "deployment",
        "web",
        "--image=nginx:1.25",
        "--replicas=2",
    ]);
    cluster.ok(&[
        "-n",
        "imp",
        "create",
        "configmap",
        "c",
        "--from-literal=a=b",
    ]);
    cluster.ok(&[
        "-n",
        "imp",
        "create",
        "secret",
        "generic",
        "s",
        "--from-literal=p=q",
    ]);
    cluster.ok(&[
        "-n",
        "imp",
        "patch",
        "deploy",
        "web",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.27"}]}}}}"#,
    ]);
    let got = cluster.ok(&[
        "-n",
        "imp",
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].name}",
    ]);
    assert_eq!(got, "2 nginx:1.27 nginx");
    assert_eq!(
        cluster.ok(&[
            "-n",
            "imp",
            "get",
            "secret",
            "s",
            "-o",
            "jsonpath={.data.p}"
        ]),
        "cQ=="
    );
    let invalid = cluster.fails(
        &["-n", "imp", "create", "-f", "-"],
        Some("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: c}}\n    spec: {containers: [{name: c, image: i}]}\n"),
    );
    assert!(
        invalid.contains("spec.template.metadata.labels: Invalid value"),
        "{invalid}"
    );
    assert!(
        invalid.contains("`selector` does not match template `labels`"),
        "{invalid}"
    );
}
