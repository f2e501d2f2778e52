use super::*;
use serde_json::json;

fn now() -> Timestamp {
    "2024-01-01T00:00:00Z".parse().unwrap()
}

fn text(list: &ResourceList) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect()
}

fn pod(value: serde_json::Value) -> Pod {
    serde_json::from_value(value).unwrap()
}

#[test]
fn names_are_charged_by_the_right_evaluator() {
    let cases = [
        ("pods", Some(Evaluator::Pods)),
        ("requests.cpu", Some(Evaluator::Pods)),
        ("limits.memory", Some(Evaluator::Pods)),
        ("hugepages-2Mi", Some(Evaluator::Pods)),
        ("requests.example.com/gpu", Some(Evaluator::Pods)),
        ("services.nodeports", Some(Evaluator::Services)),
        ("count/services", Some(Evaluator::Services)),
        ("requests.storage", Some(Evaluator::PersistentVolumeClaims)),
        (
            "gold.storageclass.storage.k8s.io/requests.storage",
            Some(Evaluator::PersistentVolumeClaims),
        ),
        ("configmaps", Some(Evaluator::ObjectCount)),
        ("count/deployments.apps", Some(Evaluator::ObjectCount)),
        ("bogus", None),
    ];
    for (name, want) in cases {
        assert_eq!(evaluator_for(name), want, "{name}");
    }
    assert_eq!(count_resource("secrets"), Some("secrets"));
    assert_eq!(count_resource("count/jobs.batch"), Some("jobs.batch"));
}

#[test]
fn running_pod_is_charged_its_requests_and_limits() {
    let p = pod(json!({"spec": {"containers": [{"name": "a", "resources": {
        "requests": {"cpu": "250m", "memory": "64Mi"},
        "limits": {"cpu": "1", "memory": "128Mi"}}}]}}));
    let got = text(&pod_usage(&p, now()));
    let want = [
        ("count/pods", "1"),
        ("cpu", "250m"),
        ("limits.cpu", "1"),
        ("limits.memory", "128Mi"),
        ("memory", "64Mi"),
        ("pods", "1"),
        ("requests.cpu", "250m"),
        ("requests.memory", "64Mi"),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn finished_or_expired_pods_count_only_as_objects() {
    let done = pod(json!({"spec": {"containers": []}, "status": {"phase": "Succeeded"}}));
    assert_eq!(
        text(&pod_usage(&done, now())),
        [("count/pods".into(), "1".into())]
    );
    let expired = pod(json!({"metadata": {
        "deletionTimestamp": "2023-12-31T23:59:00Z", "deletionGracePeriodSeconds": 30}}));
    assert!(!pod_counts_for_compute(&expired, now()));
    let in_grace = pod(json!({"metadata": {
        "deletionTimestamp": "2023-12-31T23:59:50Z", "deletionGracePeriodSeconds": 30}}));
    assert!(pod_counts_for_compute(&in_grace, now()));
}

#[test]
fn services_are_charged_node_ports_and_load_balancers_by_type() {
    let svc = |spec: serde_json::Value| -> Service {
        serde_json::from_value(json!({ "spec": spec })).unwrap()
    };
    let ports = json!([{"port": 80}, {"port": 443, "nodePort": 30443}]);
    let cases = [
        (json!({"type": "ClusterIP", "ports": ports}), "0", "0"),
        (json!({"type": "NodePort", "ports": ports}), "2", "0"),
        (json!({"type": "LoadBalancer", "ports": ports}), "2", "1"),
        (
            json!({"type": "LoadBalancer", "ports": ports, "allocateLoadBalancerNodePorts": false}),
            "1",
            "1",
        ),
    ];
    for (spec, node_ports, lbs) in cases {
        let used = service_usage(&svc(spec));
        assert_eq!(used["services.nodeports"].to_string(), node_ports);
        assert_eq!(used["services.loadbalancers"].to_string(), lbs);
        assert_eq!(used["services"].to_string(), "1");
    }
}

#[test]
fn claims_are_charged_storage_also_under_their_class() {
    let pvc: PersistentVolumeClaim = serde_json::from_value(json!({"spec": {
        "storageClassName": "gold",
        "resources": {"requests": {"storage": "1.5Gi"}}},
        "status": {"allocatedResources": {"storage": "1Gi"}}}))
    .unwrap();
    let got = text(&pvc_usage(&pvc));
    let want = [
        ("count/persistentvolumeclaims", "1"),
        (
            "gold.storageclass.storage.k8s.io/persistentvolumeclaims",
            "1",
        ),
        (
            "gold.storageclass.storage.k8s.io/requests.storage",
            "1536Mi",
        ),
        ("persistentvolumeclaims", "1"),
        ("requests.storage", "1536Mi"),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(got, want);
}
