//! Cluster IPs and node ports for Services.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use rudder_store::{Precondition, RangeRequest, Store, WriteOutcome};
use serde_json::{json, Value};

use super::{PortRange, ServiceCidr, WriteHook};
use crate::error::{ApiError, Cause};
use crate::meta;

const IP_PREFIX: &str = "/registry/allocations/serviceips/";
const PORT_PREFIX: &str = "/registry/allocations/nodeports/";
/// How many random candidates to try before giving up on a full range.
const ATTEMPTS: usize = 32;

/// Allocates `spec.clusterIP(s)` and `spec.ports[*].nodePort` of Services.
pub struct ServiceAllocator {
    store: Arc<dyn Store>,
    cidr: ServiceCidr,
    ports: PortRange,
}

fn owner_of(obj: &Value) -> String {
    format!(
        "{}/{}/{}",
        meta::namespace(obj),
        meta::name(obj),
        meta::str_at(obj, "/metadata/uid")
    )
}

fn invalid(obj: &Value, field: &str, value: Value, detail: String) -> ApiError {
    ApiError::Invalid {
        kind: "Service".to_owned(),
        group: String::new(),
        name: meta::name(obj).to_owned(),
        causes: vec![Cause::invalid(field, &value, &detail)],
    }
}

fn needs_node_ports(obj: &Value) -> bool {
    matches!(meta::str_at(obj, "/spec/type"), "NodePort" | "LoadBalancer")
}

fn has_cluster_ip(obj: &Value) -> bool {
    meta::str_at(obj, "/spec/type") != "ExternalName"
}

