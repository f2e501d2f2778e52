//! TaintToleration: a node's NoSchedule and NoExecute taints keep off pods that do not tolerate
//! them; PreferNoSchedule taints only lower the node's score.

use k8s_openapi::api::core::v1::{Taint, Toleration};

use super::helpers::{default_normalize, tolerated};
use crate::framework::{CycleState, Filter, Plugin, Score, Status};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

/// The TaintToleration plugin.
#[derive(Debug, Default)]
pub struct TaintToleration;

/// Upstream's reason for `taint`.
pub fn reason(taint: &Taint) -> String {
    format!(
        "node(s) had untolerated taint {{{}: {}}}",
        taint.key,
        taint.value.as_deref().unwrap_or_default()
    )
}

fn tolerations(pod: &PodInfo) -> &[Toleration] {
    pod.pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default()
}

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        "TaintToleration"
    }
}

impl Filter for TaintToleration {
    fn filter(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let tolerations = tolerations(pod);
        let untolerated = node
            .taints()
            .iter()
            .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
            .find(|t| !tolerated(tolerations, t));
        match untolerated {
            Some(taint) => Status::unresolvable(self.name(), reason(taint)),
            None => Status::success(),
        }
    }
}

impl Score for TaintToleration {
    /// Counts the PreferNoSchedule taints the pod does not tolerate (fewer is better).
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo) -> i64 {
        let prefer: Vec<Toleration> = tolerations(pod)
            .iter()
            .filter(|t| {
                matches!(
                    t.effect.as_deref(),
                    None | Some("") | Some("PreferNoSchedule")
                )
            })
            .cloned()
            .collect();
        node.taints()
            .iter()
            .filter(|t| t.effect == "PreferNoSchedule" && !tolerated(&prefer, t))
            .count() as i64
    }

    fn normalize(&self, _: &CycleState, scores: &mut [i64]) {
        default_normalize(scores, true);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::testing::{node, pod, with_node_spec, with_spec};

    fn tainted(name: &str, effect: &str) -> NodeInfo {
        NodeInfo::new(Arc::new(with_node_spec(node(name, "1", "1Gi"), |s| {
            s.taints = Some(vec![Taint {
                key: "dedicated".to_owned(),
                value: Some("db".to_owned()),
                effect: effect.to_owned(),
                time_added: None,
            }]);
        })))
    }

    fn tolerating() -> PodInfo {
        PodInfo::new(Arc::new(with_spec(pod("t", "", ""), |s| {
            s.tolerations = Some(vec![Toleration {
                key: Some("dedicated".to_owned()),
                operator: Some("Equal".to_owned()),
                value: Some("db".to_owned()),
                ..Toleration::default()
            }]);
        })))
    }

    #[test]
    fn untolerated_no_schedule_taint_rejects_with_upstreams_message() {
        let plain = PodInfo::new(Arc::new(pod("p", "", "")));
        let status =
            TaintToleration.filter(&CycleState::new(), &plain, &tainted("a", "NoSchedule"));
        assert_eq!(
            status.reasons,
            vec!["node(s) had untolerated taint {dedicated: db}".to_owned()]
        );
        assert!(TaintToleration
            .filter(
                &CycleState::new(),
                &tolerating(),
                &tainted("a", "NoExecute")
            )
            .is_success());
    }

    #[test]
    fn prefer_no_schedule_only_lowers_the_score() {
        let plain = PodInfo::new(Arc::new(pod("p", "", "")));
        let soft = tainted("a", "PreferNoSchedule");
        let clean = NodeInfo::new(Arc::new(node("b", "1", "1Gi")));
        let state = CycleState::new();
        assert!(TaintToleration.filter(&state, &plain, &soft).is_success());
        let mut scores = [
            TaintToleration.score(&state, &plain, &soft),
            TaintToleration.score(&state, &plain, &clean),
        ];
        TaintToleration.normalize(&state, &mut scores);
        assert_eq!(scores, [0, 100]);
        assert_eq!(TaintToleration.score(&state, &tolerating(), &soft), 0);
    }
}
