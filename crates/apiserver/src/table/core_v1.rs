//! Columns of the core/v1 kinds other than Pod.

use serde_json::{json, Value};

use super::cells::{
    containers_and_images, count_at, labels_text, str_or_none, strings_at, with_more,
};
use super::common::{col, AGE, NAME};
use super::Column;
use crate::meta;

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

fn load_balancer_ips(o: &Value, pointer: &str) -> Vec<String> {
    let mut ips: Vec<String> = Vec::new();
    for i in o
        .pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let ip = i
            .get("ip")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let host = i
            .get("hostname")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        if let Some(v) = ip.or(host) {
            if !ips.iter().any(|x| x == v) {
                ips.push(v.to_owned());
            }
        }
    }
    ips
}

/// The External-IP cell of a Service.
pub fn service_external_ip(o: &Value) -> Value {
    let external: Vec<String> = strings_at(o, "/spec/externalIPs")
        .into_iter()
        .map(str::to_owned)
        .collect();
    let text = match meta::str_at(o, "/spec/type") {
        "ClusterIP" | "NodePort" | "" if !external.is_empty() => external.join(","),
        "ClusterIP" | "NodePort" | "" => "<none>".to_owned(),
        "LoadBalancer" => {
            let mut all = load_balancer_ips(o, "/status/loadBalancer/ingress");
            all.extend(external);
            if all.is_empty() {
                "<pending>".to_owned()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => meta::str_at(o, "/spec/externalName").to_owned(),
        _ => "<unknown>".to_owned(),
    };
    json!(text)
}

fn service_ports(o: &Value) -> Value {
    let parts: Vec<String> = o
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(np) if np > 0 => format!("{port}:{np}/{proto}"),
                _ => format!("{port}/{proto}"),
            }
        })
        .collect();
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
        match o.pointer("/spec/clusterIPs/0").and_then(Value::as_str) {
            Some(ip) => json!(ip),
            None => str_or_none(o, "/spec/clusterIP"),
        }
    }),
    col("External-IP", "string", 0, service_external_ip),
    col("Port(s)", "string", 0, service_ports),
    AGE,
    col("Selector", "string", 1, |o| {
        json!(labels_text(o.pointer("/spec/selector")))
    }),
];

/// The ENDPOINTS cell: `ip:port` for every address and port, three at most, then `+ N more...`.
pub fn endpoints_text(o: &Value) -> String {
    const MAX: usize = 3;
    let subsets = o.pointer("/subsets").and_then(Value::as_array);
    let Some(subsets) = subsets.filter(|s| !s.is_empty()) else {
        return "<none>".to_owned();
    };
    let mut shown = Vec::new();
    let mut total = 0;
    for subset in subsets {
        let addresses: Vec<&str> = subset
            .get("addresses")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|a| a.get("ip").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        let ports = subset
            .get("ports")
            .and_then(Value::as_array)
            .filter(|p| !p.is_empty());
        match ports {
            None => {
                total += addresses.len();
                shown.extend(addresses.iter().map(|ip| (*ip).to_owned()));
            }
            Some(ports) => {
                for port in ports {
                    let number = port.get("port").and_then(Value::as_i64).unwrap_or(0);
                    total += addresses.len();
                    shown.extend(addresses.iter().map(|ip| {
                        if ip.contains(':') {
                            format!("[{ip}]:{number}")
                        } else {
                            format!("{ip}:{number}")
                        }
                    }));
                }
            }
        }
    }
    shown.truncate(MAX);
    with_more(&shown, total, MAX, "")
}

/// Endpoints.
pub const ENDPOINTS: &[Column] = &[
    NAME,
    col("Endpoints", "string", 0, |o| json!(endpoints_text(o))),
    AGE,
];

/// Access modes in their short forms (`RWO,ROX,RWX,RWOP`), in that order.
pub fn access_modes(o: &Value, pointer: &str) -> String {
    let modes = strings_at(o, pointer);
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(long, _)| modes.contains(long))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

fn storage_class(o: &Value) -> Value {
    let beta = o
        .pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
        .and_then(Value::as_str);
    json!(beta.unwrap_or_else(|| meta::str_at(o, "/spec/storageClassName")))
}

fn unset_or(o: &Value, pointer: &str) -> Value {
    match o.pointer(pointer).and_then(Value::as_str) {
        Some(s) => json!(s),
        None => json!("<unset>"),
    }
}

fn phase_or_terminating(o: &Value) -> Value {
    if meta::is_deleting(o) {
        json!("Terminating")
    } else {
        json!(meta::str_at(o, "/status/phase"))
    }
}

