//! The EndpointSlice controller's decision core, without I/O: the endpoints a Service's
//! pods make (with ready/serving/terminating conditions, node, zone, hostname), grouped by
//! the ports they resolve to, and the fewest slice writes that bring the Service's existing
//! slices there: endpoints stay in the slice that has them, new ones fill slices with room
//! (at most [`MAX_ENDPOINTS`] each) before new slices are made, emptied slices go.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ObjectReference, Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::ObjectMeta;
use kube::ResourceExt;

use crate::endpoint::decision::{rfc3339, HEADLESS, TRIGGER_TIME};
use crate::endpoint::pods;

/// The label naming a slice's Service.
pub const SERVICE_NAME: &str = "kubernetes.io/service-name";
/// The label naming a slice's manager.
pub const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// This controller's value of [`MANAGED_BY`].
pub const CONTROLLER_NAME: &str = "endpointslice-controller.k8s.io";
/// The most endpoints one slice holds (upstream's default `--max-endpoints-per-slice`).
pub const MAX_ENDPOINTS: usize = 100;
/// The node label giving an endpoint's zone.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// One port of a slice, ordered so that port sets can key a map.
type PortKey = (Option<String>, Option<i32>, Option<String>, Option<String>);

fn port_key(p: &EndpointPort) -> PortKey {
    (
        p.name.clone(),
        p.port,
        p.protocol.clone(),
        p.app_protocol.clone(),
    )
}

fn endpoint_port((name, port, protocol, app_protocol): PortKey) -> EndpointPort {
    EndpointPort {
        name,
        port,
        protocol,
        app_protocol,
    }
}

/// The writes that bring a Service's slices to what its pods make.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Plan {
    /// Slices to create (named by `generateName`).
    pub create: Vec<EndpointSlice>,
    /// Slices to update, with the resourceVersion they were read at.
    pub update: Vec<EndpointSlice>,
    /// Names of slices to delete.
    pub delete: Vec<String>,
}

impl Plan {
    /// Whether nothing needs writing.
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

/// The endpoint of `pod` (address `ip`) in `service`'s slices; `zones` maps node names to
/// their zone.
fn endpoint(pod: &Pod, service: &Service, ip: &str, zones: &BTreeMap<String, String>) -> Endpoint {
    let publish_not_ready = service
        .spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false);
    let serving = pods::is_ready(pod);
    let terminating = pods::is_terminating(pod);
    let ready = publish_not_ready || (serving && !terminating);
    let node_name = pod.spec.as_ref().and_then(|s| s.node_name.clone());
    Endpoint {
        addresses: vec![ip.to_owned()],
        conditions: Some(EndpointConditions {
            ready: Some(ready),
            serving: Some(serving),
            terminating: Some(terminating),
        }),
        hostname: pods::hostname(pod, service).map(str::to_owned),
        zone: node_name.as_ref().and_then(|n| zones.get(n)).cloned(),
        node_name,
        target_ref: Some(ObjectReference {
            kind: Some("Pod".to_owned()),
            namespace: pod.namespace(),
            name: Some(pod.name_any()),
            uid: pod.metadata.uid.clone(),
            ..ObjectReference::default()
        }),
        ..Endpoint::default()
    }
}

/// The endpoints `pods` make, by the set of ports they resolve to, each set's endpoints by
/// address. Pods without an IPv4 address, finished, or not selected are left out;
/// terminating pods stay with their conditions saying so.
pub fn desired_endpoints(
    service: &Service,
    pods: &[&Pod],
    zones: &BTreeMap<String, String>,
) -> BTreeMap<Vec<PortKey>, BTreeMap<String, Endpoint>> {
    let ports = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.clone())
        .unwrap_or_default();
    let mut out: BTreeMap<Vec<PortKey>, BTreeMap<String, Endpoint>> = BTreeMap::new();
    for pod in pods {
        let Some(ip) = pods::ip(pod).filter(|ip| !ip.contains(':')) else {
            continue;
        };
        if !pods::belongs_in_endpoints(pod, true) {
            continue;
        }
        let key: Vec<PortKey> = ports
            .iter()
            .filter_map(|p| {
                let number = pods::target_port(pod, p)?;
                Some((
                    p.name.clone(),
                    Some(number),
                    Some(p.protocol.clone().unwrap_or_else(|| "TCP".to_owned())),
                    p.app_protocol.clone(),
                ))
            })
            .collect();
        out.entry(key)
            .or_default()
            .insert(ip.to_owned(), endpoint(pod, service, ip, zones));
    }
    out
}

