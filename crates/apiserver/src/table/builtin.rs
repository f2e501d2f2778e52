//! Upstream's `kubectl get` columns for the built-in kinds.

use serde_json::{json, Value};

use super::cells::{age_of, containers_and_images, count_at, int_at, selector_text, str_or_none};
use super::Column;
use crate::meta;

const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// The NAME column.
pub const NAME: Column = Column {
    name: "Name",
    kind: "string",
    format: "name",
    description: NAME_DESC,
    priority: 0,
    cell: |o| json!(meta::name(o)),
};

/// The AGE column.
pub const AGE: Column = Column {
    name: "Age",
    kind: "string",
    format: "",
    description: AGE_DESC,
    priority: 0,
    cell: |o| {
        age_of(
            o.pointer("/metadata/creationTimestamp")
                .and_then(Value::as_str),
        )
    },
};

/// Columns of kinds upstream prints without a dedicated printer.
pub const DEFAULT_COLUMNS: &[Column] = &[
    NAME,
    Column {
        name: "Created At",
        kind: "date",
        format: "",
        description: AGE_DESC,
        priority: 0,
        cell: |o| {
            o.pointer("/metadata/creationTimestamp")
                .cloned()
                .unwrap_or(Value::Null)
        },
    },
];

/// NAME and AGE only.
pub const NAME_AGE: &[Column] = &[NAME, AGE];

const fn col(
    name: &'static str,
    kind: &'static str,
    priority: u8,
    cell: fn(&Value) -> Value,
) -> Column {
    Column {
        name,
        kind,
        format: "",
        description: "",
        priority,
        cell,
    }
}

/// Namespaces.
pub const NAMESPACE: &[Column] = &[
    NAME,
    col("Status", "string", 0, |o| {
        json!(meta::str_at(o, "/status/phase"))
    }),
    AGE,
];

/// ConfigMaps.
pub const CONFIG_MAP: &[Column] = &[
    NAME,
    col("Data", "string", 0, |o| {
        json!(count_at(o, "/data") + count_at(o, "/binaryData"))
    }),
    AGE,
];

/// Secrets.
pub const SECRET: &[Column] = &[
    NAME,
    col("Type", "string", 0, |o| json!(meta::str_at(o, "/type"))),
    col("Data", "string", 0, |o| json!(count_at(o, "/data"))),
    AGE,
];

/// ServiceAccounts.
pub const SERVICE_ACCOUNT: &[Column] = &[
    NAME,
    col("Secrets", "string", 0, |o| json!(count_at(o, "/secrets"))),
    AGE,
];

fn ready_of(o: &Value, ready: &str, desired: &str) -> Value {
    json!(format!("{}/{}", int_at(o, ready), int_at(o, desired)))
}

/// Deployments.
pub const DEPLOYMENT: &[Column] = &[
    NAME,
    col("Ready", "string", 0, |o| {
        ready_of(o, "/status/readyReplicas", "/spec/replicas")
    }),
    col("Up-to-date", "string", 0, |o| {
        json!(int_at(o, "/status/updatedReplicas"))
    }),
    col("Available", "string", 0, |o| {
        json!(int_at(o, "/status/availableReplicas"))
    }),
    AGE,
    col("Containers", "string", 1, |o| {
        containers_and_images(o, "/spec/template/spec").0
    }),
    col("Images", "string", 1, |o| {
        containers_and_images(o, "/spec/template/spec").1
    }),
    col("Selector", "string", 1, |o| {
        json!(selector_text(o.pointer("/spec/selector")))
    }),
];

/// ReplicaSets and ReplicationControllers.
pub const REPLICA_SET: &[Column] = &[
    NAME,
    col("Desired", "integer", 0, |o| {
        json!(int_at(o, "/spec/replicas"))
    }),
    col("Current", "integer", 0, |o| {
        json!(int_at(o, "/status/replicas"))
    }),
    col("Ready", "integer", 0, |o| {
        json!(int_at(o, "/status/readyReplicas"))
    }),
    AGE,
    col("Containers", "string", 1, |o| {
        containers_and_images(o, "/spec/template/spec").0
    }),
    col("Images", "string", 1, |o| {
        containers_and_images(o, "/spec/template/spec").1
    }),
    col("Selector", "string", 1, |o| {
        json!(selector_text(o.pointer("/spec/selector")))
    }),
];

/// StatefulSets.
pub const STATEFUL_SET: &[Column] = &[
    NAME,
    col("Ready", "string", 0, |o| {
        ready_of(o, "/status/readyReplicas", "/spec/replicas")
    }),
    AGE,
    col("Containers", "string", 1, |o| {
        containers_and_images(o, "/spec/template/spec").0
    }),
    col("Images", "string", 1, |o| {
        containers_and_images(o, "/spec/template/spec").1
    }),
];

