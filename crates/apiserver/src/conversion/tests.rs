//! The conversions through their JSON entry points: upstream's examples and lossless round trips.

use serde_json::{json, Value};

use super::{autoscaling, events, Conversion, ConversionError};

fn hpa_v1(spec: Value) -> Value {
    json!({
        "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default", "resourceVersion": "7"},
        "spec": spec,
    })
}

fn scale_target() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"})
}

#[test]
fn v1_cpu_target_is_stored_as_a_v2_cpu_utilization_metric() {
    let conversion = autoscaling::conversion();
    let v1 = hpa_v1(json!({"scaleTargetRef": scale_target(), "minReplicas": 2,
        "maxReplicas": 5, "targetCPUUtilizationPercentage": 60}));
    let v2 = conversion.to_storage(v1.clone()).unwrap();
    assert_eq!(v2["apiVersion"], "autoscaling/v2");
    assert_eq!(
        v2["spec"]["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 60}}}])
    );
    assert_eq!(v2["metadata"]["resourceVersion"], "7");
    assert!(v2["metadata"].get("annotations").is_none());
    assert_eq!(conversion.to_served(v2).unwrap(), v1);
}

#[test]
fn v1_without_cpu_target_is_stored_with_upstreams_default_of_eighty() {
    let conversion = autoscaling::conversion();
    let v1 = hpa_v1(json!({"scaleTargetRef": scale_target(), "maxReplicas": 5}));
    let v2 = conversion.to_storage(v1).unwrap();
    assert_eq!(
        v2["spec"]["minReplicas"], 1,
        "v2 defaults apply to what is stored"
    );
    assert_eq!(
        v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        80
    );
    let back = conversion.to_served(v2).unwrap();
    assert_eq!(back["spec"]["targetCPUUtilizationPercentage"], 80);
}

fn rich_v2() -> Value {
    json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default", "annotations": {"team": "a"}},
        "spec": {
            "scaleTargetRef": scale_target(), "minReplicas": 1, "maxReplicas": 10,
            "metrics": [
                {"type": "Resource", "resource": {"name": "memory",
                    "target": {"type": "AverageValue", "averageValue": "100Mi"}}},
                {"type": "Pods", "pods": {"metric": {"name": "qps"},
                    "target": {"type": "AverageValue", "averageValue": "10"}}},
                {"type": "Object", "object": {
                    "describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main"},
                    "metric": {"name": "hits"}, "target": {"type": "Value", "value": "2k"}}},
                {"type": "External", "external": {"metric": {"name": "queue"},
                    "target": {"type": "AverageValue", "averageValue": "30"}}},
                {"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70}}},
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}},
        },
        "status": {
            "currentReplicas": 3, "desiredReplicas": 4, "observedGeneration": 2,
            "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu",
                "current": {"averageUtilization": 85, "averageValue": "170m"}}}],
            "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
                "lastTransitionTime": "2025-01-01T00:00:00Z"}],
        },
    })
}

#[test]
fn v2_only_content_survives_a_round_trip_through_v1_annotations() {
    let conversion = autoscaling::conversion();
    let v1 = conversion.to_served(rich_v2()).unwrap();
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 70);
    assert_eq!(v1["status"]["currentCPUUtilizationPercentage"], 85);
    assert_eq!(v1["status"]["currentReplicas"], 3);
    let annotations = &v1["metadata"]["annotations"];
    assert_eq!(annotations["team"], "a");
    let metrics: Value = serde_json::from_str(
        annotations[autoscaling::METRICS_ANNOTATION]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        metrics.as_array().map(Vec::len),
        Some(4),
        "all but the cpu target"
    );
    assert_eq!(
        metrics[1],
        json!({"type": "Pods", "pods": {"metricName": "qps", "targetAverageValue": "10"}}),
        "kept in the autoscaling/v1 metric form"
    );
    for key in [
        autoscaling::BEHAVIOR_ANNOTATION,
        autoscaling::CURRENT_METRICS_ANNOTATION,
        autoscaling::CONDITIONS_ANNOTATION,
    ] {
        assert!(annotations.get(key).is_some(), "{key}");
    }
    let mut back = conversion.to_storage(v1).unwrap();
    // Upstream fills the unset scale-up rules of a given behavior when it stores it.
    back["spec"]["behavior"]
        .as_object_mut()
        .map(|b| b.remove("scaleUp"));
    assert_eq!(back, rich_v2());
}

