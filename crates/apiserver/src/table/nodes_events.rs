//! Columns of Nodes and Events.

use serde_json::{json, Value};

use super::cells::int_at;
use super::common::{age_at, col, AGE, NAME};
use super::Column;
use crate::meta;

/// The STATUS cell of a Node: Ready / NotReady / Unknown, then SchedulingDisabled.
pub fn node_status(o: &Value) -> String {
    let ready = o
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| {
            c.iter()
                .rev()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
        });
    let mut status = vec![
        match ready.and_then(|c| c.get("status")).and_then(Value::as_str) {
            Some("True") => "Ready",
            Some(_) => "NotReady",
            None => "Unknown",
        },
    ];
    if o.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled");
    }
    status.join(",")
}

/// The ROLES cell of a Node, from `node-role.kubernetes.io/<role>` and `kubernetes.io/role`.
pub fn node_roles(o: &Value) -> String {
    let mut roles: Vec<&str> = meta::labels(o)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| match k.strip_prefix("node-role.kubernetes.io/") {
            Some(role) if !role.is_empty() => Some(role),
            Some(_) => None,
            None if k == "kubernetes.io/role" => v.as_str().filter(|v| !v.is_empty()),
            None => None,
        })
        .collect();
    roles.sort_unstable();
    roles.dedup();
    if roles.is_empty() {
        "<none>".to_owned()
    } else {
        roles.join(",")
    }
}

fn node_address(o: &Value, kind: &str) -> Value {
    let address = o
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|a| a.get("type").and_then(Value::as_str) == Some(kind))
        })
        .and_then(|a| a.get("address"))
        .and_then(Value::as_str);
    json!(address.unwrap_or("<none>"))
}

fn or_unknown(o: &Value, pointer: &str) -> Value {
    match meta::str_at(o, pointer) {
        "" => json!("<unknown>"),
        s => json!(s),
    }
}

/// Nodes.
pub const NODE: &[Column] = &[
    NAME,
    col("Status", "string", 0, |o| json!(node_status(o))),
    col("Roles", "string", 0, |o| json!(node_roles(o))),
    AGE,
    col("Version", "string", 0, |o| {
        json!(meta::str_at(o, "/status/nodeInfo/kubeletVersion"))
    }),
    col("Internal-IP", "string", 1, |o| {
        node_address(o, "InternalIP")
    }),
    col("External-IP", "string", 1, |o| {
        node_address(o, "ExternalIP")
    }),
    col("OS-Image", "string", 1, |o| {
        or_unknown(o, "/status/nodeInfo/osImage")
    }),
    col("Kernel-Version", "string", 1, |o| {
        or_unknown(o, "/status/nodeInfo/kernelVersion")
    }),
    col("Container-Runtime", "string", 1, |o| {
        or_unknown(o, "/status/nodeInfo/containerRuntimeVersion")
    }),
];

fn has_time(o: &Value, pointer: &str) -> bool {
    o.pointer(pointer)
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

fn event_first_seen(o: &Value) -> Value {
    if has_time(o, "/firstTimestamp") {
        age_at(o, "/firstTimestamp")
    } else {
        age_at(o, "/eventTime")
    }
}

fn event_last_seen(o: &Value) -> Value {
    if o.get("series").is_some_and(Value::is_object) {
        age_at(o, "/series/lastObservedTime")
    } else if has_time(o, "/lastTimestamp") {
        age_at(o, "/lastTimestamp")
    } else {
        event_first_seen(o)
    }
}

fn event_object(o: &Value) -> Value {
    let kind = meta::str_at(o, "/involvedObject/kind").to_lowercase();
    match meta::str_at(o, "/involvedObject/name") {
        "" => json!(kind),
        name => json!(format!("{kind}/{name}")),
    }
}

fn event_source(o: &Value) -> Value {
    let first = |a: &str, b: &str| {
        let v = meta::str_at(o, a);
        if v.is_empty() {
            meta::str_at(o, b).to_owned()
        } else {
            v.to_owned()
        }
    };
    let component = first("/source/component", "/reportingComponent");
    let host = first("/source/host", "/reportingInstance");
    json!(if host.is_empty() {
        component
    } else {
        format!("{component}, {host}")
    })
}

fn event_count(o: &Value) -> Value {
    let count = if o.get("series").is_some_and(Value::is_object) {
        int_at(o, "/series/count")
    } else {
        match int_at(o, "/count") {
            0 => 1,
            n => n,
        }
    };
    json!(count)
}

/// Events.
pub const EVENT: &[Column] = &[
    col("Last Seen", "string", 0, event_last_seen),
    col("Type", "string", 0, |o| json!(meta::str_at(o, "/type"))),
    col("Reason", "string", 0, |o| json!(meta::str_at(o, "/reason"))),
    col("Object", "string", 0, event_object),
    col("Subobject", "string", 1, |o| {
        json!(meta::str_at(o, "/involvedObject/fieldPath"))
    }),
    col("Source", "string", 1, event_source),
    col("Message", "string", 0, |o| {
        json!(meta::str_at(o, "/message").trim())
    }),
    col("First Seen", "string", 1, event_first_seen),
    col("Count", "string", 1, event_count),
    Column {
        priority: 1,
        ..NAME
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_status_reports_readiness_and_cordoning() {
        let node = json!({
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "False"}]}
        });
        assert_eq!(node_status(&node), "NotReady,SchedulingDisabled");
        let fresh = json!({"status": {}});
        assert_eq!(node_status(&fresh), "Unknown");
        let ready = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(node_status(&ready), "Ready");
    }

    #[test]
    fn node_roles_come_from_role_labels() {
        let node = json!({"metadata": {"labels": {
            "node-role.kubernetes.io/worker": "",
            "node-role.kubernetes.io/control-plane": "",
            "node-role.kubernetes.io/": "",
            "kubernetes.io/role": "edge",
            "other": "x"
        }}});
        assert_eq!(node_roles(&node), "control-plane,edge,worker");
        assert_eq!(node_roles(&json!({"metadata": {}})), "<none>");
    }
}
