#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::api::core::v1::{Taint, Toleration};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::*;

fn at(secs: i64) -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_secs(secs)
}

fn taint(key: &str, effect: &str) -> Taint {
    Taint {
        key: key.to_owned(),
        effect: effect.to_owned(),
        ..Taint::default()
    }
}

fn toleration(key: &str, seconds: Option<i64>) -> Toleration {
    Toleration {
        key: Some(key.to_owned()),
        operator: Some("Exists".to_owned()),
        effect: Some("NoExecute".to_owned()),
        toleration_seconds: seconds,
        ..Toleration::default()
    }
}

const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

#[test]
fn an_untolerated_no_execute_taint_evicts_at_once() {
    let taints = [taint(UNREACHABLE, "NoExecute")];
    assert_eq!(plan("u", &[], &taints, None, at(0)), Plan::Now);
}

#[test]
fn no_schedule_taints_evict_nobody() {
    let taints = [taint(UNREACHABLE, "NoSchedule")];
    assert_eq!(plan("u", &[], &taints, None, at(0)), Plan::Nothing);
}

#[test]
fn a_tolerated_taint_evicts_after_the_toleration_seconds_from_first_sight() {
    let taints = [taint(UNREACHABLE, "NoExecute")];
    let tolerations = [toleration(UNREACHABLE, Some(5))];
    let first = plan("u", &tolerations, &taints, None, at(10));
    let Plan::At(scheduled) = first else {
        panic!("expected a schedule, got {first:?}")
    };
    assert_eq!(scheduled.fire_at, at(15));
    let later = plan("u", &tolerations, &taints, Some(&scheduled), at(12));
    assert_eq!(later, Plan::At(scheduled.clone()));
    assert_eq!(
        plan("u", &tolerations, &taints, Some(&scheduled), at(15)),
        Plan::Now
    );
}

#[test]
fn the_shortest_toleration_of_several_taints_wins() {
    let taints = [
        taint(UNREACHABLE, "NoExecute"),
        taint("dedicated", "NoExecute"),
    ];
    let tolerations = [
        toleration(UNREACHABLE, Some(300)),
        toleration("dedicated", Some(7)),
    ];
    let Plan::At(s) = plan("u", &tolerations, &taints, None, at(0)) else {
        panic!("expected a schedule")
    };
    assert_eq!(s.fire_at, at(7));
}

#[test]
fn tolerating_forever_cancels_a_scheduled_eviction() {
    let taints = [taint(UNREACHABLE, "NoExecute")];
    let scheduled = Scheduled {
        uid: "u".to_owned(),
        created: at(0),
        fire_at: at(5),
    };
    let forever = [toleration(UNREACHABLE, None)];
    assert_eq!(
        plan("u", &forever, &taints, Some(&scheduled), at(1)),
        Plan::Cancel
    );
    assert_eq!(plan("u", &forever, &taints, None, at(1)), Plan::Nothing);
}

#[test]
fn taints_going_away_cancel_the_eviction() {
    let scheduled = Scheduled {
        uid: "u".to_owned(),
        created: at(0),
        fire_at: at(5),
    };
    let tolerations = [toleration(UNREACHABLE, Some(5))];
    assert_eq!(
        plan("u", &tolerations, &[], Some(&scheduled), at(1)),
        Plan::Cancel
    );
}

#[test]
fn a_schedule_of_another_pod_with_the_same_name_is_ignored() {
    let taints = [taint(UNREACHABLE, "NoExecute")];
    let old = Scheduled {
        uid: "old".to_owned(),
        created: at(0),
        fire_at: at(5),
    };
    let tolerations = [toleration(UNREACHABLE, Some(5))];
    let Plan::At(s) = plan("new", &tolerations, &taints, Some(&old), at(4)) else {
        panic!("expected a schedule")
    };
    assert_eq!(s.fire_at, at(9));
}

#[test]
fn tolerations_match_by_key_effect_operator_and_value() {
    let t = Taint {
        key: "k".to_owned(),
        value: Some("v".to_owned()),
        effect: "NoExecute".to_owned(),
        ..Taint::default()
    };
    let equal = |value: &str| Toleration {
        key: Some("k".to_owned()),
        value: Some(value.to_owned()),
        ..Toleration::default()
    };
    assert!(tolerates(&equal("v"), &t));
    assert!(!tolerates(&equal("w"), &t));
    let everything = Toleration {
        operator: Some("Exists".to_owned()),
        ..Toleration::default()
    };
    assert!(tolerates(&everything, &t));
    let other_effect = Toleration {
        effect: Some("NoSchedule".to_owned()),
        ..everything.clone()
    };
    assert!(!tolerates(&other_effect, &t));
}
