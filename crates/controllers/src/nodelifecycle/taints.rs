//! The taints the node lifecycle controller keeps on nodes: `NoSchedule` taints mirroring the
//! node's conditions and `spec.unschedulable` (upstream's TaintNodesByCondition), and the
//! `NoExecute` not-ready / unreachable taint that makes the taint eviction controller move
//! pods away. Every other taint is left as it is.

use k8s_openapi::api::core::v1::{NodeCondition, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::health::READY;

/// The taint of a node whose Ready condition is False.
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
/// The taint of a node whose Ready condition is Unknown.
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// The taint of a cordoned node.
pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
/// The effect that keeps new pods off a node.
pub const NO_SCHEDULE: &str = "NoSchedule";
/// The effect that evicts running pods that do not tolerate it.
pub const NO_EXECUTE: &str = "NoExecute";

/// Which condition status puts which `NoSchedule` taint on a node.
const CONDITION_TAINTS: [(&str, &str, &str); 6] = [
    (READY, "False", NOT_READY),
    (READY, "Unknown", UNREACHABLE),
    (
        "MemoryPressure",
        "True",
        "node.kubernetes.io/memory-pressure",
    ),
    ("DiskPressure", "True", "node.kubernetes.io/disk-pressure"),
    (
        "NetworkUnavailable",
        "True",
        "node.kubernetes.io/network-unavailable",
    ),
    ("PIDPressure", "True", "node.kubernetes.io/pid-pressure"),
];

/// Whether this controller owns `taint` (adds and removes it).
fn managed(taint: &Taint) -> bool {
    match taint.effect.as_str() {
        NO_SCHEDULE => {
            taint.key == UNSCHEDULABLE || CONDITION_TAINTS.iter().any(|(_, _, k)| *k == taint.key)
        }
        NO_EXECUTE => taint.key == NOT_READY || taint.key == UNREACHABLE,
        _ => false,
    }
}

/// The (key, effect) pairs the node should carry given its conditions and cordon. With no
/// Ready condition at all the `NoExecute` taints are left as they are (`None`).
fn wanted(
    conditions: &[NodeCondition],
    unschedulable: bool,
) -> (Vec<&'static str>, Option<&'static str>) {
    let mut no_schedule: Vec<&'static str> = CONDITION_TAINTS
        .iter()
        .filter(|(kind, status, _)| {
            conditions
                .iter()
                .any(|c| c.type_ == *kind && c.status == *status)
        })
        .map(|(_, _, key)| *key)
        .collect();
    if unschedulable {
        no_schedule.push(UNSCHEDULABLE);
    }
    let ready = conditions.iter().find(|c| c.type_ == READY);
    let no_execute = match ready.map(|c| c.status.as_str()) {
        Some("False") => Some(NOT_READY),
        Some("Unknown") => Some(UNREACHABLE),
        _ => None,
    };
    (no_schedule, no_execute)
}

/// The node's taints after bringing the managed ones in line with `conditions` and
/// `unschedulable`: kept taints keep their `timeAdded`, new ones are added at `now`. `None`
/// when nothing changes.
pub fn reconcile(
    current: &[Taint],
    conditions: &[NodeCondition],
    unschedulable: bool,
    now: Timestamp,
) -> Option<Vec<Taint>> {
    let has_ready = conditions.iter().any(|c| c.type_ == READY);
    let (no_schedule, no_execute) = wanted(conditions, unschedulable);
    let wanted_pairs: Vec<(&str, &str)> = no_schedule
        .iter()
        .map(|k| (*k, NO_SCHEDULE))
        .chain(no_execute.map(|k| (k, NO_EXECUTE)))
        .collect();
    let keep = |t: &Taint| {
        !managed(t)
            || (t.effect == NO_EXECUTE && !has_ready)
            || wanted_pairs.contains(&(t.key.as_str(), t.effect.as_str()))
    };
    let mut taints: Vec<Taint> = current.iter().filter(|t| keep(t)).cloned().collect();
    for (key, effect) in wanted_pairs {
        if !taints.iter().any(|t| t.key == key && t.effect == effect) {
            taints.push(Taint {
                key: key.to_owned(),
                effect: effect.to_owned(),
                time_added: Some(Time(now)),
                value: None,
            });
        }
    }
    (taints != current).then_some(taints)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::SignedDuration;

    use super::*;

    fn ready(status: &str) -> NodeCondition {
        NodeCondition {
            type_: READY.to_owned(),
            status: status.to_owned(),
            ..NodeCondition::default()
        }
    }

    fn taint(key: &str, effect: &str) -> Taint {
        Taint {
            key: key.to_owned(),
            effect: effect.to_owned(),
            time_added: Some(Time(Timestamp::UNIX_EPOCH)),
            value: None,
        }
    }

    fn pairs(taints: &[Taint]) -> Vec<(String, String)> {
        taints
            .iter()
            .map(|t| (t.key.clone(), t.effect.clone()))
            .collect()
    }

    fn now() -> Timestamp {
        Timestamp::UNIX_EPOCH + SignedDuration::from_secs(100)
    }

    #[test]
    fn an_unreachable_node_gets_both_unreachable_taints() {
        let taints = reconcile(&[], &[ready("Unknown")], false, now()).unwrap();
        assert_eq!(
            pairs(&taints),
            [
                (UNREACHABLE.to_owned(), NO_SCHEDULE.to_owned()),
                (UNREACHABLE.to_owned(), NO_EXECUTE.to_owned())
            ]
        );
        assert!(taints.iter().all(|t| t.time_added == Some(Time(now()))));
    }

    #[test]
    fn a_not_ready_node_swaps_unreachable_for_not_ready() {
        let current = [
            taint(UNREACHABLE, NO_SCHEDULE),
            taint(UNREACHABLE, NO_EXECUTE),
        ];
        let taints = reconcile(&current, &[ready("False")], false, now()).unwrap();
        assert_eq!(
            pairs(&taints),
            [
                (NOT_READY.to_owned(), NO_SCHEDULE.to_owned()),
                (NOT_READY.to_owned(), NO_EXECUTE.to_owned())
            ]
        );
    }

    #[test]
    fn a_ready_node_loses_managed_taints_and_keeps_others() {
        let current = [
            taint("dedicated", NO_SCHEDULE),
            taint(UNREACHABLE, NO_EXECUTE),
            taint(UNREACHABLE, NO_SCHEDULE),
        ];
        let taints = reconcile(&current, &[ready("True")], false, now()).unwrap();
        assert_eq!(
            pairs(&taints),
            [("dedicated".to_owned(), NO_SCHEDULE.to_owned())]
        );
    }

    #[test]
    fn a_cordoned_node_is_tainted_unschedulable_once() {
        let taints = reconcile(&[], &[ready("True")], true, now()).unwrap();
        assert_eq!(
            pairs(&taints),
            [(UNSCHEDULABLE.to_owned(), NO_SCHEDULE.to_owned())]
        );
        assert_eq!(reconcile(&taints, &[ready("True")], true, now()), None);
        assert_eq!(
            reconcile(&taints, &[ready("True")], false, now()),
            Some(Vec::new())
        );
    }

    #[test]
    fn without_a_ready_condition_no_execute_taints_stay() {
        let current = [taint(NOT_READY, NO_EXECUTE)];
        assert_eq!(reconcile(&current, &[], false, now()), None);
    }

    #[test]
    fn pressure_conditions_add_their_no_schedule_taints() {
        let pressure = NodeCondition {
            type_: "DiskPressure".to_owned(),
            status: "True".to_owned(),
            ..NodeCondition::default()
        };
        let taints = reconcile(&[], &[ready("True"), pressure], false, now()).unwrap();
        assert_eq!(
            pairs(&taints),
            [(
                "node.kubernetes.io/disk-pressure".to_owned(),
                NO_SCHEDULE.to_owned()
            )]
        );
    }
}
