//! A pod with what scheduling needs computed once: its requests, priority, host ports and
//! compiled inter-pod affinity terms.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodAffinityTerm};

use crate::resources::{non_zero_requests, pod_requests, Resources};
use crate::selectors::{Labels, Selector};
use crate::spread::SpreadConstraint;

/// A host port a pod uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// The host IP (`0.0.0.0` when unset).
    pub ip: String,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// The port number.
    pub port: i32,
}

impl HostPort {
    /// Whether two uses of host ports clash: same port and protocol, and the same IP or either
    /// on all addresses.
    pub fn conflicts(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.ip == "0.0.0.0" || other.ip == "0.0.0.0")
    }
}

/// A compiled pod (anti-)affinity term.
#[derive(Debug, Clone)]
pub struct AffinityTerm {
    /// Which pods the term is about.
    pub selector: Selector,
    /// The namespaces it looks in (the pod's own when the term names none and has no
    /// namespace selector).
    pub namespaces: BTreeSet<String>,
    /// Further namespaces, chosen by their labels (`None`: only `namespaces`).
    pub namespace_selector: Option<Selector>,
    /// The node label that defines a topology domain.
    pub topology_key: String,
    /// The weight, for preferred terms.
    pub weight: i64,
}

impl AffinityTerm {
    fn new(term: &PodAffinityTerm, own_namespace: &str, own_labels: &Labels, weight: i32) -> Self {
        let mut selector = term
            .label_selector
            .as_ref()
            .map(Selector::new)
            .unwrap_or_else(|| Selector::key_in("", Vec::new()));
        if term.label_selector.is_some() {
            for key in term.match_label_keys.iter().flatten() {
                if let Some(v) = own_labels.get(key) {
                    selector = selector.and(Selector::key_in(key, vec![v.clone()]));
                }
            }
            for key in term.mismatch_label_keys.iter().flatten() {
                if let Some(v) = own_labels.get(key) {
                    selector = selector.and(Selector::key_not_in(key, vec![v.clone()]));
                }
            }
        }
        let mut namespaces: BTreeSet<String> = term.namespaces.iter().flatten().cloned().collect();
        let namespace_selector = term.namespace_selector.as_ref().map(Selector::new);
        if namespaces.is_empty() && namespace_selector.is_none() {
            namespaces.insert(own_namespace.to_owned());
        }
        Self {
            selector,
            namespaces,
            namespace_selector,
            topology_key: term.topology_key.clone(),
            weight: i64::from(weight),
        }
    }

    /// Whether `pod` is one this term is about; `namespace_labels` looks up a namespace's labels.
    pub fn matches(
        &self,
        pod: &PodInfo,
        namespace_labels: &dyn Fn(&str) -> Option<Labels>,
    ) -> bool {
        let in_namespace = self.namespaces.contains(&pod.namespace)
            || self.namespace_selector.as_ref().is_some_and(|sel| {
                sel.is_empty() || namespace_labels(&pod.namespace).is_some_and(|l| sel.matches(&l))
            });
        in_namespace && self.selector.matches(&pod.labels)
    }
}

/// A pod and its scheduling-relevant facts.
#[derive(Debug, Clone)]
pub struct PodInfo {
    /// The pod.
    pub pod: Arc<Pod>,
    /// `namespace/name`.
    pub key: String,
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
    /// The uid.
    pub uid: String,
    /// The labels.
    pub labels: Labels,
    /// Effective requests.
    pub requests: Resources,
    /// CPU (millicores) and memory counted when scoring.
    pub non_zero: (i64, i64),
    /// `spec.priority` (0 when unset).
    pub priority: i32,
    /// Host ports used.
    pub host_ports: Vec<HostPort>,
    /// Required pod affinity terms.
    pub required_affinity: Vec<AffinityTerm>,
    /// Required pod anti-affinity terms.
    pub required_anti_affinity: Vec<AffinityTerm>,
    /// Preferred pod affinity terms.
    pub preferred_affinity: Vec<AffinityTerm>,
    /// Preferred pod anti-affinity terms.
    pub preferred_anti_affinity: Vec<AffinityTerm>,
    /// Topology spread constraints.
    pub spread: Vec<SpreadConstraint>,
}

impl PodInfo {
    /// Computes the facts of `pod`.
    pub fn new(pod: Arc<Pod>) -> Self {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        let spec = pod.spec.as_ref();
        let host_ports = spec
            .into_iter()
            .flat_map(|s| {
                s.containers
                    .iter()
                    .chain(s.init_containers.iter().flatten())
            })
            .flat_map(|c| c.ports.iter().flatten())
            .filter(|p| p.host_port.unwrap_or(0) > 0)
            .map(|p| HostPort {
                ip: p
                    .host_ip
                    .clone()
                    .filter(|ip| !ip.is_empty())
                    .unwrap_or_else(|| "0.0.0.0".to_owned()),
                protocol: p.protocol.clone().unwrap_or_else(|| "TCP".to_owned()),
                port: p.host_port.unwrap_or(0),
            })
            .collect();
        let affinity = spec.and_then(|s| s.affinity.as_ref());
        let pod_affinity = affinity.and_then(|a| a.pod_affinity.as_ref());
        let anti = affinity.and_then(|a| a.pod_anti_affinity.as_ref());
        let required = |terms: Option<&Vec<PodAffinityTerm>>| -> Vec<AffinityTerm> {
            terms
                .into_iter()
                .flatten()
                .map(|t| AffinityTerm::new(t, &namespace, &labels, 1))
                .collect()
        };
        let preferred =
            |terms: Option<&Vec<k8s_openapi::api::core::v1::WeightedPodAffinityTerm>>| {
                terms
                    .into_iter()
                    .flatten()
                    .map(|w| AffinityTerm::new(&w.pod_affinity_term, &namespace, &labels, w.weight))
                    .collect::<Vec<_>>()
            };
        Self {
            key: format!("{namespace}/{name}"),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            requests: pod_requests(&pod),
            non_zero: non_zero_requests(&pod),
            priority: spec.and_then(|s| s.priority).unwrap_or(0),
            host_ports,
            required_affinity: required(pod_affinity.and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            required_anti_affinity: required(anti.and_then(|a| {
                a.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            preferred_affinity: preferred(pod_affinity.and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            preferred_anti_affinity: preferred(anti.and_then(|a| {
                a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })),
            spread: crate::spread::compile(&pod, &namespace, &labels),
            namespace,
            name,
            labels,
            pod,
        }
    }

    /// Whether the pod has any inter-pod affinity or anti-affinity term.
    pub fn has_affinity(&self) -> bool {
        !(self.required_affinity.is_empty()
            && self.required_anti_affinity.is_empty()
            && self.preferred_affinity.is_empty()
            && self.preferred_anti_affinity.is_empty())
    }

    /// The node the pod is bound to ("" when none).
    pub fn node_name(&self) -> &str {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .unwrap_or_default()
    }

    /// Whether the pod is being deleted.
    pub fn is_terminating(&self) -> bool {
        self.pod.metadata.deletion_timestamp.is_some()
    }
}
