//! Resource amounts as the scheduler counts them: CPU in millicores, everything else in whole
//! units (bytes, pods), read from `rudder-quantity`'s exact quantities as upstream's
//! `MilliValue`/`Value`; and a pod's effective requests.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;
use rudder_quantity::{list, ResourceList};

/// CPU counted for a container that requests none, when scoring (upstream: 100m).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Memory counted for a container that requests none, when scoring (upstream: 200 MiB).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// An amount of each resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// CPU in millicores.
    pub milli_cpu: i64,
    /// Memory in bytes.
    pub memory: i64,
    /// Ephemeral storage in bytes.
    pub ephemeral_storage: i64,
    /// Pods (only meaningful for a node's allocatable).
    pub pods: i64,
    /// Other resources (extended resources, hugepages) in whole units.
    pub scalar: BTreeMap<String, i64>,
}

impl Resources {
    /// Reads a wire resource list (`allocatable`); malformed entries count as absent.
    pub fn from_wire(list: &BTreeMap<String, WireQuantity>) -> Self {
        Self::from_list(&list::parse(list))
    }

    /// Reads a parsed resource list: CPU in thousandths, the rest in whole units, both
    /// rounded up as upstream's `MilliValue` and `Value` are.
    pub fn from_list(list: &ResourceList) -> Self {
        let mut out = Resources::default();
        for (name, q) in list {
            match name.as_str() {
                "cpu" => out.milli_cpu = q.milli_value(),
                "memory" => out.memory = q.value(),
                "ephemeral-storage" => out.ephemeral_storage = q.value(),
                "pods" => out.pods = q.value(),
                other => {
                    out.scalar.insert(other.to_owned(), q.value());
                }
            }
        }
        out
    }

    /// Adds `other` to this amount.
    pub fn add(&mut self, other: &Resources) {
        self.milli_cpu += other.milli_cpu;
        self.memory += other.memory;
        self.ephemeral_storage += other.ephemeral_storage;
        self.pods += other.pods;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_insert(0) += v;
        }
    }

    /// Subtracts `other` from this amount.
    pub fn sub(&mut self, other: &Resources) {
        self.milli_cpu -= other.milli_cpu;
        self.memory -= other.memory;
        self.ephemeral_storage -= other.ephemeral_storage;
        self.pods -= other.pods;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_insert(0) -= v;
        }
    }

    /// The amount of the named resource (`cpu` in millicores).
    pub fn get(&self, name: &str) -> i64 {
        match name {
            "cpu" => self.milli_cpu,
            "memory" => self.memory,
            "ephemeral-storage" => self.ephemeral_storage,
            "pods" => self.pods,
            other => self.scalar.get(other).copied().unwrap_or(0),
        }
    }
}

/// A container's own requests (the API server has defaulted them from limits).
fn container_requests(c: &Container) -> Resources {
    c.resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .map(Resources::from_wire)
        .unwrap_or_default()
}

/// A pod's effective requests, as upstream's `resourcehelper.PodRequests` computes them (see
/// [`rudder_quantity::pod_requests`]).
pub fn pod_requests(pod: &Pod) -> Resources {
    Resources::from_list(&rudder_quantity::pod_requests(pod))
}

/// The CPU and memory a pod counts for when scoring: like [`pod_requests`], with upstream's
/// defaults for containers that request no CPU or memory.
pub fn non_zero_requests(pod: &Pod) -> (i64, i64) {
    let Some(spec) = pod.spec.as_ref() else {
        return (0, 0);
    };
    let non_zero = |c: &Container| {
        let r = container_requests(c);
        let cpu = if r.milli_cpu == 0 {
            DEFAULT_MILLI_CPU_REQUEST
        } else {
            r.milli_cpu
        };
        let mem = if r.memory == 0 {
            DEFAULT_MEMORY_REQUEST
        } else {
            r.memory
        };
        (cpu, mem)
    };
    let (mut cpu, mut mem) = spec
        .containers
        .iter()
        .map(non_zero)
        .fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
    for c in spec.init_containers.iter().flatten() {
        let (c_cpu, c_mem) = non_zero(c);
        cpu = cpu.max(c_cpu);
        mem = mem.max(c_mem);
    }
    (cpu, mem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).unwrap_or_default()
    }

    #[test]
    fn lists_count_cpu_in_millicores_and_the_rest_in_whole_units_rounded_up() {
        let wire = |v: &str| WireQuantity(v.to_owned());
        let list: BTreeMap<String, WireQuantity> = [
            ("cpu".to_owned(), wire("0.1")),
            ("memory".to_owned(), wire("128Mi")),
            ("pods".to_owned(), wire("110")),
            ("example.com/gpu".to_owned(), wire("1.5")),
            ("ephemeral-storage".to_owned(), wire("12x")),
        ]
        .into();
        let r = Resources::from_wire(&list);
        assert_eq!(r.milli_cpu, 100);
        assert_eq!(r.memory, 128 * 1024 * 1024);
        assert_eq!(r.pods, 110);
        assert_eq!(r.get("example.com/gpu"), 2);
        assert_eq!(r.ephemeral_storage, 0);
    }

    #[test]
    fn pod_requests_sum_containers_and_take_the_largest_init_container() {
        let p = pod(json!({"spec": {
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                {"name": "b", "resources": {"requests": {"cpu": "200m"}}},
            ],
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "1", "memory": "1Mi"}}}],
            "overhead": {"cpu": "10m"},
        }}));
        let r = pod_requests(&p);
        assert_eq!(r.milli_cpu, 1010);
        assert_eq!(r.memory, 64 * 1024 * 1024);
    }

    #[test]
    fn non_zero_requests_default_cpu_and_memory_for_scoring() {
        let p = pod(json!({"spec": {"containers": [{"name": "a"}]}}));
        assert_eq!(
            non_zero_requests(&p),
            (DEFAULT_MILLI_CPU_REQUEST, DEFAULT_MEMORY_REQUEST)
        );
    }
}
