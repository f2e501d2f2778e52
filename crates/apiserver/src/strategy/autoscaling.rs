//! Upstream's defaulting of HorizontalPodAutoscalers, per served version.

use serde_json::{json, Map, Value};

use crate::conversion::autoscaling::DEFAULT_CPU_UTILIZATION;

/// autoscaling/v1: `minReplicas` 1. (The cpu target default is applied by the conversion,
/// which sees the metrics kept in annotations.)
pub fn horizontal_pod_autoscaler_v1(obj: &mut Value) {
    default_min_replicas(obj);
}

/// autoscaling/v2: `minReplicas` 1, a cpu utilization target of 80% when there are no
/// metrics, and every unset field of a given `behavior` filled from upstream's scaling rules.
pub fn horizontal_pod_autoscaler_v2(obj: &mut Value) {
    default_min_replicas(obj);
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if spec
        .get("metrics")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        spec.insert(
            "metrics".to_owned(),
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]),
        );
    }
    if let Some(behavior) = spec.get_mut("behavior").and_then(Value::as_object_mut) {
        fill_rules(behavior, "scaleUp", scale_up_rules());
        fill_rules(behavior, "scaleDown", scale_down_rules());
    }
}

fn default_min_replicas(obj: &mut Value) {
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        if spec.get("minReplicas").is_none_or(Value::is_null) {
            spec.insert("minReplicas".to_owned(), json!(1));
        }
    }
}

/// Scale up by at most 4 pods or 100% every 15 s, whichever is more, with no stabilization.
fn scale_up_rules() -> Map<String, Value> {
    let rules = json!({
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ],
    });
    rules.as_object().cloned().unwrap_or_default()
}

/// Scale down by at most 100% every 15 s; the stabilization window stays unset (the
/// controller's flag decides it).
fn scale_down_rules() -> Map<String, Value> {
    let rules = json!({
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
    });
    rules.as_object().cloned().unwrap_or_default()
}

/// Keeps every field `behavior[direction]` sets and takes the rest from `defaults`.
fn fill_rules(behavior: &mut Map<String, Value>, direction: &str, defaults: Map<String, Value>) {
    let mut rules = defaults;
    if let Some(given) = behavior.get(direction).and_then(Value::as_object) {
        for (key, value) in given {
            if !value.is_null() {
                rules.insert(key.clone(), value.clone());
            }
        }
    }
    behavior.insert(direction.to_owned(), Value::Object(rules));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_without_metrics_targets_eighty_percent_cpu_and_one_replica() {
        let mut hpa = json!({"spec": {"maxReplicas": 5}});
        horizontal_pod_autoscaler_v2(&mut hpa);
        assert_eq!(hpa["spec"]["minReplicas"], 1);
        assert_eq!(
            hpa["spec"]["metrics"][0]["resource"]["target"],
            json!({"type": "Utilization", "averageUtilization": 80})
        );
        assert!(hpa["spec"].get("behavior").is_none());
    }

    #[test]
    fn v2_behavior_keeps_given_fields_and_fills_the_rest() {
        let mut hpa = json!({"spec": {"maxReplicas": 5, "minReplicas": 2,
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}});
        horizontal_pod_autoscaler_v2(&mut hpa);
        let behavior = &hpa["spec"]["behavior"];
        assert_eq!(hpa["spec"]["minReplicas"], 2);
        assert_eq!(behavior["scaleDown"]["stabilizationWindowSeconds"], 60);
        assert_eq!(behavior["scaleDown"]["selectPolicy"], "Max");
        assert_eq!(behavior["scaleUp"]["stabilizationWindowSeconds"], 0);
        assert_eq!(behavior["scaleUp"]["policies"][0]["type"], "Pods");
    }

    #[test]
    fn v1_defaults_only_min_replicas() {
        let mut hpa = json!({"spec": {"maxReplicas": 5}});
        horizontal_pod_autoscaler_v1(&mut hpa);
        assert_eq!(hpa, json!({"spec": {"maxReplicas": 5, "minReplicas": 1}}));
    }
}
