//! Resource lists (`requests`, `limits`, a quota's `hard` and `used`) and the arithmetic
//! upstream's `quota/v1` and `resourcehelper` packages do on them.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;

use crate::Quantity;

/// Quantities by resource name, parsed.
pub type ResourceList = BTreeMap<String, Quantity>;

/// Parses a wire resource list; malformed entries (which validation rejects) are left out.
pub fn parse(list: &BTreeMap<String, WireQuantity>) -> ResourceList {
    list.iter()
        .filter_map(|(name, q)| Some((name.clone(), Quantity::from_wire(q).ok()?)))
        .collect()
}

/// A resource list in canonical wire form.
pub fn to_wire(list: &ResourceList) -> BTreeMap<String, WireQuantity> {
    list.iter().map(|(k, v)| (k.clone(), v.to_wire())).collect()
}

/// Adds every entry of `other` to `into` (upstream's `quota.Add`).
pub fn add(into: &mut ResourceList, other: &ResourceList) {
    for (name, q) in other {
        *into.entry(name.clone()).or_default() += q;
    }
}

/// Raises every entry of `into` to at least the one in `other`.
fn max(into: &mut ResourceList, other: &ResourceList) {
    for (name, q) in other {
        let entry = into.entry(name.clone()).or_insert(*q);
        if q > entry {
            *entry = *q;
        }
    }
}

/// Keeps only the entries named in `names` (upstream's `quota.Mask`).
pub fn mask<'a>(list: &ResourceList, names: impl IntoIterator<Item = &'a String>) -> ResourceList {
    names
        .into_iter()
        .filter_map(|name| Some((name.clone(), *list.get(name)?)))
        .collect()
}

/// Whether both lists hold the same names with equal values (upstream's `quota.Equals`).
pub fn equals(a: &ResourceList, b: &ResourceList) -> bool {
    a.len() == b.len() && a.iter().all(|(k, v)| b.get(k) == Some(v))
}

fn requests_of(c: &Container) -> ResourceList {
    c.resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .map(parse)
        .unwrap_or_default()
}

fn limits_of(c: &Container) -> ResourceList {
    c.resources
        .as_ref()
        .and_then(|r| r.limits.as_ref())
        .map(parse)
        .unwrap_or_default()
}

/// A pod's effective amounts of one kind (requests or limits), as upstream's
/// `resourcehelper` sums them: all containers, restartable (sidecar) init containers added,
/// at least the largest ordinary init container together with the sidecars started before it,
/// plus the pod overhead.
fn effective(pod: &Pod, of: fn(&Container) -> ResourceList) -> ResourceList {
    let Some(spec) = pod.spec.as_ref() else {
        return ResourceList::new();
    };
    let mut total = ResourceList::new();
    for c in &spec.containers {
        add(&mut total, &of(c));
    }
    let mut sidecars = ResourceList::new();
    let mut init = ResourceList::new();
    for c in spec.init_containers.iter().flatten() {
        let own = of(c);
        if c.restart_policy.as_deref() == Some("Always") {
            add(&mut total, &own);
            add(&mut sidecars, &own);
            max(&mut init, &sidecars);
        } else {
            let mut with_sidecars = own;
            add(&mut with_sidecars, &sidecars);
            max(&mut init, &with_sidecars);
        }
    }
    max(&mut total, &init);
    if let Some(overhead) = spec.overhead.as_ref() {
        add(&mut total, &parse(overhead));
    }
    total
}

/// A pod's effective requests (upstream's `resourcehelper.PodRequests`).
pub fn pod_requests(pod: &Pod) -> ResourceList {
    effective(pod, requests_of)
}

/// A pod's effective limits (upstream's `resourcehelper.PodLimits`).
pub fn pod_limits(pod: &Pod) -> ResourceList {
    effective(pod, limits_of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(json!({ "spec": spec })).unwrap()
    }

    fn text(list: &ResourceList) -> BTreeMap<String, String> {
        list.iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect()
    }

    #[test]
    fn requests_sum_containers_and_take_the_largest_init_container() {
        let p = pod(json!({
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                {"name": "b", "resources": {"requests": {"cpu": "200m"}}},
            ],
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "1", "memory": "1Mi"}}}],
            "overhead": {"cpu": "10m"},
        }));
        let got = text(&pod_requests(&p));
        assert_eq!(got["cpu"], "1010m");
        assert_eq!(got["memory"], "64Mi");
    }

    #[test]
    fn sidecars_add_to_containers_and_to_later_init_containers() {
        let p = pod(json!({
            "containers": [{"name": "a", "resources": {"limits": {"cpu": "1"}}}],
            "initContainers": [
                {"name": "s", "restartPolicy": "Always", "resources": {"limits": {"cpu": "500m"}}},
                {"name": "i", "resources": {"limits": {"cpu": "1800m"}}},
            ],
        }));
        assert_eq!(text(&pod_limits(&p))["cpu"], "2300m");
    }

    #[test]
    fn mask_and_equals_follow_names() {
        let a: ResourceList = [("pods".to_owned(), Quantity::new(2, Default::default()))].into();
        let mut b = a.clone();
        b.insert("cpu".to_owned(), Quantity::default());
        assert!(!equals(&a, &b));
        assert!(equals(&a, &mask(&b, ["pods".to_owned()].iter())));
    }
}
