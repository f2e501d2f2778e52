//! autoscaling/v1 HorizontalPodAutoscaler over the stored autoscaling/v2 one, as upstream's
//! conversion does it: v1's `targetCPUUtilizationPercentage` is a cpu Resource metric with a
//! Utilization target and `currentCPUUtilizationPercentage` its current utilization; what v1
//! cannot express (other metrics, behavior, current metrics, conditions) travels in
//! annotations, in the autoscaling/v1 metric types for metrics and as autoscaling/v2 JSON for
//! behavior and conditions, so a v1 client that reads and writes back loses nothing.

use std::collections::BTreeMap;

use k8s_openapi::api::autoscaling::{v1, v2};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::autoscaling_metrics::{MetricSpec, MetricStatus};
use super::{ConversionError, Typed};

/// v2 metrics other than the cpu utilization target, as a JSON list of v1 MetricSpecs.
pub const METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/metrics";
/// v2 `status.currentMetrics`, as a JSON list of v1 MetricStatuses.
pub const CURRENT_METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
/// v2 `status.conditions`, as JSON.
pub const CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";
/// v2 `spec.behavior`, as JSON.
pub const BEHAVIOR_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/behavior";
/// The cpu utilization a v1 HPA without any metric targets.
pub const DEFAULT_CPU_UTILIZATION: i32 = 80;

const ROUND_TRIP_ANNOTATIONS: [&str; 4] = [
    METRICS_ANNOTATION,
    CURRENT_METRICS_ANNOTATION,
    CONDITIONS_ANNOTATION,
    BEHAVIOR_ANNOTATION,
];

/// The conversion of autoscaling/v1 HPAs stored as autoscaling/v2, with v2 defaults applied
/// to what is stored.
pub fn conversion() -> Typed<v1::HorizontalPodAutoscaler, v2::HorizontalPodAutoscaler> {
    Typed::new(
        to_v2,
        from_v2,
        crate::strategy::autoscaling::horizontal_pod_autoscaler_v2,
        &[],
    )
}

fn is_cpu_resource(m: &v2::MetricSpec) -> Option<&v2::ResourceMetricSource> {
    m.resource
        .as_ref()
        .filter(|r| m.type_ == "Resource" && r.name == "cpu")
}

