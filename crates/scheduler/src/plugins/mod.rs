//! Upstream's default plugins, each I/O-free, and the default profile that enables them.

pub mod balanced_allocation;
pub mod helpers;
pub mod image_locality;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod pod_topology_spread;
pub mod priority_sort;
pub mod taint_toleration;
pub mod volume_binding;

use std::sync::Arc;

use crate::framework::{Framework, Weighted};

/// The name of the default profile, which pods select by `spec.schedulerName`.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// The default profile: upstream's default plugins at their default weights (NodeResourcesFit
/// scoring LeastAllocated), VolumeBinding's PreBind, DefaultPreemption as the post-filter,
/// adaptive sampling of nodes.
pub fn default_framework() -> Framework {
    let fit = Arc::new(node_resources_fit::NodeResourcesFit::default());
    let affinity = Arc::new(node_affinity::NodeAffinity);
    let taints = Arc::new(taint_toleration::TaintToleration);
    let spread = Arc::new(pod_topology_spread::PodTopologySpread);
    let inter_pod = Arc::new(inter_pod_affinity::InterPodAffinity);
    let ports = Arc::new(node_ports::NodePorts);
    let volumes = Arc::new(volume_binding::VolumeBinding);
    Framework {
        scheduler_name: DEFAULT_SCHEDULER_NAME.to_owned(),
        queue_sort: Arc::new(priority_sort::PrioritySort),
        pre_filter: vec![
            ports.clone(),
            affinity.clone(),
            volumes.clone(),
            spread.clone(),
            inter_pod.clone(),
        ],
        filter: vec![
            Arc::new(node_unschedulable::NodeUnschedulable),
            Arc::new(node_name::NodeName),
            taints.clone(),
            affinity.clone(),
            ports,
            fit.clone(),
            volumes.clone(),
            spread.clone(),
            inter_pod.clone(),
        ],
        score: vec![
            Weighted {
                plugin: taints,
                weight: 3,
            },
            Weighted {
                plugin: affinity,
                weight: 2,
            },
            Weighted {
                plugin: spread,
                weight: 2,
            },
            Weighted {
                plugin: inter_pod,
                weight: 2,
            },
            Weighted {
                plugin: fit,
                weight: 1,
            },
            Weighted {
                plugin: Arc::new(balanced_allocation::BalancedAllocation),
                weight: 1,
            },
            Weighted {
                plugin: Arc::new(image_locality::ImageLocality),
                weight: 1,
            },
        ],
        reserve: Vec::new(),
        permit: Vec::new(),
        pre_bind: vec![volumes],
        preemption: true,
        percentage_of_nodes_to_score: 0,
    }
}
