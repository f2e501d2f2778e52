//! Services get cluster IPs and node ports from their ranges, never twice.

use crate::support::Cluster;

const SERVICES: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: a}
spec:
  selector: {app: a}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec:
  type: NodePort
  selector: {app: b}
  ports: [{port: 80, nodePort: 30080}]
"#;

#[test]
fn services_get_distinct_cluster_ips_and_requested_node_ports() {
    let cluster = Cluster::start();
    cluster.apply(SERVICES, &["--validate=false"]);
    let ips = cluster.ok(&[
        "get",
        "svc",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name}={.spec.clusterIP} {end}",
    ]);
    let pairs: Vec<(&str, &str)> = ips
        .split_whitespace()
        .filter_map(|p| p.split_once('='))
        .collect();
    assert_eq!(pairs.len(), 3, "{ips}");
    assert!(pairs.contains(&("kubernetes", "10.43.0.1")), "{ips}");
    let mut addrs: Vec<&str> = pairs.iter().map(|(_, ip)| *ip).collect();
    assert!(addrs.iter().all(|ip| ip.starts_with("10.43.")), "{ips}");
    addrs.dedup();
    assert_eq!(addrs.len(), 3, "{ips}");
    let port = cluster.ok(&[
        "get",
        "svc",
        "b",
        "-o",
        "jsonpath={.spec.ports[0].nodePort}",
    ]);
    assert_eq!(port, "30080");
    let table = cluster.ok(&["get", "svc", "b"]);
    assert!(
        table.contains("NodePort") && table.contains("80:30080/TCP"),
        "{table}"
    );
}

#[test]
fn a_taken_node_port_is_refused_and_freed_when_its_service_goes() {
    let cluster = Cluster::start();
    cluster.apply(SERVICES, &["--validate=false"]);
    let clash = "apiVersion: v1\nkind: Service\nmetadata: {name: c}\nspec:\n  type: NodePort\n  ports: [{port: 81, nodePort: 30080}]\n";
    let err = cluster.fails(&["create", "-f", "-", "--validate=false"], Some(clash));
    assert!(
        err.contains(
            "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"
        ),
        "{err}"
    );
    // The failed create must not have freed b's port.
    let err = cluster.fails(&["create", "-f", "-", "--validate=false"], Some(clash));
    assert!(err.contains("already allocated"), "{err}");
    cluster.ok(&["delete", "svc", "b"]);
    let out = cluster.kubectl_with_input(&["create", "-f", "-", "--validate=false"], Some(clash));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
