//! ImageLocality: prefers nodes that already hold the pod's container images, weighing each
//! image by its size and by the share of nodes that hold it, so that an image on one node only
//! does not pull every pod onto that node.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Container, Node};

use crate::cache::Snapshot;
use crate::framework::{CycleState, Plugin, Score, Status, MAX_NODE_SCORE};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

const MIB: i64 = 1024 * 1024;
/// Image sizes below this score nothing: small images are quick to pull anywhere.
const MIN_THRESHOLD: i64 = 23 * MIB;
/// Per container, sizes above this score no more.
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MIB;
const STATE_KEY: &str = "PreScoreImageLocality";

/// The ImageLocality plugin.
#[derive(Debug, Default)]
pub struct ImageLocality;

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        "ImageLocality"
    }
}

/// What a scheduling cycle knows of the pod's images across all nodes.
struct Spread {
    /// The pod's images (normalized), containers and init containers.
    images: Vec<String>,
    /// How many nodes hold each of them.
    holders: HashMap<String, usize>,
    /// How many nodes there are.
    nodes: usize,
}

/// An image name as a node reports it: with the `latest` tag when none or no digest is given.
pub fn normalized(image: &str) -> String {
    let tagged = image.contains('@')
        || image
            .rfind(':')
            .is_some_and(|colon| image.rfind('/').is_none_or(|slash| colon > slash));
    if tagged {
        image.to_owned()
    } else {
        format!("{image}:latest")
    }
}

/// The size of `image` if `node` reports holding it under that name (a scan: nodes hold few
/// images and pods name fewer, and this runs for every node of every cycle).
fn image_size(node: &Node, image: &str) -> Option<i64> {
    let images = node.status.as_ref()?.images.as_ref()?;
    images
        .iter()
        .find(|held| held.names.iter().flatten().any(|name| name == image))
        .map(|held| held.size_bytes.unwrap_or(0))
}

fn pod_images(pod: &PodInfo) -> Vec<String> {
    let Some(spec) = pod.pod.spec.as_ref() else {
        return Vec::new();
    };
    let containers: Vec<&Container> = spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
        .collect();
    containers
        .iter()
        .filter_map(|c| c.image.as_deref())
        .map(normalized)
        .collect()
}

/// The score for the summed, spread-scaled sizes of the images a node holds, for a pod of
/// `containers` containers.
fn priority(sum: i64, containers: usize) -> i64 {
    let max = MAX_CONTAINER_THRESHOLD * (containers.max(1) as i64);
    let clamped = sum.clamp(MIN_THRESHOLD, max);
    MAX_NODE_SCORE * (clamped - MIN_THRESHOLD) / (max - MIN_THRESHOLD)
}

impl Score for ImageLocality {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot<'_>,
        _nodes: &[&NodeInfo],
    ) -> Status {
        let images = pod_images(pod);
        if images.is_empty() {
            return Status::skip();
        }
        let mut holders: HashMap<String, usize> = HashMap::new();
        for node in snapshot.nodes {
            for image in &images {
                if image_size(&node.node, image).is_some() {
                    *holders.entry(image.clone()).or_default() += 1;
                }
            }
        }
        state.write(
            STATE_KEY,
            Spread {
                images,
                holders,
                nodes: snapshot.nodes.len(),
            },
        );
        Status::success()
    }

    fn score(&self, state: &CycleState, _: &PodInfo, node: &NodeInfo) -> i64 {
        let Some(spread) = state.read::<Spread>(STATE_KEY) else {
            return 0;
        };
        let sum: i64 = spread
            .images
            .iter()
            .filter_map(|image| {
                let size = image_size(&node.node, image)?;
                let holders = *spread.holders.get(image)? as f64;
                Some((size as f64 * holders / spread.nodes.max(1) as f64) as i64)
            })
            .sum();
        priority(sum, spread.images.len())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use k8s_openapi::api::core::v1::ContainerImage;

    use super::*;
    use crate::testing::{node, pod};

    fn holding(name: &str, images: &[(&str, i64)]) -> NodeInfo {
        let mut n = node(name, "4", "4Gi");
        if let Some(status) = n.status.as_mut() {
            status.images = Some(
                images
                    .iter()
                    .map(|(image, size)| ContainerImage {
                        names: Some(vec![(*image).to_owned()]),
                        size_bytes: Some(*size),
                    })
                    .collect(),
            );
        }
        NodeInfo::new(Arc::new(n))
    }

    fn scores(nodes: &[NodeInfo], image: &str) -> Vec<i64> {
        let mut p = pod("p", "", "");
        if let Some(spec) = p.spec.as_mut() {
            spec.containers[0].image = Some(image.to_owned());
        }
        let pod = PodInfo::new(Arc::new(p));
        let namespaces = HashMap::new();
        let snapshot = Snapshot {
            nodes,
            namespaces: &namespaces,
            spread: None,
            volumes: &crate::volumes::Volumes::new(),
        };
        let mut state = CycleState::new();
        let refs: Vec<&NodeInfo> = nodes.iter().collect();
        assert!(ImageLocality
            .pre_score(&mut state, &pod, &snapshot, &refs)
            .is_success());
        nodes
            .iter()
            .map(|n| ImageLocality.score(&state, &pod, n))
            .collect()
    }

    #[test]
    fn names_without_a_tag_or_digest_get_latest() {
        assert_eq!(normalized("nginx"), "nginx:latest");
        assert_eq!(normalized("nginx:1.27"), "nginx:1.27");
        assert_eq!(
            normalized("localhost:5000/app"),
            "localhost:5000/app:latest"
        );
        assert_eq!(normalized("app@sha256:abc"), "app@sha256:abc");
    }

    #[test]
    fn a_node_holding_a_big_image_everywhere_scores_by_its_size() {
        let size = 500 * MIB;
        let nodes = [
            holding("a", &[("big:1", size)]),
            holding("b", &[("big:1", size)]),
            holding("c", &[]),
        ];
        let s = scores(&nodes, "big:1");
        assert_eq!(s[2], 0);
        assert!(s[0] > 0 && s[0] == s[1], "{s:?}");
        // Held by two nodes of three: the size counts two thirds.
        let expected = priority(size * 2 / 3, 1);
        assert!((s[0] - expected).abs() <= 1, "{s:?} vs {expected}");
    }

    #[test]
    fn small_images_and_images_held_nowhere_score_nothing() {
        let nodes = [holding("a", &[("tiny:1", 5 * MIB)]), holding("b", &[])];
        assert_eq!(scores(&nodes, "tiny:1"), [0, 0]);
        assert_eq!(scores(&nodes, "other:1"), [0, 0]);
    }
}
