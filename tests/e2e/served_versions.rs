//! Resources served at two versions over one stored object: autoscaling/v1 and v2
//! HorizontalPodAutoscalers, and events.k8s.io/v1 and core/v1 Events (kube-rs's event
//! `Recorder` writes the former, `kubectl get events` and `describe` read the latter).

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Event as CoreEvent, ObjectReference};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, ObjectMeta, PostParams, WatchEvent, WatchParams};
use kube::runtime::events::{Event as Report, EventType, Recorder, Reporter};
use serde_json::{json, Value};

use crate::durability::client;
use crate::support::Cluster;

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON output")
}

/// kubectl 1.33's `autoscale` creates autoscaling/v2 HPAs; `hpa.v1.autoscaling` is expanded
/// by kubectl to the preferred version, so v1 is named by its full resource name.
#[test]
fn kubectl_autoscale_hpas_are_served_as_v1_and_v2() {
    let cluster = Cluster::start();
    cluster.ok(&["create", "deployment", "web", "--image=nginx"]);
    cluster.ok(&[
        "autoscale",
        "deployment",
        "web",
        "--min",
        "2",
        "--max",
        "5",
        "--cpu-percent",
        "60",
    ]);
    let v2 = json_of(&cluster.ok(&["get", "hpa", "web", "-o", "json"]));
    assert_eq!(v2["apiVersion"], "autoscaling/v2");
    assert_eq!(v2["spec"]["minReplicas"], 2);
    assert_eq!(
        v2["spec"]["metrics"][0]["resource"]["target"],
        json!({"type": "Utilization", "averageUtilization": 60})
    );
    let v1 = json_of(&cluster.ok(&[
        "get",
        "horizontalpodautoscalers.v1.autoscaling",
        "web",
        "-o",
        "json",
    ]));
    assert_eq!(v1["apiVersion"], "autoscaling/v1");
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 60);
    assert_eq!(v1["metadata"]["uid"], v2["metadata"]["uid"]);

    for resource in ["hpa", "horizontalpodautoscalers.v1.autoscaling"] {
        let table = cluster.ok(&["get", resource]);
        let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
        assert_eq!(
            header,
            [
                "NAME",
                "REFERENCE",
                "TARGETS",
                "MINPODS",
                "MAXPODS",
                "REPLICAS",
                "AGE"
            ]
        );
        assert!(table.contains("Deployment/web"), "{table}");
    }

    // A strategic merge patch through v1 changes the v2 cpu metric.
    cluster.ok(&[
        "patch",
        "horizontalpodautoscalers.v1.autoscaling",
        "web",
        "-p",
        r#"{"spec":{"targetCPUUtilizationPercentage":70}}"#,
    ]);
    let v2 = json_of(&cluster.ok(&["get", "hpa", "web", "-o", "json"]));
    assert_eq!(
        v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        70
    );
    cluster.ok(&["delete", "horizontalpodautoscalers.v1.autoscaling", "web"]);
    assert!(cluster.ok(&["get", "hpa", "-o", "name"]).trim().is_empty());

    // A v1 manifest without a cpu target gets upstream's 80%, and applies again as v1.
    let manifest = |cpu: &str| {
        format!(
            r#"{{"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
                "metadata": {{"name": "web", "namespace": "default"}},
                "spec": {{"scaleTargetRef": {{"apiVersion": "apps/v1", "kind": "Deployment",
                    "name": "web"}}, "maxReplicas": 3{cpu}}}}}"#
        )
    };
    cluster.apply(&manifest(""), &[]);
    let v2 = json_of(&cluster.ok(&["get", "hpa", "web", "-o", "json"]));
    assert_eq!(v2["spec"]["minReplicas"], 1);
    assert_eq!(
        v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        80
    );
    cluster.apply(&manifest(r#", "targetCPUUtilizationPercentage": 50"#), &[]);
    let v2 = json_of(&cluster.ok(&["get", "hpa", "web", "-o", "json"]));
    assert_eq!(
        v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        50
    );
    cluster.ok(&["delete", "hpa", "web"]);
    assert!(cluster.ok(&["get", "hpa", "-o", "name"]).trim().is_empty());
}

#[test]
fn v2_only_fields_survive_a_v1_read_modify_write() {
    let cluster = Cluster::start();
    cluster.apply(
        r#"{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "api", "namespace": "default"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                "maxReplicas": 4,
                "metrics": [{"type": "Resource", "resource": {"name": "memory",
                    "target": {"type": "AverageValue", "averageValue": "100Mi"}}}],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 30}}}}"#,
        &["--server-side"],
    );
    let v1 =
        cluster.raw_get("/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/api");
    let mut v1 = json_of(&v1);
    let annotations = &v1["metadata"]["annotations"];
    assert!(annotations["autoscaling.alpha.kubernetes.io/metrics"]
        .as_str()
        .is_some_and(|m| m.contains("memory")));
    assert!(annotations["autoscaling.alpha.kubernetes.io/behavior"].is_string());
    assert!(v1["spec"].get("targetCPUUtilizationPercentage").is_none());

    v1["spec"]["maxReplicas"] = json!(8);
    let replaced = cluster.kubectl_with_input(&["replace", "-f", "-"], Some(&v1.to_string()));
    assert!(
        replaced.status.success(),
        "{}",
        String::from_utf8_lossy(&replaced.stderr)
    );
    let v2 = json_of(&cluster.ok(&["get", "hpa", "api", "-o", "json"]));
    assert_eq!(v2["spec"]["maxReplicas"], 8);
    assert_eq!(v2["spec"]["metrics"][0]["resource"]["name"], "memory");
    assert_eq!(
        v2["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
        30
    );
    assert!(v2["metadata"].get("annotations").is_none());
}

