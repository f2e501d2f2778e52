//! The Endpoints controller's decision core, without I/O: the Endpoints a Service's
//! selected pods make, and whether the stored one needs writing.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod, Service,
};
use k8s_openapi::jiff::Timestamp;
use kube::api::ObjectMeta;
use kube::ResourceExt;

use super::pods;

/// The annotation recording when the change behind the endpoints happened.
pub const TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";
/// The label marking the endpoints of a headless Service.
pub const HEADLESS: &str = "service.kubernetes.io/headless";

/// The address of `pod` in `service`'s endpoints.
fn address(pod: &Pod, service: &Service, ip: &str) -> EndpointAddress {
    EndpointAddress {
        ip: ip.to_owned(),
        hostname: pods::hostname(pod, service).map(str::to_owned),
        node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        target_ref: Some(ObjectReference {
            kind: Some("Pod".to_owned()),
            namespace: pod.namespace(),
            name: Some(pod.name_any()),
            uid: pod.metadata.uid.clone(),
            ..ObjectReference::default()
        }),
    }
}

/// One port of a subset, ordered so that subsets sort by their ports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct PortKey {
    name: String,
    port: i32,
    protocol: String,
    app_protocol: Option<String>,
}

impl PortKey {
    fn endpoint_port(self) -> EndpointPort {
        EndpointPort {
            name: Some(self.name).filter(|n| !n.is_empty()),
            port: self.port,
            protocol: Some(self.protocol),
            app_protocol: self.app_protocol,
        }
    }
}

/// Ready and not-ready addresses, by IP.
type Addresses = (
    BTreeMap<String, EndpointAddress>,
    BTreeMap<String, EndpointAddress>,
);

/// The subsets `pods` make for `service`: every pod with an IP that belongs in endpoints,
/// ready (or any, with `publishNotReadyAddresses`) in `addresses`, the others in
/// `notReadyAddresses`; repacked as upstream, so ports served by the same addresses share
/// one subset; sorted by ports, addresses by IP.
pub fn subsets(service: &Service, pods: &[&Pod]) -> Vec<EndpointSubset> {
    let spec = service.spec.clone().unwrap_or_default();
    let publish_not_ready = spec.publish_not_ready_addresses.unwrap_or(false);
    let ports = spec.ports.unwrap_or_default();
    // A headless Service without ports still lists its addresses, with no ports.
    let portless = ports.is_empty() && pods::is_headless(service);
    let mut by_port: BTreeMap<Option<PortKey>, Addresses> = BTreeMap::new();
    for pod in pods {
        if !pods::belongs_in_endpoints(pod, publish_not_ready) {
            continue;
        }
        let Some(ip) = pods::ip(pod) else { continue };
        let ready = publish_not_ready || pods::is_ready(pod);
        let mut keys: Vec<Option<PortKey>> = Vec::new();
        if portless {
            keys.push(None);
        }
        for port in &ports {
            if let Some(number) = pods::target_port(pod, port) {
                keys.push(Some(PortKey {
                    name: port.name.clone().unwrap_or_default(),
                    port: number,
                    protocol: port.protocol.clone().unwrap_or_else(|| "TCP".to_owned()),
                    app_protocol: port.app_protocol.clone(),
                }));
            }
        }
        for key in keys {
            let entry = by_port.entry(key).or_default();
            let list = if ready { &mut entry.0 } else { &mut entry.1 };
            list.insert(ip.to_owned(), address(pod, service, ip));
        }
    }
    let mut repacked: Vec<(Addresses, Vec<PortKey>)> = Vec::new();
    for (key, addresses) in by_port {
        match repacked.iter_mut().find(|(a, _)| *a == addresses) {
            Some((_, keys)) => keys.extend(key),
            None => repacked.push((addresses, key.into_iter().collect())),
        }
    }
    repacked.sort_by(|a, b| a.1.cmp(&b.1));
    repacked
        .into_iter()
        .map(|((ready, not_ready), keys)| EndpointSubset {
            addresses: Some(ready.into_values().collect::<Vec<_>>()).filter(|a| !a.is_empty()),
            not_ready_addresses: Some(not_ready.into_values().collect::<Vec<_>>())
                .filter(|a| !a.is_empty()),
            ports: Some(
                keys.into_iter()
                    .map(PortKey::endpoint_port)
                    .collect::<Vec<_>>(),
            )
            .filter(|p| !p.is_empty()),
        })
        .collect()
}

/// The labels of a Service's Endpoints: the Service's, and the headless marker.
pub fn labels(service: &Service) -> BTreeMap<String, String> {
    let mut labels = service.labels().clone();
    labels.remove(HEADLESS);
    if pods::is_headless(service) {
        labels.insert(HEADLESS.to_owned(), String::new());
    }
    labels
}

/// The Endpoints to write for `service`, or `None` when `current` already says it (or
/// the Service has no selector, so its Endpoints are not ours).
pub fn desired(service: &Service, pods: &[&Pod], current: Option<&Endpoints>) -> Option<Endpoints> {
    pods::selector(service)?;
    let subsets = subsets(service, pods);
    let labels = labels(service);
    if let Some(current) = current {
        let same_subsets = current.subsets.clone().unwrap_or_default() == subsets;
        if same_subsets && current.labels() == &labels {
            return None;
        }
    }
    let mut annotations = current.map(|c| c.annotations().clone()).unwrap_or_default();
    match pods::trigger_time(service, pods) {
        Some(at) => annotations.insert(TRIGGER_TIME.to_owned(), rfc3339(at)),
        None => annotations.remove(TRIGGER_TIME),
    };
    Some(Endpoints {
        metadata: ObjectMeta {
            name: service.metadata.name.clone(),
            namespace: service.namespace(),
            labels: Some(labels),
            annotations: Some(annotations),
            resource_version: current.and_then(|c| c.metadata.resource_version.clone()),
            ..ObjectMeta::default()
        },
        subsets: Some(subsets),
    })
}

/// A timestamp as upstream writes it (RFC 3339, UTC, `Z`).
pub fn rfc3339(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