/// A random number, from the UUID generator's randomness (no other RNG is needed here).
fn random_u32() -> u32 {
    let b = uuid::Uuid::new_v4().into_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

impl ServiceAllocator {
    /// An allocator over `cidr` and `ports`.
    pub fn new(store: Arc<dyn Store>, cidr: ServiceCidr, ports: PortRange) -> Self {
        Self { store, cidr, ports }
    }

    /// The service CIDR.
    pub fn cidr(&self) -> ServiceCidr {
        self.cidr
    }

    /// Reserves `key` for `owner`; true when reserved (or already held by the same owner).
    async fn reserve(&self, key: &str, owner: &str) -> Result<bool, ApiError> {
        match self
            .store
            .put(key, Bytes::from(owner.to_owned()), Precondition::Absent)
            .await?
        {
            WriteOutcome::Applied { .. } => Ok(true),
            WriteOutcome::Failed { current } => {
                Ok(current.is_some_and(|kv| kv.value == owner.as_bytes()))
            }
        }
    }

    /// Releases `key` if `owner` holds it (a failed reservation must not free another's).
    async fn free(&self, key: &str, owner: &str) {
        let held = match self.store.range(RangeRequest::key(key)).await {
            Ok(resp) => resp.kvs.into_iter().next(),
            Err(e) => {
                tracing::warn!(%key, error = %e, "could not read an allocation to release it");
                return;
            }
        };
        let Some(kv) = held.filter(|kv| kv.value == owner.as_bytes()) else {
            return;
        };
        if let Err(e) = self
            .store
            .delete(key, Precondition::ModRevision(kv.mod_revision))
            .await
        {
            tracing::warn!(%key, error = %e, "could not release an allocation");
        }
    }

    async fn used(&self, prefix: &str) -> Result<HashSet<String>, ApiError> {
        let resp = self.store.range(RangeRequest::prefix(prefix)).await?;
        Ok(resp
            .kvs
            .into_iter()
            .map(|kv| kv.key[prefix.len()..].to_owned())
            .collect())
    }

    async fn allocate_ip(&self, obj: &Value) -> Result<Ipv4Addr, ApiError> {
        let owner = owner_of(obj);
        let used = self.used(IP_PREFIX).await?;
        let (band, size) = (self.cidr.static_band(), self.cidr.size());
        let dynamic = size.saturating_sub(band).max(1);
        for _ in 0..ATTEMPTS {
            let start = random_u32() % dynamic;
            // Prefer the dynamic band; fall back to the static band when it is full.
            let candidate = (0..size)
                .map(|i| (band + (start + i) % dynamic.max(1)) % size)
                .chain(0..band)
                .map(|i| self.cidr.nth(i))
                .find(|ip| !used.contains(&ip.to_string()));
            let Some(ip) = candidate else { break };
            if self.reserve(&format!("{IP_PREFIX}{ip}"), &owner).await? {
                return Ok(ip);
            }
        }
        Err(invalid(
            obj,
            "spec.clusterIPs",
            json!([]),
            "failed to allocate IP: range is full".to_owned(),
        ))
    }

    async fn reserve_ip(&self, obj: &Value, text: &str) -> Result<(), ApiError> {
        let value = json!([text]);
        let ip: Ipv4Addr = text.parse().map_err(|_| {
            invalid(
                obj,
                "spec.clusterIPs",
                value.clone(),
                format!("{text} is not a valid IPv4 address"),
            )
        })?;
        if self.cidr.index_of(ip).is_none() {
            let detail = format!(
                "failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}",
                self.cidr
            );
            return Err(invalid(obj, "spec.clusterIPs", value, detail));
        }
        if !self
            .reserve(&format!("{IP_PREFIX}{ip}"), &owner_of(obj))
            .await?
        {
            let detail = format!("failed to allocate IP {ip}: provided IP is already allocated");
            return Err(invalid(obj, "spec.clusterIPs", value, detail));
        }
        Ok(())
    }

    async fn allocate_port(&self, obj: &Value, index: usize) -> Result<i64, ApiError> {
        let owner = owner_of(obj);
        let used = self.used(PORT_PREFIX).await?;
        let span = u32::from(self.ports.last - self.ports.first) + 1;
        for _ in 0..ATTEMPTS {
            let start = random_u32() % span;
            let candidate = (0..span)
                .map(|i| i64::from(self.ports.first) + i64::from((start + i) % span))
                .find(|p| !used.contains(&p.to_string()));
            let Some(port) = candidate else { break };
            if self
                .reserve(&format!("{PORT_PREFIX}{port}"), &owner)
                .await?
            {
                return Ok(port);
            }
        }
        let field = format!("spec.ports[{index}].nodePort");
        Err(invalid(
            obj,
            &field,
            json!(0),
            "failed to allocate a node port: range is full".to_owned(),
        ))
    }

    async fn reserve_port(&self, obj: &Value, index: usize, port: i64) -> Result<(), ApiError> {
        let field = format!("spec.ports[{index}].nodePort");
        if !self.ports.contains(port) {
            let detail = format!(
                "provided port is not in the valid range. The range of valid ports is {}-{}",
                self.ports.first, self.ports.last
            );
            return Err(invalid(obj, &field, json!(port), detail));
        }
        if !self
            .reserve(&format!("{PORT_PREFIX}{port}"), &owner_of(obj))
            .await?
        {
            return Err(invalid(
                obj,
                &field,
                json!(port),
                "provided port is already allocated".to_owned(),
            ));
        }
        Ok(())
    }

    /// Fills in and reserves every allocation `obj` needs; on failure releases what it took.
    async fn allocate_all(&self, obj: &mut Value, held: Option<&Value>) -> Result<(), ApiError> {
        let result = self.allocate_inner(obj, held).await;
        if result.is_err() {
            self.release(obj, held).await;
        }
        result
    }

    async fn allocate_inner(&self, obj: &mut Value, held: Option<&Value>) -> Result<(), ApiError> {
        if has_cluster_ip(obj) {
            let held_ip = held
                .map(|h| meta::str_at(h, "/spec/clusterIP").to_owned())
                .unwrap_or_default();
            match meta::str_at(obj, "/spec/clusterIP").to_owned() {
                ip if ip == "None" => set_cluster_ip(obj, "None"),
                ip if ip.is_empty() => {
                    let ip = self.allocate_ip(obj).await?.to_string();
                    set_cluster_ip(obj, &ip);
                }
                ip if ip == held_ip => set_cluster_ip(obj, &ip),
                ip => {
                    self.reserve_ip(obj, &ip).await?;
                    set_cluster_ip(obj, &ip);
                }
            }
        }
        if needs_node_ports(obj) {
            let count = obj
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            for i in 0..count {
                let requested = obj
                    .pointer(&format!("/spec/ports/{i}/nodePort"))
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                let port = if requested == 0 {
                    self.allocate_port(obj, i).await?
                } else {
                    if !held.is_some_and(|h| node_ports(h).contains(&requested)) {
                        self.reserve_port(obj, i, requested).await?;
                    }
                    requested
                };
                if let Some(p) = obj
                    .pointer_mut(&format!("/spec/ports/{i}"))
                    .and_then(Value::as_object_mut)
                {
                    p.insert("nodePort".to_owned(), json!(port));
                }
            }
        }
        Ok(())
    }
}

fn set_cluster_ip(obj: &mut Value, ip: &str) {
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("clusterIP".to_owned(), json!(ip));
        spec.insert("clusterIPs".to_owned(), json!([ip]));
    }
}

