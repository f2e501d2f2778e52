//! Builders of nodes and pods for tests and the benchmark.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, Node, NodeSpec, NodeStatus, Pod, PodSpec, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

fn quantities(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Quantity((*v).to_owned())))
        .collect()
}

/// A ready node with `cpu` and `memory` allocatable and room for 110 pods.
pub fn node(name: &str, cpu: &str, memory: &str) -> Node {
    let resources = quantities(&[("cpu", cpu), ("memory", memory), ("pods", "110")]);
    Node {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(BTreeMap::from([(
                "kubernetes.io/hostname".to_owned(),
                name.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec::default()),
        status: Some(NodeStatus {
            capacity: Some(resources.clone()),
            allocatable: Some(resources),
            ..NodeStatus::default()
        }),
    }
}

/// A pending pod in `default` with one container requesting `cpu` and `memory` ("" for none).
pub fn pod(name: &str, cpu: &str, memory: &str) -> Pod {
    let requests: Vec<(&str, &str)> = [("cpu", cpu), ("memory", memory)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    Pod {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some("default".to_owned()),
            uid: Some(format!("uid-{name}")),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "c".to_owned(),
                resources: Some(ResourceRequirements {
                    requests: Some(quantities(&requests)),
                    ..ResourceRequirements::default()
                }),
                ..Container::default()
            }],
            scheduler_name: Some("default-scheduler".to_owned()),
            ..PodSpec::default()
        }),
        status: None,
    }
}

/// `obj` with `labels` added.
pub fn with_labels<T: k8s_openapi::Metadata<Ty = ObjectMeta>>(
    mut obj: T,
    labels: &[(&str, &str)],
) -> T {
    let map = obj.metadata_mut().labels.get_or_insert_with(BTreeMap::new);
    for (k, v) in labels {
        map.insert((*k).to_owned(), (*v).to_owned());
    }
    obj
}

/// A pod labelled `app=web` that spreads the `app=web` pods over `zone` with one constraint.
pub fn zone_spread_pod(name: &str, when_unsatisfiable: &str, max_skew: i32) -> Pod {
    let constraints = serde_json::from_value(serde_json::json!([{
        "maxSkew": max_skew, "topologyKey": "zone", "whenUnsatisfiable": when_unsatisfiable,
        "labelSelector": {"matchLabels": {"app": "web"}},
    }]))
    .ok();
    with_labels(
        with_spec(pod(name, "", ""), |s| {
            s.topology_spread_constraints = constraints
        }),
        &[("app", "web")],
    )
}

/// `pod` with its spec changed by `f`.
pub fn with_spec(mut pod: Pod, f: impl FnOnce(&mut PodSpec)) -> Pod {
    if let Some(spec) = pod.spec.as_mut() {
        f(spec);
    }
    pod
}

/// `node` with its spec changed by `f`.
pub fn with_node_spec(mut node: Node, f: impl FnOnce(&mut NodeSpec)) -> Node {
    f(node.spec.get_or_insert_with(NodeSpec::default));
    node
}