#[test]
fn both_versions_are_discovered_with_upstreams_preferred_versions() {
    let cluster = Cluster::start();
    let versions = cluster.ok(&["api-versions"]);
    for gv in ["autoscaling/v1", "autoscaling/v2", "events.k8s.io/v1"] {
        assert!(versions.lines().any(|l| l == gv), "{gv} in {versions}");
    }
    let group = json_of(&cluster.raw_get("/apis/autoscaling"));
    assert_eq!(group["preferredVersion"]["version"], "v2");
    let explain = cluster.ok(&["explain", "hpa.spec", "--api-version=autoscaling/v1"]);
    assert!(
        explain.contains("targetCPUUtilizationPercentage"),
        "{explain}"
    );
    let explain = cluster.ok(&["explain", "events.note", "--api-version=events.k8s.io/v1"]);
    assert!(explain.contains("note"), "{explain}");
}

fn settings_reference(cm: &ConfigMap) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".to_owned()),
        kind: Some("ConfigMap".to_owned()),
        name: cm.metadata.name.clone(),
        namespace: Some("default".to_owned()),
        uid: cm.metadata.uid.clone(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorder_events_are_read_through_core_events_and_kubectl() {
    let cluster = Cluster::start();
    let client = client(&cluster).await;
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let settings = ConfigMap {
        metadata: ObjectMeta {
            name: Some("settings".to_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    let settings = configmaps
        .create(&PostParams::default(), &settings)
        .await
        .unwrap();
    let reporter = Reporter {
        controller: "e2e-controller".to_owned(),
        instance: Some("e2e-1".to_owned()),
    };
    let recorder = Recorder::new(client.clone(), reporter);
    let report = Report {
        type_: EventType::Normal,
        reason: "Configured".to_owned(),
        note: Some("configured by e2e".to_owned()),
        action: "Configure".to_owned(),
        secondary: None,
    };
    let reference = settings_reference(&settings);
    recorder.publish(&report, &reference).await.unwrap();
    // The same event again becomes a series, written with a merge patch.
    recorder.publish(&report, &reference).await.unwrap();

    let core: Api<CoreEvent> = Api::namespaced(client.clone(), "default");
    let selected = core
        .list(&ListParams::default().fields("involvedObject.name=settings"))
        .await
        .unwrap();
    assert_eq!(selected.items.len(), 1);
    let event = &selected.items[0];
    assert_eq!(event.message.as_deref(), Some("configured by e2e"));
    assert_eq!(event.reporting_component.as_deref(), Some("e2e-controller"));
    assert_eq!(event.series.as_ref().and_then(|s| s.count), Some(2));

    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let selected = events
        .list(
            &ListParams::default()
                .fields("regarding.name=settings,reportingController=e2e-controller"),
        )
        .await
        .unwrap();
    assert_eq!(selected.items.len(), 1);
    assert_eq!(selected.items[0].note.as_deref(), Some("configured by e2e"));

    let table = cluster.ok(&["get", "events"]);
    assert!(
        table.contains("Configured") && table.contains("configmap/settings"),
        "{table}"
    );
    let described = cluster.ok(&["describe", "configmap", "settings"]);
    assert!(
        described.contains("Configured") && described.contains("configured by e2e"),
        "{described}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_events_are_watched_through_events_v1_and_validated_by_its_rules() {
    let cluster = Cluster::start();
    let client = client(&cluster).await;
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let stream = events
        .watch(&WatchParams::default().timeout(20), "0")
        .await
        .unwrap();
    let mut stream = std::pin::pin!(stream);
    let core: Api<CoreEvent> = Api::namespaced(client.clone(), "default");
    let legacy = CoreEvent {
        metadata: ObjectMeta {
            name: Some("old-style".to_owned()),
            ..Default::default()
        },
        involved_object: ObjectReference {
            kind: Some("Pod".to_owned()),
            name: Some("web".to_owned()),
            namespace: Some("default".to_owned()),
            ..Default::default()
        },
        reason: Some("Pulled".to_owned()),
        message: Some("pulled the image".to_owned()),
        ..Default::default()
    };
    core.create(&PostParams::default(), &legacy).await.unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = stream.next().await {
            if let Ok(WatchEvent::Added(e)) = event {
                return Some(e);
            }
        }
        None
    })
    .await
    .unwrap()
    .expect("an ADDED event");
    assert_eq!(seen.note.as_deref(), Some("pulled the image"));
    assert_eq!(
        seen.regarding.as_ref().and_then(|r| r.name.as_deref()),
        Some("web")
    );

    // events.k8s.io/v1 refuses new events without the fields new-style events need.
    let incomplete = Event {
        metadata: ObjectMeta {
            name: Some("incomplete".to_owned()),
            ..Default::default()
        },
        reason: Some("Started".to_owned()),
        ..Default::default()
    };
    let err = events
        .create(&PostParams::default(), &incomplete)
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("expected an API error, got {err}");
    };
    assert_eq!(status.code, 422);
    assert!(status.message.contains("eventTime"), "{}", status.message);
}