/// DaemonSets.
pub const DAEMON_SET: &[Column] = &[
    NAME,
    col("Desired", "integer", 0, |o| {
        json!(int_at(o, "/status/desiredNumberScheduled"))
    }),
    col("Current", "integer", 0, |o| {
        json!(int_at(o, "/status/currentNumberScheduled"))
    }),
    col("Ready", "integer", 0, |o| {
        json!(int_at(o, "/status/numberReady"))
    }),
    col("Up-to-date", "integer", 0, |o| {
        json!(int_at(o, "/status/updatedNumberScheduled"))
    }),
    col("Available", "integer", 0, |o| {
        json!(int_at(o, "/status/numberAvailable"))
    }),
    col("Node Selector", "string", 0, |o| {
        json!(selector_text(o.pointer("/spec/template/spec/nodeSelector")))
    }),
    AGE,
    col("Containers", "string", 1, |o| {
        containers_and_images(o, "/spec/template/spec").0
    }),
    col("Images", "string", 1, |o| {
        containers_and_images(o, "/spec/template/spec").1
    }),
    col("Selector", "string", 1, |o| {
        json!(selector_text(o.pointer("/spec/selector")))
    }),
];

fn service_external_ip(o: &Value) -> Value {
    let kind = meta::str_at(o, "/spec/type");
    let external: Vec<&str> = o
        .pointer("/spec/externalIPs")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let text = match kind {
        "ExternalName" => meta::str_at(o, "/spec/externalName").to_owned(),
        "LoadBalancer" => {
            let ingress: Vec<&str> = o
                .pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|i| {
                            i.get("ip")
                                .or_else(|| i.get("hostname"))
                                .and_then(Value::as_str)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let all: Vec<&str> = ingress
                .into_iter()
                .chain(external.iter().copied())
                .collect();
            if all.is_empty() {
                "<pending>".to_owned()
            } else {
                all.join(",")
            }
        }
        _ if !external.is_empty() => external.join(","),
        _ => "<none>".to_owned(),
    };
    json!(text)
}

fn service_ports(o: &Value) -> Value {
    let ports = o.pointer("/spec/ports").and_then(Value::as_array);
    let parts: Vec<String> = ports
        .map(|ports| {
            ports
                .iter()
                .map(|p| {
                    let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
                    let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                    match p.get("nodePort").and_then(Value::as_i64) {
                        Some(np) => format!("{port}:{np}/{proto}"),
                        None => format!("{port}/{proto}"),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    json!(if parts.is_empty() {
        "<none>".to_owned()
    } else {
        parts.join(",")
    })
}

/// Services.
pub const SERVICE: &[Column] = &[
    NAME,
    col("Type", "string", 0, |o| {
        json!(meta::str_at(o, "/spec/type"))
    }),
    col("Cluster-IP", "string", 0, |o| {
        str_or_none(o, "/spec/clusterIP")
    }),
    col("External-IP", "string", 0, service_external_ip),
    col("Port(s)", "string", 0, service_ports),
    AGE,
    col("Selector", "string", 1, |o| {
        json!(selector_text(o.pointer("/spec/selector")))
    }),
];

fn pod_ready(o: &Value) -> Value {
    let total = count_at(o, "/spec/containers");
    let ready = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map(|s| {
            s.iter()
                .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
                .count()
        })
        .unwrap_or(0);
    json!(format!("{ready}/{total}"))
}

fn pod_status(o: &Value) -> Value {
    let mut reason = match meta::str_at(o, "/status/reason") {
        "" => meta::str_at(o, "/status/phase").to_owned(),
        r => r.to_owned(),
    };
    let statuses = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    for c in statuses.into_iter().flatten().rev() {
        if let Some(r) = c
            .pointer("/state/waiting/reason")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
        {
            reason = r.to_owned();
        } else if let Some(t) = c.pointer("/state/terminated") {
            reason = match t.get("reason").and_then(Value::as_str) {
                Some(r) if !r.is_empty() => r.to_owned(),
                _ => format!(
                    "ExitCode:{}",
                    t.get("exitCode").and_then(Value::as_i64).unwrap_or(0)
                ),
            };
        }
    }
    if meta::is_deleting(o) {
        reason = if meta::str_at(o, "/status/reason") == "NodeLost" {
            "Unknown".into()
        } else {
            "Terminating".into()
        };
    }
    json!(if reason.is_empty() {
        "Pending".to_owned()
    } else {
        reason
    })
}

fn pod_restarts(o: &Value) -> Value {
    let restarts: i64 = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map(|s| {
            s.iter()
                .map(|c| c.get("restartCount").and_then(Value::as_i64).unwrap_or(0))
                .sum()
        })
        .unwrap_or(0);
    json!(restarts.to_string())
}

/// Pods.
pub const POD: &[Column] = &[
    NAME,
    col("Ready", "string", 0, pod_ready),
    col("Status", "string", 0, pod_status),
    col("Restarts", "string", 0, pod_restarts),
    AGE,
    col("IP", "string", 1, |o| str_or_none(o, "/status/podIP")),
    col("Node", "string", 1, |o| str_or_none(o, "/spec/nodeName")),
    col("Nominated Node", "string", 1, |o| {
        str_or_none(o, "/status/nominatedNodeName")
    }),
    col("Readiness Gates", "string", 1, |o| {
        let gates = count_at(o, "/spec/readinessGates");
        json!(if gates == 0 {
            "<none>".to_owned()
        } else {
            format!("0/{gates}")
        })
    }),
];
