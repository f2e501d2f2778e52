use super::*;
use crate::podautoscaler::metrics::{MetricsError, MetricsSource, PodMetric, PodMetrics};
use crate::podautoscaler::replicas::Tuning;
use crate::podautoscaler::{metric, NoMetricsApi};
use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

fn now() -> Timestamp {
    "2024-01-01T01:00:00Z".parse().unwrap()
}

fn hpa(extra: serde_json::Value) -> HorizontalPodAutoscaler {
    let mut v = json!({"metadata": {"name": "web", "namespace": "default"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 10,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50}}}]}});
    if let Some(spec) = extra.get("spec").and_then(|s| s.as_object()) {
        for (k, val) in spec {
            v["spec"][k] = val.clone();
        }
    }
    serde_json::from_value(v).unwrap()
}

fn pods(n: usize) -> Vec<Pod> {
    (0..n)
        .map(|i| {
            serde_json::from_value(json!({"metadata": {"name": format!("p{i}")},
                "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "100m"}}}]},
                "status": {"phase": "Running", "startTime": "2024-01-01T00:00:00Z",
                    "conditions": [{"type": "Ready", "status": "True",
                        "lastTransitionTime": "2024-01-01T00:00:10Z"}]}}))
            .unwrap()
        })
        .collect()
}

/// A metrics source answering fixed usage per pod.
struct FakeMetrics(PodMetrics);

#[async_trait]
impl MetricsSource for FakeMetrics {
    async fn resource_metrics(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: Option<&str>,
    ) -> Result<PodMetrics, MetricsError> {
        Ok(self.0.clone())
    }
}

fn usage(milli: &[i64]) -> FakeMetrics {
    FakeMetrics(
        milli
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let sample = PodMetric {
                    timestamp: now(),
                    window: std::time::Duration::from_secs(30),
                    milli_value: *m,
                };
                (format!("p{i}"), sample)
            })
            .collect(),
    )
}

async fn sync(
    hpa: &HorizontalPodAutoscaler,
    current: i32,
    source: &dyn MetricsSource,
    history: &mut History,
) -> Plan {
    let spec = &hpa.spec.as_ref().unwrap().metrics.as_ref().unwrap()[0];
    let wanted = metric::wanted(spec).unwrap();
    let samples = source
        .resource_metrics(&wanted.resource, "default", "app=web", None)
        .await;
    let pods = pods(usize::try_from(current).unwrap());
    let outcome = metric::evaluate(&wanted, current, &pods, samples, &Tuning::default(), now());
    decide(
        hpa,
        current,
        &[outcome],
        history,
        Duration::from_secs(300),
        now(),
    )
}

fn condition(plan: &Plan, type_: &str) -> (String, String, String) {
    let c = plan
        .status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == type_)
        .unwrap();
    (
        c.status.clone(),
        c.reason.clone().unwrap(),
        c.message.clone().unwrap(),
    )
}

#[tokio::test]
async fn high_cpu_rescales_with_upstreams_reason() {
    let plan = sync(
        &hpa(json!({})),
        2,
        &usage(&[100, 100]),
        &mut History::default(),
    )
    .await;
    assert_eq!(plan.scale_to, Some(4));
    assert_eq!(
        plan.reason,
        "cpu resource utilization (percentage of request) above target"
    );
    assert_eq!(plan.status.desired_replicas, 4);
    assert_eq!(plan.status.current_replicas, Some(2));
    assert!(plan.status.last_scale_time.is_some());
    let current = &plan.status.current_metrics.as_ref().unwrap()[0];
    assert_eq!(
        current
            .resource
            .as_ref()
            .unwrap()
            .current
            .average_utilization,
        Some(100)
    );
    assert_eq!(condition(&plan, "ScalingActive").1, "ValidMetricFound");
    assert_eq!(
        condition(&plan, "ScalingLimited"),
        (
            "False".into(),
            "DesiredWithinRange".into(),
            "the desired count is within the acceptable range".into()
        )
    );
}

#[tokio::test]
async fn without_a_metrics_api_scaling_is_inactive_as_upstream_reports_it() {
    let plan = sync(&hpa(json!({})), 2, &NoMetricsApi, &mut History::default()).await;
    assert_eq!(plan.scale_to, None);
    let error = "unable to get metrics for resource cpu: unable to fetch metrics from resource \
                 metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)";
    assert_eq!(condition(&plan, "AbleToScale").1, "SucceededGetScale");
    assert_eq!(
        condition(&plan, "ScalingActive"),
        (
            "False".into(),
            "FailedGetResourceMetric".into(),
            format!("the HPA was unable to compute the replica count: {error}")
        )
    );
    assert_eq!(
        plan.notes[0],
        (
            EventType::Warning,
            "FailedGetResourceMetric",
            error.to_owned()
        )
    );
    assert_eq!(plan.notes[1].1, "FailedComputeMetricsReplicas");
    assert_eq!(plan.notes[1].2, format!(
        "invalid metrics (1 invalid out of 1), first error is: failed to get cpu utilization: {error}"));
}

#[tokio::test]
async fn counts_outside_the_bounds_are_brought_back_first() {
    let plan = sync(&hpa(json!({})), 12, &usage(&[]), &mut History::default()).await;
    assert_eq!(plan.scale_to, Some(10));
    assert_eq!(
        plan.reason,
        "Current number of replicas above Spec.MaxReplicas"
    );
    let plan = sync(
        &hpa(json!({"spec": {"minReplicas": 3}})),
        2,
        &usage(&[]),
        &mut History::default(),
    )
    .await;
    assert_eq!(plan.scale_to, Some(3));
}

#[tokio::test]
async fn a_target_scaled_to_zero_disables_scaling() {
    let plan = sync(&hpa(json!({})), 0, &usage(&[]), &mut History::default()).await;
    assert_eq!(plan.scale_to, None);
    assert_eq!(condition(&plan, "ScalingActive").1, "ScalingDisabled");
}

#[tokio::test]
async fn scale_down_is_held_by_the_default_stabilization_window() {
    let mut history = History::default();
    let first = sync(&hpa(json!({})), 4, &usage(&[50, 50, 50, 50]), &mut history).await;
    assert_eq!(first.scale_to, None);
    let low = sync(&hpa(json!({})), 4, &usage(&[5, 5, 5, 5]), &mut history).await;
    assert_eq!(low.scale_to, None);
    assert_eq!(condition(&low, "AbleToScale").1, "ScaleDownStabilized");
    assert_eq!(low.status.desired_replicas, 4);
}
