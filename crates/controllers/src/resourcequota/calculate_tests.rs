use super::*;
use serde_json::json;

fn now() -> Timestamp {
    "2024-01-01T00:00:00Z".parse().unwrap()
}

fn quota(spec: serde_json::Value, status: serde_json::Value) -> ResourceQuota {
    serde_json::from_value(json!({"metadata": {"name": "q", "namespace": "ns"},
        "spec": spec, "status": status}))
    .unwrap()
}

fn pod(spec: serde_json::Value) -> Arc<Pod> {
    Arc::new(serde_json::from_value(json!({ "spec": spec })).unwrap())
}

fn small_pod() -> Arc<Pod> {
    pod(json!({"containers": [{"name": "a", "resources": {
        "requests": {"cpu": "100m", "memory": "50Mi"}}}]}))
}

fn best_effort_pod() -> Arc<Pod> {
    pod(json!({"containers": [{"name": "a"}], "activeDeadlineSeconds": 10}))
}

fn wire(status: &ResourceQuotaStatus) -> serde_json::Value {
    serde_json::to_value(status).unwrap()
}

#[test]
fn first_sync_writes_hard_and_used_for_every_limited_name() {
    let q = quota(
        json!({"hard": {"pods": "10", "requests.cpu": "1", "configmaps": "5",
            "count/deployments.apps": "2", "services": "3"}}),
        json!({}),
    );
    let inventory = Inventory {
        pods: vec![small_pod(), small_pod(), best_effort_pod()],
        counts: [
            ("configmaps".to_owned(), 2),
            ("deployments.apps".to_owned(), 1),
        ]
        .into(),
        ..Inventory::default()
    };
    let status = status(&q, &inventory, now()).unwrap();
    assert_eq!(
        wire(&status),
        json!({
            "hard": {"configmaps": "5", "count/deployments.apps": "2", "pods": "10",
                "requests.cpu": "1", "services": "3"},
            "used": {"configmaps": "2", "count/deployments.apps": "1", "pods": "3",
                "requests.cpu": "200m", "services": "0"},
        })
    );
}

#[test]
fn unchanged_usage_writes_nothing() {
    let q = quota(
        json!({"hard": {"pods": "10"}}),
        json!({"hard": {"pods": "10"}, "used": {"pods": "1"}}),
    );
    let inventory = Inventory {
        pods: vec![small_pod()],
        ..Inventory::default()
    };
    assert_eq!(status(&q, &inventory, now()), None);
}

#[test]
fn uncountable_resources_keep_their_last_usage_and_dropped_names_go() {
    let q = quota(
        json!({"hard": {"count/widgets.example.com": "4"}}),
        json!({"hard": {"count/widgets.example.com": "4", "pods": "2"},
            "used": {"count/widgets.example.com": "3", "pods": "1"}}),
    );
    let status = status(&q, &Inventory::default(), now()).unwrap();
    assert_eq!(
        wire(&status),
        json!({"hard": {"count/widgets.example.com": "4"},
            "used": {"count/widgets.example.com": "3"}})
    );
}

#[test]
fn scopes_select_the_pods_counted() {
    let cases = [
        (json!({"scopes": ["BestEffort"]}), "1"),
        (json!({"scopes": ["NotBestEffort"]}), "2"),
        (json!({"scopes": ["Terminating"]}), "1"),
        (json!({"scopes": ["NotTerminating", "NotBestEffort"]}), "2"),
        (
            json!({"scopeSelector": {"matchExpressions": [
                {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}}),
            "1",
        ),
        (
            json!({"scopeSelector": {"matchExpressions": [
                {"scopeName": "PriorityClass", "operator": "NotIn", "values": ["high"]}]}}),
            "2",
        ),
        (
            json!({"scopeSelector": {"matchExpressions": [
                {"scopeName": "PriorityClass", "operator": "Exists"}]}}),
            "1",
        ),
    ];
    let high = pod(
        json!({"priorityClassName": "high", "containers": [{"name": "a",
        "resources": {"limits": {"cpu": "1"}}}]}),
    );
    let inventory = Inventory {
        pods: vec![small_pod(), best_effort_pod(), high],
        ..Inventory::default()
    };
    for (mut spec, want) in cases {
        spec["hard"] = json!({"pods": "9"});
        let spec: ResourceQuotaSpec = serde_json::from_value(spec).unwrap();
        let used = usage(&spec, &inventory, now());
        assert_eq!(used["pods"].to_string(), want, "{spec:?}");
    }
}

#[test]
fn scoped_quotas_count_no_other_kinds() {
    let spec: ResourceQuotaSpec =
        serde_json::from_value(json!({"hard": {"configmaps": "3"}, "scopes": ["BestEffort"]}))
            .unwrap();
    let inventory = Inventory {
        counts: [("configmaps".to_owned(), 2)].into(),
        ..Inventory::default()
    };
    assert_eq!(
        usage(&spec, &inventory, now())["configmaps"].to_string(),
        "0"
    );
}
