use super::*;

fn class(name: &str, value: i64, global: bool) -> Value {
    json!({"metadata": {"name": name}, "value": value, "globalDefault": global})
}

fn pod(spec: Value) -> Value {
    json!({"metadata": {"name": "p"}, "spec": spec})
}

#[test]
fn a_named_class_sets_priority_and_its_preemption_policy() {
    let mut never = class("batch", 1000, false);
    never["preemptionPolicy"] = json!("Never");
    let mut p = pod(json!({"priorityClassName": "batch"}));
    apply(&mut p, Resolved::of(&never)).unwrap();
    assert_eq!(p["spec"]["priority"], 1000);
    assert_eq!(p["spec"]["preemptionPolicy"], "Never");
    assert_eq!(p["spec"]["priorityClassName"], "batch");
}

#[test]
fn without_a_global_default_pods_get_priority_zero_and_no_class() {
    let resolved = default_class(&[class("high", 10, false)]);
    assert_eq!(resolved.class, None);
    let mut p = pod(json!({}));
    apply(&mut p, resolved).unwrap();
    assert_eq!(p["spec"]["priority"], 0);
    assert_eq!(p["spec"]["preemptionPolicy"], "PreemptLowerPriority");
    assert!(p["spec"].get("priorityClassName").is_none());
}

#[test]
fn the_lowest_global_default_is_named_on_pods_naming_none() {
    let classes = [
        class("a", 500, true),
        class("b", 100, true),
        class("c", 1, false),
    ];
    let mut p = pod(json!({}));
    apply(&mut p, default_class(&classes)).unwrap();
    assert_eq!(p["spec"]["priorityClassName"], "b");
    assert_eq!(p["spec"]["priority"], 100);
}

#[test]
fn a_priority_in_the_spec_must_match_the_class() {
    let mut p = pod(json!({"priorityClassName": "high", "priority": 5}));
    let err = apply(&mut p, Resolved::of(&class("high", 10, false))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "pods \"p\" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 10 from the given PriorityClass name"
    );
    let mut same = pod(json!({"priorityClassName": "high", "priority": 10}));
    assert!(apply(&mut same, Resolved::of(&class("high", 10, false))).is_ok());
}

#[test]
fn a_preemption_policy_in_the_spec_must_match_the_class() {
    let mut p = pod(json!({"preemptionPolicy": "Never"}));
    let err = apply(&mut p, default_class(&[])).unwrap_err();
    assert!(matches!(err, ApiError::Forbidden(_)), "{err}");
}

#[test]
fn system_classes_are_the_upstream_values() {
    let values: Vec<(&str, i64)> = SYSTEM_PRIORITY_CLASSES
        .iter()
        .map(|(n, v, _)| (*n, *v))
        .collect();
    assert!(values.contains(&("system-cluster-critical", 2_000_000_000)));
    assert!(values.contains(&("system-node-critical", 2_000_001_000)));
}
