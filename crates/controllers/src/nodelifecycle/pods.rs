//! Pods on a node that stopped answering: their Ready condition turns False (upstream's
//! `MarkPodsNotReady`), so Services stop sending them traffic before they are evicted.

use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// The pod's conditions with Ready turned False at `now`; `None` when it has no Ready
/// condition or it is already False.
pub fn not_ready_conditions(pod: &Pod, now: Timestamp) -> Option<Vec<PodCondition>> {
    let mut conditions = pod.status.as_ref()?.conditions.clone()?;
    let ready = conditions
        .iter_mut()
        .find(|c| c.type_ == "Ready" && c.status != "False")?;
    ready.status = "False".to_owned();
    ready.last_transition_time = Some(Time(now));
    Some(conditions)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::PodStatus;

    use super::*;

    fn pod(ready: Option<&str>) -> Pod {
        Pod {
            status: Some(PodStatus {
                conditions: Some(
                    ready
                        .map(|s| PodCondition {
                            type_: "Ready".to_owned(),
                            status: s.to_owned(),
                            ..PodCondition::default()
                        })
                        .into_iter()
                        .collect(),
                ),
                ..PodStatus::default()
            }),
            ..Pod::default()
        }
    }

    #[test]
    fn ready_pods_turn_not_ready_once() {
        let now = Timestamp::UNIX_EPOCH;
        let conditions = not_ready_conditions(&pod(Some("True")), now).unwrap_or_default();
        assert_eq!(conditions[0].status, "False");
        assert_eq!(conditions[0].last_transition_time, Some(Time(now)));
        assert_eq!(not_ready_conditions(&pod(Some("False")), now), None);
        assert_eq!(not_ready_conditions(&pod(None), now), None);
    }
}
