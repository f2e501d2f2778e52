//! Columns of networking, discovery, coordination, scheduling, storage and RBAC kinds.

use serde_json::{json, Value};

use super::cells::{selector_text, with_more};
use super::common::{col, AGE, NAME};
use super::Column;
use crate::meta;

/// The HOSTS cell of an Ingress: three hosts at most, `*` when no rule names one.
pub fn ingress_hosts(o: &Value) -> String {
    const MAX: usize = 3;
    let rules = o
        .pointer("/spec/rules")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let hosts: Vec<String> = rules
        .iter()
        .take(MAX)
        .filter_map(|r| r.get("host").and_then(Value::as_str))
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect();
    if hosts.is_empty() {
        return "*".to_owned();
    }
    if rules.len() > MAX {
        format!("{} + {} more...", hosts.join(","), rules.len() - MAX)
    } else {
        hosts.join(",")
    }
}

fn ingress_address(o: &Value) -> Value {
    let mut seen: Vec<&str> = Vec::new();
    for i in o
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let ip = i
            .get("ip")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let host = i.get("hostname").and_then(Value::as_str);
        if let Some(v) = ip.or(host).filter(|s| !s.is_empty()) {
            if !seen.contains(&v) {
                seen.push(v);
            }
        }
    }
    json!(seen.join(","))
}

/// Ingresses.
pub const INGRESS: &[Column] = &[
    NAME,
    col("Class", "string", 0, |o| {
        json!(o
            .pointer("/spec/ingressClassName")
            .and_then(Value::as_str)
            .unwrap_or("<none>"))
    }),
    col("Hosts", "string", 0, |o| json!(ingress_hosts(o))),
    col("Address", "string", 0, ingress_address),
    col("Ports", "string", 0, |o| {
        let tls = o
            .pointer("/spec/tls")
            .and_then(Value::as_array)
            .is_some_and(|t| !t.is_empty());
        json!(if tls { "80, 443" } else { "80" })
    }),
    AGE,
];

/// IngressClasses.
pub const INGRESS_CLASS: &[Column] = &[
    NAME,
    col("Controller", "string", 0, |o| {
        json!(meta::str_at(o, "/spec/controller"))
    }),
    col("Parameters", "string", 0, |o| {
        let Some(params) = o.pointer("/spec/parameters").filter(|p| p.is_object()) else {
            return json!("<none>");
        };
        let kind = meta::str_at(params, "/kind");
        let name = meta::str_at(params, "/name");
        json!(match params.get("apiGroup").and_then(Value::as_str) {
            Some(group) => format!("{kind}.{group}/{name}"),
            None => format!("{kind}/{name}"),
        })
    }),
    AGE,
];

/// NetworkPolicies.
pub const NETWORK_POLICY: &[Column] = &[
    NAME,
    col("Pod-Selector", "string", 0, |o| {
        json!(selector_text(Some(
            o.pointer("/spec/podSelector").unwrap_or(&json!({}))
        )))
    }),
    AGE,
];

/// Leases.
pub const LEASE: &[Column] = &[
    NAME,
    col("Holder", "string", 0, |o| {
        json!(meta::str_at(o, "/spec/holderIdentity"))
    }),
    AGE,
];

/// The PORTS cell of an EndpointSlice: port numbers (or names, or `*`), three at most.
pub fn slice_ports(o: &Value) -> String {
    let ports = o
        .pointer("/ports")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let shown: Vec<String> = ports
        .iter()
        .take(3)
        .map(
            |p| match (p.get("port").and_then(Value::as_i64), p.get("name")) {
                (Some(n), _) => n.to_string(),
                (None, Some(Value::String(name))) => name.clone(),
                _ => "*".to_owned(),
            },
        )
        .collect();
    with_more(&shown, ports.len(), 3, "<unset>")
}

