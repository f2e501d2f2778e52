use super::*;
use serde_json::json;

fn at(seconds: i64) -> Timestamp {
    let start: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
    start
        .saturating_add(SignedDuration::from_secs(seconds))
        .unwrap()
}

const FIVE_MINUTES: Duration = Duration::from_secs(300);

fn behavior(value: serde_json::Value) -> HorizontalPodAutoscalerBehavior {
    serde_json::from_value(value).unwrap()
}

#[test]
fn without_behavior_scale_up_is_capped_at_double_or_four() {
    let mut h = History::default();
    let n = h.normalize(None, FIVE_MINUTES, 1, 10, 1, 20, at(0));
    assert_eq!(n.replicas, 4);
    assert_eq!(n.limited, (true, UP_LIMIT));
    let n = h.normalize(None, FIVE_MINUTES, 5, 30, 1, 20, at(15));
    assert_eq!(n.replicas, 10);
    let n = h.normalize(None, FIVE_MINUTES, 10, 30, 1, 12, at(30));
    assert_eq!((n.replicas, n.limited), (12, (true, TOO_MANY)));
}

#[test]
fn without_behavior_scale_down_waits_out_the_stabilization_window() {
    let mut h = History::default();
    assert_eq!(
        h.normalize(None, FIVE_MINUTES, 5, 5, 1, 10, at(0)).replicas,
        5
    );
    let n = h.normalize(None, FIVE_MINUTES, 5, 2, 1, 10, at(60));
    assert_eq!((n.replicas, n.able), (5, DOWN_STABILIZED));
    // Once the recommendation of 5 is older than the window, 2 applies.
    let n = h.normalize(None, FIVE_MINUTES, 5, 2, 1, 10, at(301));
    assert_eq!((n.replicas, n.able, n.limited), (2, READY, (false, WITHIN)));
}

#[test]
fn the_minimum_and_maximum_bound_the_result() {
    let mut h = History::default();
    let n = h.normalize(None, Duration::ZERO, 3, 0, 2, 10, at(0));
    assert_eq!((n.replicas, n.limited), (2, (true, TOO_FEW)));
}

#[test]
fn scale_up_policies_limit_the_rate_per_period() {
    let b = behavior(json!({
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
            "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]},
        "scaleDown": {"policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}}));
    let mut h = History::default();
    let n = h.normalize(Some(&b), FIVE_MINUTES, 2, 10, 1, 20, at(0));
    assert_eq!((n.replicas, n.limited), (4, (true, UP_LIMIT)));
    h.record_scale(Some(&b), 2, 4, at(0));
    // Within the same minute the budget of 2 is spent.
    assert_eq!(
        h.normalize(Some(&b), FIVE_MINUTES, 4, 10, 1, 20, at(30))
            .replicas,
        4
    );
    // After it, 2 more.
    assert_eq!(
        h.normalize(Some(&b), FIVE_MINUTES, 4, 10, 1, 20, at(61))
            .replicas,
        6
    );
}

#[test]
fn select_policy_min_takes_the_smallest_change() {
    let b = behavior(json!({
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Min",
            "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 50, "periodSeconds": 15}]}}));
    let mut h = History::default();
    // Pods allows 10 + 4 = 14, Percent 10 × 1.5 = 15: Min picks 14.
    assert_eq!(
        h.normalize(Some(&b), FIVE_MINUTES, 10, 30, 1, 50, at(0))
            .replicas,
        14
    );
}

#[test]
fn scale_down_percent_policies_and_disabled_scale_down() {
    let b = behavior(json!({
        "scaleDown": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]}}));
    let mut h = History::default();
    let n = h.normalize(Some(&b), FIVE_MINUTES, 10, 1, 1, 20, at(0));
    assert_eq!((n.replicas, n.limited), (9, (true, DOWN_LIMIT)));
    let off = behavior(json!({"scaleDown": {"selectPolicy": "Disabled",
        "stabilizationWindowSeconds": 0}}));
    let mut h = History::default();
    assert_eq!(
        h.normalize(Some(&off), FIVE_MINUTES, 10, 1, 1, 20, at(0))
            .replicas,
        10
    );
}

#[test]
fn scale_up_stabilization_applies_the_lowest_recent_recommendation() {
    let b = behavior(json!({"scaleUp": {"stabilizationWindowSeconds": 60,
        "policies": [{"type": "Percent", "value": 900, "periodSeconds": 15}]}}));
    let mut h = History::default();
    assert_eq!(
        h.normalize(Some(&b), FIVE_MINUTES, 2, 2, 1, 20, at(0))
            .replicas,
        2
    );
    let n = h.normalize(Some(&b), FIVE_MINUTES, 2, 8, 1, 20, at(10));
    assert_eq!((n.replicas, n.able), (2, UP_STABILIZED));
    assert_eq!(
        h.normalize(Some(&b), FIVE_MINUTES, 2, 8, 1, 20, at(61))
            .replicas,
        8
    );
}
