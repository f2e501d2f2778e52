//! Server-side apply and managedFields through the real kubectl.

use crate::support::Cluster;

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
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

fn managed_fields(cluster: &Cluster, name: &str) -> serde_json::Value {
    let out = cluster.ok(&["get", "deploy", name, "-o", "json", "--show-managed-fields"]);
    let obj: serde_json::Value = serde_json::from_str(&out).unwrap();
    obj["metadata"]["managedFields"].clone()
}

#[test]
fn server_side_apply_prunes_conflicts_and_forces() {
    let cluster = Cluster::start();
    let out = cluster.apply(DEPLOYMENT, &["--server-side"]);
    assert!(
        out.contains("deployment.apps/web serverside-applied"),
        "{out}"
    );
    let managed = managed_fields(&cluster, "web");
    assert_eq!(managed[0]["manager"], "kubectl", "{managed}");
    assert_eq!(managed[0]["operation"], "Apply", "{managed}");
    let containers = &managed[0]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"];
    assert!(
        containers[r#"k:{"name":"nginx"}"#]["f:ports"][r#"k:{"containerPort":80,"protocol":"TCP"}"#]
            .is_object(),
        "{managed}"
    );

    let without_tier = DEPLOYMENT.replace(", tier: front", "");
    cluster.apply(&without_tier, &["--server-side"]);
    let labels = cluster.ok(&["get", "deploy", "web", "-o", "jsonpath={.metadata.labels}"]);
    assert_eq!(labels, r#"{"app":"web"}"#);

    cluster.ok(&["scale", "deploy", "web", "--replicas=5"]);
    let err = cluster.fails(&["apply", "--server-side", "-f", "-"], Some(&without_tier));
    assert!(
        err.contains("Apply failed with 1 conflict: conflict with \"kubectl\" with subresource \"scale\" using apps/v1: .spec.replicas"),
        "{err}"
    );
    cluster.apply(&without_tier, &["--server-side", "--force-conflicts"]);
    let replicas = cluster.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]);
    assert_eq!(replicas, "2");
    let managed = managed_fields(&cluster, "web");
    // The Deployment controller's own writes (revision annotation, status) are its entries.
    let by_users = managed
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["manager"] != "kube-controller-manager")
        .count();
    assert_eq!(by_users, 1, "{managed}");

    let client_side = DEPLOYMENT.replace("name: web\n", "name: web2\n");
    assert!(cluster.apply(&client_side, &[]).contains("created"));
    let again = cluster.apply(&client_side.replace("replicas: 2", "replicas: 3"), &[]);
    assert!(again.contains("configured"), "{again}");
    let managed = managed_fields(&cluster, "web2");
    let managers: Vec<&str> = managed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["manager"].as_str())
        .filter(|m| *m != "kube-controller-manager")
        .collect();
    assert_eq!(managers, ["kubectl-client-side-apply"], "{managed}");
}
