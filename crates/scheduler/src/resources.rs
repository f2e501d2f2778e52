//! Resource amounts as the scheduler counts them: CPU in millicores, everything else in whole
//! units (bytes, pods), parsed from Kubernetes quantities; and a pod's effective requests.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

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
    /// Reads a resource list (`requests`, `allocatable`).
    pub fn from_list(list: &BTreeMap<String, Quantity>) -> Self {
        let mut out = Resources::default();
        for (name, q) in list {
            match name.as_str() {
                "cpu" => out.milli_cpu = parse_milli(&q.0).unwrap_or(0),
                "memory" => out.memory = parse_units(&q.0).unwrap_or(0),
                "ephemeral-storage" => out.ephemeral_storage = parse_units(&q.0).unwrap_or(0),
                "pods" => out.pods = parse_units(&q.0).unwrap_or(0),
                other => {
                    out.scalar
                        .insert(other.to_owned(), parse_units(&q.0).unwrap_or(0));
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

    /// The per-resource maximum of this amount and `other`.
    fn max_with(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_insert(0);
            *e = (*e).max(*v);
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

/// A container's requests; a limit stands in for a request left unset, as upstream's
/// defaulting makes it.
fn container_requests(c: &Container) -> Resources {
    let Some(r) = c.resources.as_ref() else {
        return Resources::default();
    };
    let mut list = r.limits.clone().unwrap_or_default();
    list.extend(r.requests.clone().unwrap_or_default());
    Resources::from_list(&list)
}

/// A pod's effective requests, as upstream computes them: the sum over containers, at least
/// the largest init container (restartable sidecars add up), plus the pod overhead.
pub fn pod_requests(pod: &Pod) -> Resources {
    let Some(spec) = pod.spec.as_ref() else {
        return Resources::default();
    };
    let mut sum = Resources::default();
    for c in &spec.containers {
        sum.add(&container_requests(c));
    }
    let mut sidecars = Resources::default();
    let mut init_max = Resources::default();
    for c in spec.init_containers.iter().flatten() {
        let req = container_requests(c);
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars.add(&req);
            sum.add(&req);
        } else {
            let mut with_sidecars = req;
            with_sidecars.add(&sidecars);
            init_max.max_with(&with_sidecars);
        }
    }
    sum.max_with(&init_max);
    if let Some(overhead) = spec.overhead.as_ref() {
        sum.add(&Resources::from_list(overhead));
    }
    sum
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

/// Splits a quantity into its number and suffix.
fn split(q: &str) -> (&str, &str) {
    let q = q.trim();
    let at = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(q.len());
    // An exponent (`1e3`) belongs to the number.
    if q[at..].starts_with(['e', 'E'])
        && q[at + 1..].chars().all(|c| c.is_ascii_digit())
        && at + 1 < q.len()
    {
        return (q, "");
    }
    q.split_at(at)
}

/// The multiplier of a quantity suffix.
fn multiplier(suffix: &str) -> Option<f64> {
    Some(match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "Pi" => 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "Ei" => 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    })
}

fn parse_scaled(q: &str, scale: f64) -> Option<i64> {
    let (number, suffix) = split(q);
    let value: f64 = number.parse().ok()?;
    let scaled = value * multiplier(suffix)? * scale;
    // Quantities round up to the unit asked for, as upstream's `Value`/`MilliValue` do.
    Some(scaled.ceil() as i64)
}

/// A quantity in thousandths (`500m` → 500, `2` → 2000); `None` when malformed.
pub fn parse_milli(q: &str) -> Option<i64> {
    parse_scaled(q, 1000.0)
}

/// A quantity in whole units, rounded up (`1Ki` → 1024, `1.5` → 2); `None` when malformed.
pub fn parse_units(q: &str) -> Option<i64> {
    parse_scaled(q, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).unwrap_or_default()
    }

    #[test]
    fn quantities_parse_with_decimal_and_binary_suffixes() {
        assert_eq!(parse_milli("500m"), Some(500));
        assert_eq!(parse_milli("2"), Some(2000));
        assert_eq!(parse_milli("0.1"), Some(100));
        assert_eq!(parse_units("1Ki"), Some(1024));
        assert_eq!(parse_units("128Mi"), Some(128 * 1024 * 1024));
        assert_eq!(parse_units("1G"), Some(1_000_000_000));
        assert_eq!(parse_units("1e3"), Some(1000));
        assert_eq!(parse_units("12x"), None);
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
    fn limits_stand_in_for_missing_requests() {
        let p = pod(
            json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "1"}}}]}}),
        );
        assert_eq!(pod_requests(&p).milli_cpu, 1000);
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
