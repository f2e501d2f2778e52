//! What one object is charged, per kind, after upstream's quota evaluators
//! (`pkg/quota/v1/evaluator/core`): the resource names each evaluator answers for, and the
//! usage of one pod, Service or PersistentVolumeClaim.

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Service};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use rudder_quantity::list::{self, ResourceList};
use rudder_quantity::{pod_limits, pod_requests, Format, Quantity};

/// The suffix of names charged per StorageClass: `<class>.storageclass.storage.k8s.io/<name>`.
pub const STORAGE_CLASS_SUFFIX: &str = ".storageclass.storage.k8s.io/";

/// Names the pod evaluator answers for besides the hugepages and extended resources.
const POD_RESOURCES: &[&str] = &[
    "count/pods",
    "pods",
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
];

/// Names the Service evaluator answers for.
const SERVICE_RESOURCES: &[&str] = &[
    "count/services",
    "services",
    "services.nodeports",
    "services.loadbalancers",
];

/// Names the PersistentVolumeClaim evaluator answers for (also per StorageClass).
const PVC_RESOURCES: &[&str] = &["persistentvolumeclaims", "requests.storage"];

/// The object-count name of the PersistentVolumeClaim evaluator.
const PVC_COUNT: &str = "count/persistentvolumeclaims";

/// Legacy names counting objects, and their `count/` equivalents.
const LEGACY_COUNTS: &[(&str, &str)] = &[
    ("configmaps", "count/configmaps"),
    ("secrets", "count/secrets"),
    ("replicationcontrollers", "count/replicationcontrollers"),
    ("resourcequotas", "count/resourcequotas"),
];

/// An evaluator: the kind of object a quota name is charged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evaluator {
    /// Pods: object count and compute resources.
    Pods,
    /// Services: count, node ports and load balancers.
    Services,
    /// PersistentVolumeClaims: count and storage, also per StorageClass.
    PersistentVolumeClaims,
    /// Any other kind: the number of objects.
    ObjectCount,
}

/// Which evaluator charges the quota name `name`, if any.
pub fn evaluator_for(name: &str) -> Option<Evaluator> {
    if POD_RESOURCES.contains(&name) || is_pod_prefixed(name) {
        Some(Evaluator::Pods)
    } else if SERVICE_RESOURCES.contains(&name) {
        Some(Evaluator::Services)
    } else if name == PVC_COUNT
        || PVC_RESOURCES.contains(&name)
        || PVC_RESOURCES
            .iter()
            .any(|r| name.ends_with(&format!("{STORAGE_CLASS_SUFFIX}{r}")))
    {
        Some(Evaluator::PersistentVolumeClaims)
    } else if count_resource(name).is_some() {
        Some(Evaluator::ObjectCount)
    } else {
        None
    }
}

/// The `<resource>[.<group>]` an object-count name counts (`count/deployments.apps`,
/// `configmaps`).
pub fn count_resource(name: &str) -> Option<&str> {
    if let Some((_, counted)) = LEGACY_COUNTS.iter().find(|(legacy, _)| *legacy == name) {
        return counted.strip_prefix("count/");
    }
    name.strip_prefix("count/").filter(|r| !r.is_empty())
}

/// Hugepages and extended resources, which the pod evaluator charges by prefix.
fn is_pod_prefixed(name: &str) -> bool {
    name.starts_with("hugepages-")
        || name.starts_with("requests.hugepages-")
        || name
            .strip_prefix("requests.")
            .is_some_and(is_extended_resource)
}

/// An extended resource: a domain-qualified name outside `kubernetes.io`.
fn is_extended_resource(name: &str) -> bool {
    name.split_once('/').is_some_and(|(domain, _)| {
        !domain.is_empty() && domain != "kubernetes.io" && !domain.ends_with(".kubernetes.io")
    }) && !name.starts_with("requests.")
}

fn one() -> Quantity {
    Quantity::new(1, Format::DecimalSi)
}

/// Whether a pod still counts for compute resources (upstream's `QuotaV1Pod`): not in a
/// terminal phase, and not past its deletion grace period.
pub fn pod_counts_for_compute(pod: &Pod, now: Timestamp) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded" | "Failed")) {
        return false;
    }
    match (
        &pod.metadata.deletion_timestamp,
        pod.metadata.deletion_grace_period_seconds,
    ) {
        (Some(at), Some(grace)) => {
            let end = at.0.saturating_add(SignedDuration::from_secs(grace));
            end.map_or(true, |end| now <= end)
        }
        _ => true,
    }
}

