//! The Endpoints and EndpointSlice controllers in `rudder server`: a Service's endpoints
//! follow its selected pods' IPs and readiness (which the test sets through the pods'
//! status subresource, as a kubelet would), with named target ports resolved per pod.

use std::time::Duration;

use crate::support::{eventually, Cluster};

const WAIT: Duration = Duration::from_secs(15);

const SERVICE: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
"#;

/// A pod labelled `app: web` whose container names port `http` as `port`.
fn pod(cluster: &Cluster, name: &str, port: u16) {
    cluster.apply(
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {{app: web}}}}\nspec:\n  containers:\n  - name: c\n    image: nginx\n    ports: [{{name: http, containerPort: {port}}}]\n"
        ),
        &[],
    );
}

/// Sets the pod's IP and Ready condition through `/status`, as a kubelet would.
fn set_status(cluster: &Cluster, name: &str, ip: &str, ready: bool) {
    let status = if ready { "True" } else { "False" };
    let patch = format!(
        r#"{{"status":{{"phase":"Running","podIP":"{ip}","podIPs":[{{"ip":"{ip}"}}],"conditions":[{{"type":"Ready","status":"{status}"}}]}}}}"#
    );
    cluster.ok(&[
        "patch",
        "pod",
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        &patch,
    ]);
}

/// The rows of `kubectl get <what>`, without the header.
fn rows(cluster: &Cluster, what: &str) -> String {
    cluster.ok(&["get", what, "--no-headers"])
}

#[test]
fn endpoints_list_ready_pods_with_their_named_target_ports() {
    let cluster = Cluster::start();
    cluster.apply(SERVICE, &[]);
    pod(&cluster, "a", 8080);
    pod(&cluster, "b", 9090);
    pod(&cluster, "no-ip", 8080);
    set_status(&cluster, "a", "10.1.0.1", true);
    set_status(&cluster, "b", "10.1.0.2", true);
    assert!(eventually(WAIT, || {
        let out = rows(&cluster, "endpoints");
        out.contains("10.1.0.1:8080") && out.contains("10.1.0.2:9090")
    }));
    let header = cluster.ok(&["get", "endpoints", "web"]);
    assert!(header.starts_with("NAME"), "{header}");
    assert!(
        header.contains("ENDPOINTS") && header.contains("AGE"),
        "{header}"
    );
    let annotation = cluster.ok(&[
        "get",
        "endpoints",
        "web",
        "-o",
        r"jsonpath={.metadata.annotations.endpoints\.kubernetes\.io/last-change-trigger-time}",
    ]);
    assert!(!annotation.is_empty());

    set_status(&cluster, "b", "10.1.0.2", false);
    assert!(eventually(WAIT, || {
        let out = rows(&cluster, "endpoints");
        out.contains("10.1.0.1:8080") && !out.contains("10.1.0.2")
    }));
    let not_ready = cluster.ok(&[
        "get",
        "endpoints",
        "web",
        "-o",
        "jsonpath={.subsets[*].notReadyAddresses[*].ip}",
    ]);
    assert_eq!(not_ready, "10.1.0.2");
}

#[test]
fn endpoint_slices_carry_conditions_and_follow_readiness() {
    let cluster = Cluster::start();
    cluster.apply(SERVICE, &[]);
    pod(&cluster, "a", 8080);
    set_status(&cluster, "a", "10.1.0.1", true);
    assert!(eventually(WAIT, || rows(&cluster, "endpointslices")
        .contains("10.1.0.1")));
    let out = cluster.ok(&[
        "get",
        "endpointslices",
        "-l",
        "kubernetes.io/service-name=web",
    ]);
    let header = out.lines().next().unwrap_or_default();
    for column in ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"] {
        assert!(header.contains(column), "{out}");
    }
    let row = out.lines().nth(1).unwrap_or_default().to_owned();
    assert!(
        row.starts_with("web-") && row.contains("IPv4") && row.contains("8080"),
        "{out}"
    );
    let jsonpath = |path: &str| {
        cluster.ok(&[
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=web",
            "-o",
            &format!("jsonpath={{.items[0].{path}}}"),
        ])
    };
    assert_eq!(
        jsonpath(r"metadata.labels.endpointslice\.kubernetes\.io/managed-by"),
        "endpointslice-controller.k8s.io"
    );
    assert_eq!(jsonpath("metadata.ownerReferences[0].name"), "web");
    assert_eq!(jsonpath("endpoints[0].targetRef.name"), "a");
    assert_eq!(jsonpath("endpoints[0].conditions.ready"), "true");

    set_status(&cluster, "a", "10.1.0.1", false);
    assert!(eventually(WAIT, || jsonpath(
        "endpoints[0].conditions.ready"
    ) == "false"));
    assert_eq!(jsonpath("endpoints[0].conditions.serving"), "false");
}

#[test]
fn deleting_the_service_removes_its_endpoints_and_slices() {
    let cluster = Cluster::start();
    cluster.apply(SERVICE, &[]);
    assert!(eventually(WAIT, || {
        cluster
            .kubectl(&["get", "endpoints", "web"])
            .status
            .success()
            && !rows(&cluster, "endpointslices").is_empty()
    }));
    cluster.ok(&["delete", "service", "web"]);
    assert!(eventually(WAIT, || {
        !cluster
            .kubectl(&["get", "endpoints", "web"])
            .status
            .success()
            && cluster
                .ok(&[
                    "get",
                    "endpointslices",
                    "-l",
                    "kubernetes.io/service-name=web",
                    "-o",
                    "name",
                ])
                .trim()
                .is_empty()
    }));
}
