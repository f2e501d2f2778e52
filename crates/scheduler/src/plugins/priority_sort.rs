//! PrioritySort: the active queue pops higher `spec.priority` first, then earlier arrivals.

use crate::framework::{Plugin, QueueSort};
use crate::pod_info::PodInfo;

/// The PrioritySort plugin.
#[derive(Debug, Default)]
pub struct PrioritySort;

impl Plugin for PrioritySort {
    fn name(&self) -> &'static str {
        "PrioritySort"
    }
}

impl QueueSort for PrioritySort {
    fn rank(&self, pod: &PodInfo) -> i64 {
        i64::from(pod.priority)
    }
}