/// What one pod is charged: `count/pods` always, and the pod count and its requests and
/// limits while it counts for compute.
pub fn pod_usage(pod: &Pod, now: Timestamp) -> ResourceList {
    let mut usage = ResourceList::from([("count/pods".to_owned(), one())]);
    if !pod_counts_for_compute(pod, now) {
        return usage;
    }
    usage.insert("pods".to_owned(), one());
    let requests = pod_requests(pod);
    let limits = pod_limits(pod);
    for name in ["cpu", "memory", "ephemeral-storage"] {
        if let Some(q) = requests.get(name) {
            usage.insert(name.to_owned(), *q);
            usage.insert(format!("requests.{name}"), *q);
        }
        if let Some(q) = limits.get(name) {
            usage.insert(format!("limits.{name}"), *q);
        }
    }
    for (name, q) in &requests {
        if name.starts_with("hugepages-") {
            usage.insert(name.clone(), *q);
            usage.insert(format!("requests.{name}"), *q);
        }
        if is_extended_resource(name) {
            usage.insert(format!("requests.{name}"), *q);
        }
    }
    usage
}

/// What one Service is charged: counts, and node ports and a load balancer by type.
pub fn service_usage(service: &Service) -> ResourceList {
    let spec = service.spec.as_ref();
    let ports = spec.and_then(|s| s.ports.as_ref()).map_or(0, Vec::len);
    let with_node_ports = spec
        .and_then(|s| s.ports.as_ref())
        .map_or(0, |ps| ps.iter().filter(|p| p.node_port.is_some()).count());
    let count = |n: usize| Quantity::new(i64::try_from(n).unwrap_or(i64::MAX), Format::DecimalSi);
    let (node_ports, load_balancers) = match spec.and_then(|s| s.type_.as_deref()) {
        Some("NodePort") => (ports, 0),
        Some("LoadBalancer") => {
            let allocate = spec.and_then(|s| s.allocate_load_balancer_node_ports);
            let node_ports = if allocate == Some(false) {
                with_node_ports
            } else {
                ports
            };
            (node_ports, 1)
        }
        _ => (0, 0),
    };
    ResourceList::from([
        ("count/services".to_owned(), one()),
        ("services".to_owned(), one()),
        ("services.nodeports".to_owned(), count(node_ports)),
        ("services.loadbalancers".to_owned(), count(load_balancers)),
    ])
}

/// The StorageClass a claim names (the field, or the beta annotation).
pub fn claim_class(pvc: &PersistentVolumeClaim) -> Option<&str> {
    pvc.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("volume.beta.kubernetes.io/storage-class"))
        .map(String::as_str)
        .or_else(|| pvc.spec.as_ref()?.storage_class_name.as_deref())
        .filter(|c| !c.is_empty())
}

/// The storage a claim is billed for: its request rounded up to whole bytes, or the
/// allocated amount when that is larger.
fn billed_storage(pvc: &PersistentVolumeClaim) -> Option<Quantity> {
    let storage = |l: Option<&std::collections::BTreeMap<String, _>>| {
        l.map(list::parse)
            .and_then(|l: ResourceList| l.get("storage").copied())
    };
    let requested = storage(
        pvc.spec
            .as_ref()
            .and_then(|s| s.resources.as_ref())
            .and_then(|r| r.requests.as_ref()),
    )?;
    let allocated = storage(
        pvc.status
            .as_ref()
            .and_then(|s| s.allocated_resources.as_ref()),
    );
    let billed = allocated.filter(|a| *a > requested).unwrap_or(requested);
    Some(Quantity::new(billed.value(), billed.format()))
}

/// What one PersistentVolumeClaim is charged: counts and storage, also under its class.
pub fn pvc_usage(pvc: &PersistentVolumeClaim) -> ResourceList {
    let mut usage = ResourceList::from([
        ("persistentvolumeclaims".to_owned(), one()),
        (PVC_COUNT.to_owned(), one()),
    ]);
    let class = claim_class(pvc);
    if let Some(class) = class {
        usage.insert(
            format!("{class}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"),
            one(),
        );
    }
    if let Some(storage) = billed_storage(pvc) {
        usage.insert("requests.storage".to_owned(), storage);
        if let Some(class) = class {
            usage.insert(
                format!("{class}{STORAGE_CLASS_SUFFIX}requests.storage"),
                storage,
            );
        }
    }
    usage
}

#[cfg(test)]
#[path = "usage_tests.rs"]
mod tests;