/// The ENDPOINTS cell of an EndpointSlice: addresses, three at most.
pub fn slice_endpoints(o: &Value) -> String {
    let addresses: Vec<String> = o
        .pointer("/endpoints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|e| {
            e.get("addresses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    let shown: Vec<String> = addresses.iter().take(3).cloned().collect();
    with_more(&shown, addresses.len(), 3, "<unset>")
}

/// EndpointSlices.
pub const ENDPOINT_SLICE: &[Column] = &[
    NAME,
    col("AddressType", "string", 0, |o| {
        json!(meta::str_at(o, "/addressType"))
    }),
    col("Ports", "string", 0, |o| json!(slice_ports(o))),
    col("Endpoints", "string", 0, |o| json!(slice_endpoints(o))),
    AGE,
];

/// PriorityClasses.
pub const PRIORITY_CLASS: &[Column] = &[
    NAME,
    col("Value", "integer", 0, |o| {
        json!(o.get("value").and_then(Value::as_i64).unwrap_or(0))
    }),
    col("Global-Default", "boolean", 0, |o| {
        json!(o
            .get("globalDefault")
            .and_then(Value::as_bool)
            .unwrap_or(false))
    }),
    AGE,
    col("PreemptionPolicy", "string", 0, |o| {
        json!(meta::str_at(o, "/preemptionPolicy"))
    }),
];

fn is_default_class(o: &Value) -> bool {
    [
        "/metadata/annotations/storageclass.kubernetes.io~1is-default-class",
        "/metadata/annotations/storageclass.beta.kubernetes.io~1is-default-class",
    ]
    .iter()
    .any(|p| o.pointer(p).and_then(Value::as_str) == Some("true"))
}

/// StorageClasses.
pub const STORAGE_CLASS: &[Column] = &[
    Column {
        cell: |o| {
            if is_default_class(o) {
                json!(format!("{} (default)", meta::name(o)))
            } else {
                json!(meta::name(o))
            }
        },
        ..NAME
    },
    col("Provisioner", "string", 0, |o| {
        json!(meta::str_at(o, "/provisioner"))
    }),
    col("ReclaimPolicy", "string", 0, |o| {
        json!(o
            .get("reclaimPolicy")
            .and_then(Value::as_str)
            .unwrap_or("Delete"))
    }),
    col("VolumeBindingMode", "string", 0, |o| {
        json!(o
            .get("volumeBindingMode")
            .and_then(Value::as_str)
            .unwrap_or("Immediate"))
    }),
    col("AllowVolumeExpansion", "string", 0, |o| {
        json!(o
            .get("allowVolumeExpansion")
            .and_then(Value::as_bool)
            .unwrap_or(false))
    }),
    AGE,
];

/// The subjects of a binding of `kind`, joined as upstream prints them (`ns/name` for accounts).
pub fn subjects(o: &Value, kind: &str) -> String {
    o.get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|s| s.get("kind").and_then(Value::as_str) == Some(kind))
        .map(|s| {
            let name = meta::str_at(s, "/name");
            if kind == "ServiceAccount" {
                format!("{}/{name}", meta::str_at(s, "/namespace"))
            } else {
                name.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// RoleBindings and ClusterRoleBindings.
pub const ROLE_BINDING: &[Column] = &[
    NAME,
    col("Role", "string", 0, |o| {
        json!(format!(
            "{}/{}",
            meta::str_at(o, "/roleRef/kind"),
            meta::str_at(o, "/roleRef/name")
        ))
    }),
    AGE,
    col("Users", "string", 1, |o| json!(subjects(o, "User"))),
    col("Groups", "string", 1, |o| json!(subjects(o, "Group"))),
    col("ServiceAccounts", "string", 1, |o| {
        json!(subjects(o, "ServiceAccount"))
    }),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingress_hosts_fall_back_to_star_and_count_extra_rules() {
        assert_eq!(ingress_hosts(&json!({"spec": {"rules": [{}]}})), "*");
        let many = json!({"spec": {"rules": [
            {"host": "a"}, {"host": "b"}, {"host": "c"}, {"host": "d"}
        ]}});
        assert_eq!(ingress_hosts(&many), "a,b,c + 1 more...");
    }

    #[test]
    fn endpoint_slices_list_ports_and_addresses() {
        let slice = json!({
            "ports": [{"port": 80}, {"name": "metrics"}, {}],
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3", "10.0.0.4"]}]
        });
        assert_eq!(slice_ports(&slice), "80,metrics,*");
        assert_eq!(
            slice_endpoints(&slice),
            "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more..."
        );
        assert_eq!(slice_endpoints(&json!({})), "<unset>");
    }

    #[test]
    fn binding_subjects_group_by_kind() {
        let rb = json!({"subjects": [
            {"kind": "User", "name": "alice"},
            {"kind": "ServiceAccount", "name": "default", "namespace": "x"},
            {"kind": "User", "name": "bob"}
        ]});
        assert_eq!(subjects(&rb, "User"), "alice, bob");
        assert_eq!(subjects(&rb, "ServiceAccount"), "x/default");
        assert_eq!(subjects(&rb, "Group"), "");
    }
}