/// PersistentVolumes.
pub const PERSISTENT_VOLUME: &[Column] = &[
    NAME,
    col("Capacity", "string", 0, |o| {
        json!(meta::str_at(o, "/spec/capacity/storage"))
    }),
    col("Access Modes", "string", 0, |o| {
        json!(access_modes(o, "/spec/accessModes"))
    }),
    col("Reclaim Policy", "string", 0, |o| {
        json!(meta::str_at(o, "/spec/persistentVolumeReclaimPolicy"))
    }),
    col("Status", "string", 0, phase_or_terminating),
    col("Claim", "string", 0, |o| {
        if o.pointer("/spec/claimRef").is_some_and(Value::is_object) {
            json!(format!(
                "{}/{}",
                meta::str_at(o, "/spec/claimRef/namespace"),
                meta::str_at(o, "/spec/claimRef/name")
            ))
        } else {
            json!("")
        }
    }),
    col("StorageClass", "string", 0, storage_class),
    col("VolumeAttributesClass", "string", 0, |o| {
        unset_or(o, "/spec/volumeAttributesClassName")
    }),
    col("Reason", "string", 0, |o| {
        json!(meta::str_at(o, "/status/reason"))
    }),
    AGE,
    col("VolumeMode", "string", 1, |o| {
        unset_or(o, "/spec/volumeMode")
    }),
];

fn claim_bound<'a>(o: &Value, value: &'a str) -> &'a str {
    if meta::str_at(o, "/spec/volumeName").is_empty() {
        ""
    } else {
        value
    }
}

/// PersistentVolumeClaims.
pub const PERSISTENT_VOLUME_CLAIM: &[Column] = &[
    NAME,
    col("Status", "string", 0, phase_or_terminating),
    col("Volume", "string", 0, |o| {
        json!(meta::str_at(o, "/spec/volumeName"))
    }),
    col("Capacity", "string", 0, |o| {
        json!(claim_bound(o, meta::str_at(o, "/status/capacity/storage")))
    }),
    col("Access Modes", "string", 0, |o| {
        let modes = access_modes(o, "/status/accessModes");
        json!(claim_bound(o, &modes))
    }),
    col("StorageClass", "string", 0, storage_class),
    col("VolumeAttributesClass", "string", 0, |o| {
        unset_or(o, "/spec/volumeAttributesClassName")
    }),
    AGE,
    col("VolumeMode", "string", 1, |o| {
        unset_or(o, "/spec/volumeMode")
    }),
];

/// The Request and Limit cells of a ResourceQuota: `resource: used/hard`, sorted by resource.
pub fn quota_cells(o: &Value) -> (String, String) {
    let mut names: Vec<&String> = o
        .pointer("/status/hard")
        .and_then(Value::as_object)
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    names.sort();
    let (mut requests, mut limits) = (Vec::new(), Vec::new());
    for name in names {
        let quantity = |kind: &str| {
            o.pointer(&format!("/status/{kind}"))
                .and_then(|m| m.get(name.as_str()))
                .and_then(Value::as_str)
                .unwrap_or("0")
                .to_owned()
        };
        let text = format!("{name}: {}/{}", quantity("used"), quantity("hard"));
        if name.split('.').count() > 1 && name.starts_with("limits.") {
            limits.push(text);
        } else {
            requests.push(text);
        }
    }
    (requests.join(", "), limits.join(", "))
}

/// ResourceQuotas.
pub const RESOURCE_QUOTA: &[Column] = &[
    NAME,
    AGE,
    col("Request", "string", 0, |o| json!(quota_cells(o).0)),
    col("Limit", "string", 0, |o| json!(quota_cells(o).1)),
];

/// PodTemplates.
pub const POD_TEMPLATE: &[Column] = &[
    NAME,
    col("Containers", "string", 0, |o| {
        containers_and_images(o, "/template/spec").0
    }),
    col("Images", "string", 0, |o| {
        containers_and_images(o, "/template/spec").1
    }),
    col("Pod Labels", "string", 0, |o| {
        json!(labels_text(o.pointer("/template/metadata/labels")))
    }),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_list_three_then_count_the_rest() {
        let ep = json!({"subsets": [
            {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}, {"port": 443}]}
        ]});
        assert_eq!(
            endpoints_text(&ep),
            "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more..."
        );
        let headless = json!({"subsets": [{"addresses": [{"ip": "10.0.0.9"}]}]});
        assert_eq!(endpoints_text(&headless), "10.0.0.9");
        assert_eq!(endpoints_text(&json!({})), "<none>");
    }

    #[test]
    fn quota_splits_requests_from_limits() {
        let q = json!({"status": {
            "hard": {"pods": "10", "requests.cpu": "1", "limits.memory": "1Gi"},
            "used": {"pods": "2", "requests.cpu": "0"}
        }});
        assert_eq!(
            quota_cells(&q),
            (
                "pods: 2/10, requests.cpu: 0/1".to_owned(),
                "limits.memory: 0/1Gi".to_owned()
            )
        );
    }

    #[test]
    fn service_external_ip_depends_on_type() {
        let lb = json!({"spec": {"type": "LoadBalancer"}});
        assert_eq!(service_external_ip(&lb), json!("<pending>"));
        let name = json!({"spec": {"type": "ExternalName", "externalName": "db.example.com"}});
        assert_eq!(service_external_ip(&name), json!("db.example.com"));
        let cluster = json!({"spec": {"type": "ClusterIP"}});
        assert_eq!(service_external_ip(&cluster), json!("<none>"));
    }
}