fn cpu_utilization_target(utilization: i32) -> v2::MetricSpec {
    v2::MetricSpec {
        type_: "Resource".to_owned(),
        resource: Some(v2::ResourceMetricSource {
            name: "cpu".to_owned(),
            target: v2::MetricTarget {
                type_: "Utilization".to_owned(),
                average_utilization: Some(utilization),
                ..v2::MetricTarget::default()
            },
        }),
        ..v2::MetricSpec::default()
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, ConversionError> {
    serde_json::to_string(value).map_err(|source| ConversionError::Encode {
        api_version: "autoscaling/v1",
        kind: "HorizontalPodAutoscaler",
        source,
    })
}

fn from_json<T: DeserializeOwned>(
    annotations: &mut BTreeMap<String, String>,
    annotation: &'static str,
) -> Result<Option<T>, ConversionError> {
    annotations
        .remove(annotation)
        .map(|text| {
            serde_json::from_str(&text)
                .map_err(|source| ConversionError::Annotation { annotation, source })
        })
        .transpose()
}

/// A stored autoscaling/v2 HPA as autoscaling/v1 shows it.
///
/// # Errors
/// Never in practice: only when a v2 value cannot be encoded into its annotation.
pub fn from_v2(
    hpa: v2::HorizontalPodAutoscaler,
) -> Result<v1::HorizontalPodAutoscaler, ConversionError> {
    let mut metadata = hpa.metadata;
    let mut annotations = metadata.annotations.take().unwrap_or_default();
    for key in ROUND_TRIP_ANNOTATIONS {
        annotations.remove(key);
    }
    let spec = hpa.spec.unwrap_or_default();
    let target_cpu = spec
        .metrics
        .iter()
        .flatten()
        .find_map(is_cpu_resource)
        .and_then(|r| r.target.average_utilization);
    let others: Vec<MetricSpec> = spec
        .metrics
        .into_iter()
        .flatten()
        .filter(|m| is_cpu_resource(m).is_none_or(|r| r.target.average_utilization.is_none()))
        .map(MetricSpec::from)
        .collect();
    if !others.is_empty() {
        annotations.insert(METRICS_ANNOTATION.to_owned(), to_json(&others)?);
    }
    if let Some(behavior) = &spec.behavior {
        annotations.insert(BEHAVIOR_ANNOTATION.to_owned(), to_json(behavior)?);
    }
    let status = hpa
        .status
        .map(|s| status_to_v1(s, &mut annotations))
        .transpose()?;
    metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    Ok(v1::HorizontalPodAutoscaler {
        metadata,
        spec: Some(v1::HorizontalPodAutoscalerSpec {
            max_replicas: spec.max_replicas,
            min_replicas: spec.min_replicas,
            scale_target_ref: v1::CrossVersionObjectReference {
                api_version: spec.scale_target_ref.api_version,
                kind: spec.scale_target_ref.kind,
                name: spec.scale_target_ref.name,
            },
            target_cpu_utilization_percentage: target_cpu,
        }),
        status,
    })
}

fn status_to_v1(
    status: v2::HorizontalPodAutoscalerStatus,
    annotations: &mut BTreeMap<String, String>,
) -> Result<v1::HorizontalPodAutoscalerStatus, ConversionError> {
    let current = status.current_metrics.unwrap_or_default();
    let current_cpu = current
        .iter()
        .rev()
        .filter(|m| m.type_ == "Resource")
        .filter_map(|m| m.resource.as_ref().filter(|r| r.name == "cpu"))
        .find_map(|r| r.current.average_utilization);
    if !current.is_empty() {
        let v1: Vec<MetricStatus> = current.into_iter().map(MetricStatus::from).collect();
        annotations.insert(CURRENT_METRICS_ANNOTATION.to_owned(), to_json(&v1)?);
    }
    if let Some(conditions) = status.conditions.filter(|c| !c.is_empty()) {
        annotations.insert(CONDITIONS_ANNOTATION.to_owned(), to_json(&conditions)?);
    }
    Ok(v1::HorizontalPodAutoscalerStatus {
        current_cpu_utilization_percentage: current_cpu,
        current_replicas: status.current_replicas.unwrap_or_default(),
        desired_replicas: status.desired_replicas,
        last_scale_time: status.last_scale_time,
        observed_generation: status.observed_generation,
    })
}

/// An autoscaling/v1 HPA as autoscaling/v2 stores it; with no metric at all it targets
/// [`DEFAULT_CPU_UTILIZATION`], the default v1 always had.
///
/// # Errors
/// [`ConversionError::Annotation`] when a round-trip annotation does not hold its JSON.
pub fn to_v2(
    hpa: v1::HorizontalPodAutoscaler,
) -> Result<v2::HorizontalPodAutoscaler, ConversionError> {
    let mut metadata = hpa.metadata;
    let mut annotations = metadata.annotations.take().unwrap_or_default();
    let spec = hpa.spec.unwrap_or_default();
    let mut metrics: Vec<v2::MetricSpec> = spec
        .target_cpu_utilization_percentage
        .map(cpu_utilization_target)
        .into_iter()
        .collect();
    if let Some(others) = from_json::<Vec<MetricSpec>>(&mut annotations, METRICS_ANNOTATION)? {
        let mut all: Vec<v2::MetricSpec> = others.into_iter().map(Into::into).collect();
        all.append(&mut metrics);
        metrics = all;
    }
    if metrics.is_empty() {
        metrics.push(cpu_utilization_target(DEFAULT_CPU_UTILIZATION));
    }
    // An unreadable behavior is dropped rather than refused, as upstream does.
    let behavior =
        from_json::<v2::HorizontalPodAutoscalerBehavior>(&mut annotations, BEHAVIOR_ANNOTATION)
            .ok()
            .flatten()
            .filter(|b| *b != v2::HorizontalPodAutoscalerBehavior::default());
    let status = status_to_v2(hpa.status, &mut annotations)?;
    metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    Ok(v2::HorizontalPodAutoscaler {
        metadata,
        spec: Some(v2::HorizontalPodAutoscalerSpec {
            behavior,
            max_replicas: spec.max_replicas,
            metrics: Some(metrics),
            min_replicas: spec.min_replicas,
            scale_target_ref: v2::CrossVersionObjectReference {
                api_version: spec.scale_target_ref.api_version,
                kind: spec.scale_target_ref.kind,
                name: spec.scale_target_ref.name,
            },
        }),
        status,
    })
}

fn status_to_v2(
    status: Option<v1::HorizontalPodAutoscalerStatus>,
    annotations: &mut BTreeMap<String, String>,
) -> Result<Option<v2::HorizontalPodAutoscalerStatus>, ConversionError> {
    let current = from_json::<Vec<MetricStatus>>(annotations, CURRENT_METRICS_ANNOTATION)?;
    let conditions =
        from_json::<Vec<v2::HorizontalPodAutoscalerCondition>>(annotations, CONDITIONS_ANNOTATION)?;
    if status.is_none() && current.is_none() && conditions.is_none() {
        return Ok(None);
    }
    let status = status.unwrap_or_default();
    let current_metrics = match current {
        Some(all) => all.into_iter().map(Into::into).collect(),
        None => status
            .current_cpu_utilization_percentage
            .map(cpu_utilization_current)
            .into_iter()
            .collect(),
    };
    Ok(Some(v2::HorizontalPodAutoscalerStatus {
        conditions,
        current_metrics: Some(current_metrics).filter(|m: &Vec<_>| !m.is_empty()),
        current_replicas: Some(status.current_replicas).filter(|n| *n != 0),
        desired_replicas: status.desired_replicas,
        last_scale_time: status.last_scale_time,
        observed_generation: status.observed_generation,
    }))
}

fn cpu_utilization_current(utilization: i32) -> v2::MetricStatus {
    v2::MetricStatus {
        type_: "Resource".to_owned(),
        resource: Some(v2::ResourceMetricStatus {
            name: "cpu".to_owned(),
            current: v2::MetricValueStatus {
                average_utilization: Some(utilization),
                ..v2::MetricValueStatus::default()
            },
        }),
        ..v2::MetricStatus::default()
    }
}
