//! What the Endpoints and EndpointSlice controllers both read from pods, without I/O: which
//! Services select a pod, whether it belongs in endpoints, its readiness, the port a
//! Service port resolves to on it, and when its endpoint last changed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use k8s_openapi::api::core::v1::{Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::ResourceExt;

/// The Service's selector, when it has one (Services without one are not managed).
pub fn selector(service: &Service) -> Option<&BTreeMap<String, String>> {
    service.spec.as_ref().and_then(|s| s.selector.as_ref())
}

/// Whether `service`'s selector selects `pod` (same namespace, every selector label held).
pub fn selects(service: &Service, pod: &Pod) -> bool {
    let Some(selector) = selector(service) else {
        return false;
    };
    let labels = pod.labels();
    service.namespace() == pod.namespace() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The pod's `Ready` condition is `True`.
pub fn is_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some_and(|c| c.status == "True")
}

fn ready_condition(pod: &Pod) -> Option<&k8s_openapi::api::core::v1::PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

/// The pod is being deleted.
pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// The pod's primary IP, if it has one.
pub fn ip(pod: &Pod) -> Option<&str> {
    pod.status
        .as_ref()
        .and_then(|s| s.pod_ip.as_deref())
        .filter(|ip| !ip.is_empty())
}

/// Whether the pod has an endpoint at all: it has an IP, has not finished (phase Succeeded
/// or Failed), and is not being deleted unless `include_terminating`.
pub fn belongs_in_endpoints(pod: &Pod, include_terminating: bool) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    let terminal = matches!(phase, Some("Succeeded" | "Failed"));
    !terminal && ip(pod).is_some() && (include_terminating || !is_terminating(pod))
}

/// The container port `port` targets on `pod`: a number as is, a name looked up among
/// the pod's container ports of the same protocol.
pub fn target_port(pod: &Pod, port: &ServicePort) -> Option<i32> {
    let protocol = port.protocol.as_deref().unwrap_or("TCP");
    match &port.target_port {
        None => Some(port.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => {
            let spec = pod.spec.as_ref()?;
            let sidecars = spec.init_containers.iter().flatten();
            let sidecars = sidecars.filter(|c| c.restart_policy.as_deref() == Some("Always"));
            spec.containers
                .iter()
                .chain(sidecars)
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| {
                    p.name.as_deref() == Some(name.as_str())
                        && p.protocol.as_deref().unwrap_or("TCP") == protocol
                })
                .map(|p| p.container_port)
        }
    }
}

/// Whether the pod gets a hostname in the Service's endpoints: it names one and the
/// Service as its subdomain.
pub fn hostname<'a>(pod: &'a Pod, service: &Service) -> Option<&'a str> {
    let spec = pod.spec.as_ref()?;
    let hostname = spec.hostname.as_deref().filter(|h| !h.is_empty())?;
    let same = spec.subdomain.as_deref() == service.metadata.name.as_deref()
        && pod.namespace() == service.namespace();
    same.then_some(hostname)
}

/// Whether the Service is headless (`clusterIP: None`).
pub fn is_headless(service: &Service) -> bool {
    service.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

/// The value of `endpoints.kubernetes.io/last-change-trigger-time`: the latest change
/// behind the endpoints (a pod's readiness transition, or the Service's creation).
pub fn trigger_time(service: &Service, pods: &[&Pod]) -> Option<Timestamp> {
    let service_time = service.metadata.creation_timestamp.as_ref().map(|t| t.0);
    pods.iter()
        .filter_map(|p| {
            ready_condition(p)?
                .last_transition_time
                .as_ref()
                .map(|t| t.0)
        })
        .chain(service_time)
        .max()
}

/// Maps a changed pod to the Services to resync: those selecting it now and those that
/// selected it when last seen (so a pod relabelled away leaves their endpoints).
#[derive(Default)]
pub struct Membership {
    last: Mutex<HashMap<ObjectRef<Pod>, Vec<ObjectRef<Service>>>>,
}

impl Membership {
    /// The Services in `services` to resync after `pod` changed.
    pub fn services_for(&self, services: &Store<Service>, pod: &Pod) -> Vec<ObjectRef<Service>> {
        let now: Vec<ObjectRef<Service>> = services
            .state()
            .iter()
            .filter(|s| selects(s, pod))
            .map(|s| ObjectRef::from_obj(s.as_ref()))
            .collect();
        let key = ObjectRef::from_obj(pod);
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = last.remove(&key).unwrap_or_default();
        for s in &now {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        if !now.is_empty() && !is_terminating(pod) {
            last.insert(key, now);
        }
        out
    }
}

#[cfg(test)]
#[path = "pods_tests.rs"]
pub(crate) mod tests;
