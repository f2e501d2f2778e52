//! One quota sync without I/O, after upstream's `CalculateUsage` and `syncResourceQuota`:
//! the usage of every resource the quota limits that an evaluator can measure, from the
//! namespace's objects, and the status to write when it changed.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, Pod, ResourceQuota, ResourceQuotaSpec, ResourceQuotaStatus, Service,
};
use k8s_openapi::jiff::Timestamp;
use rudder_quantity::list::{self, ResourceList};
use rudder_quantity::{Format, Quantity};

use super::scope;
use super::usage::{self, Evaluator};

/// The objects of one namespace a quota is computed from.
#[derive(Debug, Default, Clone)]
pub struct Inventory {
    /// The namespace's pods.
    pub pods: Vec<Arc<Pod>>,
    /// Its Services.
    pub services: Vec<Arc<Service>>,
    /// Its PersistentVolumeClaims.
    pub claims: Vec<Arc<PersistentVolumeClaim>>,
    /// Object counts by counted resource (`configmaps`, `deployments.apps`); a resource
    /// missing here could not be counted, and keeps its last observed usage.
    pub counts: BTreeMap<String, i64>,
}

/// Sums `charge` over `items` that `matches`, starting from zero for each of `names`, and
/// keeps only `names`.
fn sum<T>(
    names: &[&String],
    items: &[Arc<T>],
    matches: impl Fn(&T) -> bool,
    charge: impl Fn(&T) -> ResourceList,
) -> ResourceList {
    let mut used: ResourceList = names
        .iter()
        .map(|n| ((*n).clone(), Quantity::default()))
        .collect();
    for item in items.iter().filter(|i| matches(i)) {
        list::add(&mut used, &charge(item));
    }
    list::mask(&used, names.iter().copied())
}

/// The usage of every resource in `hard` an evaluator measures (upstream's `CalculateUsage`).
pub fn usage(spec: &ResourceQuotaSpec, inventory: &Inventory, now: Timestamp) -> ResourceList {
    let names_of = |evaluator: Evaluator| -> Vec<&String> {
        spec.hard
            .iter()
            .flat_map(|h| h.keys())
            .filter(|n| usage::evaluator_for(n) == Some(evaluator))
            .collect()
    };
    let scoped = scope::is_scoped(spec);
    let mut used = ResourceList::new();
    let pods = names_of(Evaluator::Pods);
    if !pods.is_empty() {
        let charged = sum(
            &pods,
            &inventory.pods,
            |p| scope::pod_matches(spec, p),
            |p| usage::pod_usage(p, now),
        );
        list::add(&mut used, &charged);
    }
    let services = names_of(Evaluator::Services);
    if !services.is_empty() {
        let charged = sum(
            &services,
            &inventory.services,
            |_| !scoped,
            usage::service_usage,
        );
        list::add(&mut used, &charged);
    }
    let claims = names_of(Evaluator::PersistentVolumeClaims);
    if !claims.is_empty() {
        let charged = sum(&claims, &inventory.claims, |_| !scoped, usage::pvc_usage);
        list::add(&mut used, &charged);
    }
    for name in names_of(Evaluator::ObjectCount) {
        let counted = usage::count_resource(name).and_then(|r| inventory.counts.get(r));
        if let Some(count) = counted {
            let count = if scoped { 0 } else { *count };
            used.insert(name.clone(), Quantity::new(count, Format::DecimalSi));
        }
    }
    used
}

/// The status `quota` should have: `hard` from the spec, `used` recomputed (usage that could
/// not be measured keeps its last value), both limited to the names in `hard`. `None` when
/// the stored status already says so.
pub fn status(
    quota: &ResourceQuota,
    inventory: &Inventory,
    now: Timestamp,
) -> Option<ResourceQuotaStatus> {
    let spec = quota.spec.clone().unwrap_or_default();
    let hard = spec.hard.as_ref().map(list::parse).unwrap_or_default();
    let current = quota.status.as_ref();
    let old_hard = current.and_then(|s| s.hard.as_ref());
    let old_used = current.and_then(|s| s.used.as_ref());
    let old_used_parsed = old_used.map(list::parse).unwrap_or_default();
    let mut used = old_used_parsed.clone();
    used.extend(usage(&spec, inventory, now));
    let used = list::mask(&used, hard.keys());
    let dirty = old_hard.is_none()
        || old_used.is_none()
        || !list::equals(&old_hard.map(list::parse).unwrap_or_default(), &hard)
        || !list::equals(&old_used_parsed, &used);
    dirty.then(|| ResourceQuotaStatus {
        hard: Some(list::to_wire(&hard)),
        used: Some(list::to_wire(&used)),
    })
}

#[cfg(test)]
#[path = "calculate_tests.rs"]
mod tests;