fn node_ports(obj: &Value) -> Vec<i64> {
    if !needs_node_ports(obj) {
        return Vec::new();
    }
    obj.pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ports| {
            ports
                .iter()
                .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
                .collect()
        })
        .unwrap_or_default()
}

fn cluster_ip(obj: &Value) -> Option<String> {
    let ip = meta::str_at(obj, "/spec/clusterIP");
    (has_cluster_ip(obj) && !ip.is_empty() && ip != "None").then(|| ip.to_owned())
}

#[async_trait]
impl WriteHook for ServiceAllocator {
    async fn before_create(&self, obj: &mut Value) -> Result<(), ApiError> {
        self.allocate_all(obj, None).await
    }

    async fn before_update(&self, old: &Value, new: &mut Value) -> Result<(), ApiError> {
        // Values the client left out are carried over, as upstream does.
        if has_cluster_ip(new) && meta::str_at(new, "/spec/clusterIP").is_empty() {
            if let Some(ip) = cluster_ip(old) {
                set_cluster_ip(new, &ip);
            }
        }
        if let (Some(old_ip), Some(new_ip)) = (cluster_ip(old), cluster_ip(new)) {
            if old_ip != new_ip {
                return Err(invalid(
                    new,
                    "spec.clusterIPs[0]",
                    json!(new_ip),
                    "may not change once set".to_owned(),
                ));
            }
        }
        if needs_node_ports(new) {
            carry_node_ports(old, new);
        }
        self.allocate_all(new, Some(old)).await
    }

    async fn release(&self, obj: &Value, kept: Option<&Value>) {
        let kept_ip = kept.and_then(cluster_ip);
        if let Some(ip) = cluster_ip(obj).filter(|ip| Some(ip) != kept_ip.as_ref()) {
            self.free(&format!("{IP_PREFIX}{ip}"), &owner_of(obj)).await;
        }
        let kept_ports = kept.map(node_ports).unwrap_or_default();
        for port in node_ports(obj)
            .into_iter()
            .filter(|p| !kept_ports.contains(p))
        {
            self.free(&format!("{PORT_PREFIX}{port}"), &owner_of(obj))
                .await;
        }
    }
}

/// Copies node ports from `old` to ports of `new` with the same port and protocol that have none.
fn carry_node_ports(old: &Value, new: &mut Value) {
    let old_ports: Vec<(i64, String, i64)> = old
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ports| {
            ports
                .iter()
                .filter_map(|p| {
                    let node = p.get("nodePort").and_then(Value::as_i64)?;
                    let port = p.get("port").and_then(Value::as_i64)?;
                    Some((
                        port,
                        p.get("protocol")
                            .and_then(Value::as_str)
                            .unwrap_or("TCP")
                            .to_owned(),
                        node,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(ports) = new.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
        for p in ports {
            if p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0 {
                continue;
            }
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            let proto = p
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("TCP")
                .to_owned();
            if let Some((_, _, node)) = old_ports
                .iter()
                .find(|(op, opr, _)| *op == port && *opr == proto)
            {
                if let Some(map) = p.as_object_mut() {
                    map.insert("nodePort".to_owned(), json!(node));
                }
            }
        }
    }
}