/// The labels of `service`'s slices: its own, the headless marker, and ours.
pub fn labels(service: &Service) -> BTreeMap<String, String> {
    let mut labels = service.labels().clone();
    labels.remove(HEADLESS);
    if pods::is_headless(service) {
        labels.insert(HEADLESS.to_owned(), String::new());
    }
    labels.insert(SERVICE_NAME.to_owned(), service.name_any());
    labels.insert(MANAGED_BY.to_owned(), CONTROLLER_NAME.to_owned());
    labels
}

/// A new, empty slice of `service` for the ports `key`.
fn new_slice(service: &Service, key: &[PortKey]) -> EndpointSlice {
    let owner = OwnerReference {
        api_version: "v1".to_owned(),
        kind: "Service".to_owned(),
        name: service.name_any(),
        uid: service.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", service.name_any())),
            namespace: service.namespace(),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        address_type: "IPv4".to_owned(),
        endpoints: Vec::new(),
        ports: Some(key.iter().cloned().map(endpoint_port).collect()),
    }
}

/// A slice being planned, and whether it needs writing.
struct Draft {
    slice: EndpointSlice,
    changed: bool,
    new: bool,
}

/// The writes that turn `existing` (this Service's slices, as managed by us) into slices
/// holding `desired`, stamped with `labels` and the trigger time annotation `trigger`.
pub fn plan(
    service: &Service,
    mut desired: BTreeMap<Vec<PortKey>, BTreeMap<String, Endpoint>>,
    existing: &[EndpointSlice],
    trigger: Option<k8s_openapi::jiff::Timestamp>,
) -> Plan {
    let labels = labels(service);
    // A Service with no endpoints keeps one empty placeholder slice without ports.
    let placeholder = desired.values().all(BTreeMap::is_empty);
    if placeholder {
        desired = BTreeMap::from([(Vec::new(), BTreeMap::new())]);
    }
    let mut plan = Plan::default();
    let mut drafts: BTreeMap<Vec<PortKey>, Vec<Draft>> = BTreeMap::new();
    for slice in existing {
        let key: Vec<PortKey> = slice.ports.iter().flatten().map(port_key).collect();
        let Some(wanted) = desired.get_mut(&key) else {
            plan.delete.push(slice.name_any());
            continue;
        };
        let mut draft = Draft {
            changed: slice.labels() != &labels,
            slice: slice.clone(),
            new: false,
        };
        let mut kept = Vec::with_capacity(slice.endpoints.len());
        for ep in &slice.endpoints {
            match ep.addresses.first().and_then(|a| wanted.remove(a)) {
                Some(want) => {
                    draft.changed |= &want != ep;
                    kept.push(want);
                }
                None => draft.changed = true,
            }
        }
        draft.slice.endpoints = kept;
        drafts.entry(key).or_default().push(draft);
    }
    for (key, wanted) in desired {
        let slices = drafts.entry(key.clone()).or_default();
        // Slices already being written take new endpoints first.
        slices.sort_by_key(|d| !d.changed);
        let mut remaining = wanted.into_values();
        for draft in slices.iter_mut() {
            while draft.slice.endpoints.len() < MAX_ENDPOINTS {
                let Some(ep) = remaining.next() else { break };
                draft.slice.endpoints.push(ep);
                draft.changed = true;
            }
        }
        let rest: Vec<Endpoint> = remaining.collect();
        for chunk in rest.chunks(MAX_ENDPOINTS) {
            let mut slice = new_slice(service, &key);
            slice.endpoints = chunk.to_vec();
            slices.push(Draft {
                slice,
                changed: true,
                new: true,
            });
        }
        if placeholder && slices.is_empty() {
            slices.push(Draft {
                slice: new_slice(service, &key),
                changed: true,
                new: true,
            });
        }
    }
    for (_, slices) in drafts {
        let mut kept_placeholder = false;
        for mut draft in slices {
            let empty = draft.slice.endpoints.is_empty();
            if empty && !draft.new && (!placeholder || kept_placeholder) {
                plan.delete.push(draft.slice.name_any());
                continue;
            }
            kept_placeholder |= draft.slice.endpoints.is_empty();
            if !draft.changed {
                continue;
            }
            let meta = &mut draft.slice.metadata;
            meta.labels = Some(labels.clone());
            let annotations = meta.annotations.get_or_insert_with(BTreeMap::new);
            match trigger {
                Some(at) => annotations.insert(TRIGGER_TIME.to_owned(), rfc3339(at)),
                None => annotations.remove(TRIGGER_TIME),
            };
            if draft.new {
                plan.create.push(draft.slice);
            } else {
                plan.update.push(draft.slice);
            }
        }
    }
    plan
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
