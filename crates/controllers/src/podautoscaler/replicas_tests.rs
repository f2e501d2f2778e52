use super::*;
use serde_json::json;

fn now() -> Timestamp {
    "2024-01-01T01:00:00Z".parse().unwrap()
}

/// A running, ready pod started long ago, requesting `request` of cpu.
fn pod(name: &str, request: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": request}}}]},
        "status": {"phase": "Running", "startTime": "2024-01-01T00:00:00Z",
            "conditions": [{"type": "Ready", "status": "True",
                "lastTransitionTime": "2024-01-01T00:00:10Z"}]}}))
    .unwrap()
}

fn with_status(mut p: Pod, status: serde_json::Value) -> Pod {
    p.status = Some(serde_json::from_value(status).unwrap());
    p
}

fn samples(values: &[(&str, i64)]) -> PodMetrics {
    values
        .iter()
        .map(|(name, milli)| {
            let m = PodMetric {
                timestamp: now(),
                window: Duration::from_secs(30),
                milli_value: *milli,
            };
            ((*name).to_owned(), m)
        })
        .collect()
}

fn calc(
    current: i32,
    target: Target,
    pods: &[Pod],
    metrics: PodMetrics,
) -> Result<Proposal, ReplicaError> {
    resource_replicas(
        current,
        target,
        "cpu",
        None,
        pods,
        metrics,
        &Tuning::default(),
        now(),
    )
}

#[test]
fn utilization_above_target_scales_up_by_the_ratio() {
    let pods = [pod("a", "100m"), pod("b", "100m")];
    let got = calc(
        2,
        Target::Utilization(50),
        &pods,
        samples(&[("a", 100), ("b", 100)]),
    )
    .unwrap();
    assert_eq!(
        got,
        Proposal {
            replicas: 4,
            utilization: Some(100),
            average: 100
        }
    );
}

#[test]
fn a_ratio_within_the_tolerance_keeps_the_count() {
    let pods = [pod("a", "100m"), pod("b", "100m")];
    let got = calc(
        2,
        Target::Utilization(50),
        &pods,
        samples(&[("a", 54), ("b", 54)]),
    )
    .unwrap();
    assert_eq!(got.replicas, 2);
    assert_eq!(got.utilization, Some(54));
}

#[test]
fn low_utilization_scales_down_rounding_up() {
    let pods = [pod("a", "1"), pod("b", "1"), pod("c", "1")];
    let got = calc(
        3,
        Target::Utilization(80),
        &pods,
        samples(&[("a", 200), ("b", 200), ("c", 200)]),
    )
    .unwrap();
    // 20% of 80% over 3 pods: ceil(0.25 * 3) = 1.
    assert_eq!(got.replicas, 1);
}

#[test]
fn missing_pods_count_as_full_use_when_scaling_down() {
    let pods = [pod("a", "100m"), pod("b", "100m"), pod("c", "100m")];
    // a and b at 10% of a 50% target; c has no sample and counts as using 100%.
    let got = calc(
        3,
        Target::Utilization(50),
        &pods,
        samples(&[("a", 10), ("b", 10)]),
    )
    .unwrap();
    // (10 + 10 + 100) / 300 = 40% → ratio 0.8 → ceil(0.8 * 3) = 3: no change.
    assert_eq!(got.replicas, 3);
}

#[test]
fn missing_pods_count_as_idle_when_scaling_up() {
    let pods = [pod("a", "100m"), pod("b", "100m")];
    let got = calc(2, Target::Utilization(50), &pods, samples(&[("a", 200)])).unwrap();
    // a at 200%; b missing counts 0: (200 + 0) / 200 = 100% → ratio 2 → 4.
    assert_eq!(got.replicas, 4);
}

#[test]
fn unready_pods_count_as_idle_only_when_scaling_up() {
    let pending = with_status(pod("p", "100m"), json!({"phase": "Pending"}));
    let pods = [pod("a", "100m"), pending];
    let up = calc(2, Target::Utilization(50), &pods, samples(&[("a", 150)])).unwrap();
    // 150% over a alone → 3; with p at 0: 150/200 = 75% → 1.5 → ceil(1.5 * 2) = 3.
    assert_eq!(up.replicas, 3);
    let down = calc(2, Target::Utilization(50), &pods, samples(&[("a", 10)])).unwrap();
    // Scaling down ignores p: 10% → 0.2 × 1 ready pod → 1.
    assert_eq!(down.replicas, 1);
}

#[test]
fn a_direction_reversal_after_filling_in_keeps_the_count() {
    let pods = [
        pod("a", "100m"),
        pod("b", "100m"),
        pod("c", "100m"),
        pod("d", "100m"),
    ];
    // a at 60% over a 50% target (ratio 1.2); b, c, d missing → 0: 60/400 = 15% → reverses.
    let got = calc(4, Target::Utilization(50), &pods, samples(&[("a", 60)])).unwrap();
    assert_eq!(got.replicas, 4);
}

#[test]
fn deleted_and_failed_pods_are_ignored() {
    let mut deleted = pod("d", "100m");
    deleted.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now()));
    let failed = with_status(pod("f", "100m"), json!({"phase": "Failed"}));
    let pods = [pod("a", "100m"), deleted, failed];
    let got = calc(
        3,
        Target::Utilization(50),
        &pods,
        samples(&[("a", 100), ("d", 900), ("f", 900)]),
    )
    .unwrap();
    assert_eq!(got.replicas, 2);
}

#[test]
fn cpu_samples_of_pods_just_started_and_unready_are_skipped() {
    let young = with_status(
        pod("y", "100m"),
        json!({"phase": "Running",
        "startTime": "2024-01-01T00:59:00Z",
        "conditions": [{"type": "Ready", "status": "False",
            "lastTransitionTime": "2024-01-01T00:59:00Z"}]}),
    );
    let pods = [pod("a", "100m"), young];
    let got = calc(
        2,
        Target::Utilization(50),
        &pods,
        samples(&[("a", 50), ("y", 500)]),
    )
    .unwrap();
    // y's sample is left out and y counts as unready; a alone is on target.
    assert_eq!(got.replicas, 2);
}

#[test]
fn average_value_targets_compare_usage_per_pod() {
    let pods = [pod("a", "100m"), pod("b", "100m")];
    let got = calc(
        2,
        Target::AverageValue(100),
        &pods,
        samples(&[("a", 300), ("b", 300)]),
    )
    .unwrap();
    assert_eq!(
        got,
        Proposal {
            replicas: 6,
            utilization: None,
            average: 300
        }
    );
}

#[test]
fn failures_say_what_was_missing() {
    assert_eq!(
        calc(1, Target::Utilization(50), &[], samples(&[])),
        Err(ReplicaError::NoPods)
    );
    assert_eq!(
        calc(1, Target::Utilization(50), &[pod("a", "1")], samples(&[])),
        Err(ReplicaError::NoReadyMetrics)
    );
    let no_request: Pod = serde_json::from_value(json!({"metadata": {"name": "n"},
        "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Running"}}))
    .unwrap();
    // Memory has no readiness rule, so the sample counts and the missing request shows.
    let got = resource_replicas(
        1,
        Target::Utilization(50),
        "memory",
        None,
        &[no_request],
        samples(&[("n", 1)]),
        &Tuning::default(),
        now(),
    );
    let want = ReplicaError::MissingRequest {
        resource: "memory".into(),
        container: "c".into(),
        pod: "n".into(),
    };
    assert_eq!(got, Err(want));
}