#[test]
fn v1_objects_survive_a_round_trip_through_storage() {
    let conversion = autoscaling::conversion();
    let mut stored = rich_v2();
    crate::strategy::autoscaling::horizontal_pod_autoscaler_v2(&mut stored);
    let v1 = conversion.to_served(stored).unwrap();
    let stored = conversion.to_storage(v1.clone()).unwrap();
    assert_eq!(conversion.to_served(stored).unwrap(), v1);
}

#[test]
fn unreadable_metric_annotations_are_refused() {
    let conversion = autoscaling::conversion();
    let mut v1 = hpa_v1(json!({"scaleTargetRef": scale_target(), "maxReplicas": 5}));
    v1["metadata"]["annotations"] = json!({(autoscaling::METRICS_ANNOTATION): "not json"});
    let err = conversion.to_storage(v1).unwrap_err();
    assert!(matches!(err, ConversionError::Annotation { .. }), "{err}");
}

fn new_style_event() -> Value {
    json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "web.17", "namespace": "default"},
        "eventTime": "2025-01-01T00:00:00.123456Z",
        "series": {"count": 3, "lastObservedTime": "2025-01-01T00:05:00.000000Z"},
        "regarding": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
            "namespace": "default", "uid": "u1"},
        "related": {"kind": "Pod", "name": "web-1", "namespace": "default"},
        "reason": "Scaled", "action": "Scale", "note": "scaled up", "type": "Normal",
        "reportingController": "example.com/ctl", "reportingInstance": "ctl-1",
        "deprecatedSource": {"component": "ctl"}, "deprecatedCount": 3,
        "deprecatedFirstTimestamp": "2025-01-01T00:00:00Z",
        "deprecatedLastTimestamp": "2025-01-01T00:05:00Z",
    })
}

#[test]
fn events_v1_fields_are_stored_under_their_core_names_and_come_back() {
    let conversion = events::conversion();
    let core = conversion.to_storage(new_style_event()).unwrap();
    assert_eq!(core["apiVersion"], "v1");
    assert_eq!(core["message"], "scaled up");
    assert_eq!(core["involvedObject"]["name"], "web");
    assert_eq!(core["reportingComponent"], "example.com/ctl");
    assert_eq!(core["source"], json!({"component": "ctl"}));
    assert_eq!(core["count"], 3);
    assert_eq!(core["firstTimestamp"], "2025-01-01T00:00:00Z");
    assert_eq!(core["series"]["count"], 3);
    assert_eq!(conversion.to_served(core).unwrap(), new_style_event());
}

#[test]
fn core_events_read_through_events_v1_come_back_unchanged() {
    let conversion = events::conversion();
    let core = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web.1", "namespace": "default", "resourceVersion": "9"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
        "reason": "Pulled", "message": "pulled", "type": "Normal", "count": 2,
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2025-01-01T00:00:00Z", "lastTimestamp": "2025-01-01T00:01:00Z",
    });
    let v1 = conversion.to_served(core.clone()).unwrap();
    assert_eq!(v1["note"], "pulled");
    assert_eq!(v1["deprecatedSource"]["host"], "node-1");
    assert_eq!(conversion.to_storage(v1).unwrap(), core);
}

#[test]
fn events_v1_field_labels_select_core_fields() {
    let conversion = events::conversion();
    assert_eq!(
        conversion.storage_field("regarding.name"),
        "involvedObject.name"
    );
    assert_eq!(
        conversion.storage_field("reportingController"),
        "reportingComponent"
    );
    assert_eq!(conversion.storage_field("reason"), "reason");
}
