//! The scheduler's picture of the cluster: nodes, the pods bound to them, and the pods it has
//! assumed onto them ahead of the binding landing. Fed by watches; read by the scheduling core
//! through a [`Snapshot`].

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;

use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;
use crate::selectors::Labels;
use crate::spread::SpreadCounts;
use crate::volumes::Volumes;

/// What the scheduling core reads: every node, and namespace labels for namespace selectors.
#[derive(Clone, Copy)]
pub struct Snapshot<'a> {
    /// The nodes, in a stable order.
    pub nodes: &'a [NodeInfo],
    /// Labels of each namespace known.
    pub namespaces: &'a HashMap<String, Labels>,
    /// Matching-pod counts per topology domain, when they describe `nodes` (not in a
    /// preemption's what-if view).
    pub spread: Option<&'a SpreadCounts>,
    /// Claims, volumes and storage classes.
    pub volumes: &'a Volumes,
}

impl Snapshot<'_> {
    /// The labels of `namespace`, if known.
    pub fn namespace_labels(&self, namespace: &str) -> Option<Labels> {
        self.namespaces.get(namespace).cloned()
    }
}

#[derive(Debug, Clone)]
struct CachedPod {
    node: String,
    assumed: bool,
    info: Arc<PodInfo>,
}

/// Nodes and the pods on them.
#[derive(Debug, Default)]
pub struct Cache {
    nodes: Vec<NodeInfo>,
    index: HashMap<String, usize>,
    pods: HashMap<String, CachedPod>,
    /// Pods bound to nodes the cache has not seen (yet).
    orphans: HashMap<String, Vec<Arc<PodInfo>>>,
    namespaces: HashMap<String, Labels>,
    spread: SpreadCounts,
    volumes: Volumes,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current picture.
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot {
            nodes: &self.nodes,
            namespaces: &self.namespaces,
            spread: Some(&self.spread),
            volumes: &self.volumes,
        }
    }

    /// Makes sure the topology spread counts `pod` reads are kept (call before a cycle).
    pub fn prepare(&mut self, pod: &PodInfo) {
        if !pod.spread.is_empty() {
            self.spread.prepare(pod, &self.nodes);
        }
    }

    /// The nodes known.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.index.get(name).and_then(|i| self.nodes.get(*i))
    }

    /// Adds or replaces a node.
    pub fn upsert_node(&mut self, node: Arc<Node>) {
        let name = node.metadata.name.clone().unwrap_or_default();
        if let Some(&at) = self.index.get(&name) {
            let info = &mut self.nodes[at];
            let relabelled = node
                .metadata
                .labels
                .as_ref()
                .map_or(!info.labels.is_empty(), |l| *l != info.labels);
            if relabelled {
                self.spread.node_changed(info, -1);
            }
            info.set_node(node);
            if relabelled {
                self.spread.node_changed(info, 1);
            }
            return;
        }
        let mut info = NodeInfo::new(node);
        for pod in self.orphans.remove(&name).unwrap_or_default() {
            info.add_pod(pod);
        }
        self.spread.node_changed(&info, 1);
        self.index.insert(name, self.nodes.len());
        self.nodes.push(info);
    }

    /// Removes a node; its pods wait for it to come back.
    pub fn remove_node(&mut self, name: &str) {
        let Some(at) = self.index.remove(name) else {
            return;
        };
        let info = self.nodes.swap_remove(at);
        self.spread.node_changed(&info, -1);
        if let Some(moved) = self.nodes.get(at) {
            self.index.insert(moved.name.clone(), at);
        }
        if !info.pods.is_empty() {
            self.orphans.insert(info.name, info.pods);
        }
    }

    fn place(&mut self, node: &str, pod: Arc<PodInfo>) {
        match self.index.get(node) {
            Some(&at) => {
                self.spread.pod_changed(&self.nodes[at], &pod, 1);
                self.nodes[at].add_pod(pod);
            }
            None => self.orphans.entry(node.to_owned()).or_default().push(pod),
        }
    }

    fn unplace(&mut self, node: &str, pod: &PodInfo) {
        if let Some(&at) = self.index.get(node) {
            if self.nodes[at].remove_pod(&pod.key) {
                self.spread.pod_changed(&self.nodes[at], pod, -1);
            }
        } else if let Some(list) = self.orphans.get_mut(node) {
            list.retain(|p| p.key != pod.key);
        }
    }

    /// Counts `pod` on `node` before its binding is confirmed.
    pub fn assume(&mut self, pod: Arc<PodInfo>, node: &str) {
        self.remove_pod(&pod.key);
        self.place(node, Arc::clone(&pod));
        self.pods.insert(
            pod.key.clone(),
            CachedPod {
                node: node.to_owned(),
                assumed: true,
                info: pod,
            },
        );
    }

    /// Drops an assumed pod whose binding failed; bound pods stay.
    pub fn forget(&mut self, key: &str) {
        if self.pods.get(key).is_some_and(|p| p.assumed) {
            self.remove_pod(key);
        }
    }

    /// Whether `key` is assumed and not yet seen bound.
    pub fn is_assumed(&self, key: &str) -> bool {
        self.pods.get(key).is_some_and(|p| p.assumed)
    }

    /// Records a pod the API server reports bound to a node (confirming an assumption).
    pub fn add_bound_pod(&mut self, pod: Arc<PodInfo>) {
        let node = pod.node_name().to_owned();
        self.remove_pod(&pod.key);
        self.place(&node, Arc::clone(&pod));
        self.pods.insert(
            pod.key.clone(),
            CachedPod {
                node,
                assumed: false,
                info: pod,
            },
        );
    }

    /// Removes a pod (deleted, or finished); whether it was known.
    pub fn remove_pod(&mut self, key: &str) -> bool {
        let Some(old) = self.pods.remove(key) else {
            return false;
        };
        self.unplace(&old.node, &old.info);
        true
    }

    /// The pod with `key`, if cached.
    pub fn pod(&self, key: &str) -> Option<&Arc<PodInfo>> {
        self.pods.get(key).map(|p| &p.info)
    }

    /// Records a namespace's labels.
    pub fn upsert_namespace(&mut self, name: &str, labels: Labels) {
        self.namespaces.insert(name.to_owned(), labels);
    }

    /// The storage objects, to update from their watches.
    pub fn volumes_mut(&mut self) -> &mut Volumes {
        &mut self.volumes
    }

    /// Forgets a namespace.
    pub fn remove_namespace(&mut self, name: &str) {
        self.namespaces.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    #[test]
    fn assumed_pods_count_against_their_node_until_forgotten() {
        let mut cache = Cache::new();
        cache.upsert_node(Arc::new(node("n1", "4", "8Gi")));
        let p = Arc::new(PodInfo::new(Arc::new(pod("a", "1", "1Gi"))));
        cache.assume(Arc::clone(&p), "n1");
        assert!(cache.is_assumed("default/a"));
        assert_eq!(cache.node("n1").map(|n| n.requested.milli_cpu), Some(1000));
        cache.forget("default/a");
        assert_eq!(cache.node("n1").map(|n| n.requested.milli_cpu), Some(0));
    }

    #[test]
    fn bound_pod_confirms_assumption_without_double_counting() {
        let mut cache = Cache::new();
        cache.upsert_node(Arc::new(node("n1", "4", "8Gi")));
        let mut bound = pod("a", "1", "1Gi");
        cache.assume(Arc::new(PodInfo::new(Arc::new(bound.clone()))), "n1");
        if let Some(spec) = bound.spec.as_mut() {
            spec.node_name = Some("n1".to_owned());
        }
        cache.add_bound_pod(Arc::new(PodInfo::new(Arc::new(bound))));
        assert!(!cache.is_assumed("default/a"));
        assert_eq!(cache.node("n1").map(|n| n.pods.len()), Some(1));
        cache.forget("default/a");
        assert_eq!(cache.node("n1").map(|n| n.pods.len()), Some(1));
    }

    #[test]
    fn pods_of_unknown_nodes_join_the_node_when_it_appears() {
        let mut cache = Cache::new();
        let mut bound = pod("a", "1", "1Gi");
        if let Some(spec) = bound.spec.as_mut() {
            spec.node_name = Some("late".to_owned());
        }
        cache.add_bound_pod(Arc::new(PodInfo::new(Arc::new(bound))));
        cache.upsert_node(Arc::new(node("late", "4", "8Gi")));
        assert_eq!(
            cache.node("late").map(|n| n.requested.milli_cpu),
            Some(1000)
        );
        cache.remove_node("late");
        assert_eq!(cache.node_count(), 0);
    }
}
