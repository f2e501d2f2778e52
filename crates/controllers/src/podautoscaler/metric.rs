//! One metric of an autoscaler: what it needs fetched, and its proposal or failure as the
//! status and condition upstream reports (`computeStatusForResourceMetric`).

use k8s_openapi::api::autoscaling::v2::{
    ContainerResourceMetricStatus, MetricSpec, MetricStatus, MetricTarget, MetricValueStatus,
    ResourceMetricStatus,
};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use rudder_quantity::{Format, Quantity};

use super::metrics::{MetricsError, PodMetrics};
use super::replicas::{self, Target, Tuning};

/// The resource samples a metric needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// `cpu`, `memory`, ….
    pub resource: String,
    /// For a ContainerResource metric, the container.
    pub container: Option<String>,
    /// The target.
    pub target: Target,
}

/// What one metric came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A proposal, named as upstream's rescale reasons name it.
    Proposal {
        /// The replica count proposed.
        replicas: i32,
        /// `cpu resource utilization (percentage of request)`.
        name: String,
        /// The metric's current value.
        status: Box<MetricStatus>,
    },
    /// No proposal: the ScalingActive=False reason and the error.
    Invalid {
        /// `FailedGetResourceMetric`, ….
        reason: &'static str,
        /// The error, as the Event says it.
        error: String,
        /// The error as the aggregate message says it (`failed to get cpu utilization: …`).
        wrapped: String,
    },
}

/// The samples `spec` needs, or the reason it cannot be evaluated here.
pub fn wanted(spec: &MetricSpec) -> Result<Wanted, Outcome> {
    let (resource, container, target) = match spec.type_.as_str() {
        "Resource" => match spec.resource.as_ref() {
            Some(r) => (r.name.clone(), None, &r.target),
            None => return Err(invalid_spec("Resource")),
        },
        "ContainerResource" => match spec.container_resource.as_ref() {
            Some(r) => (r.name.clone(), Some(r.container.clone()), &r.target),
            None => return Err(invalid_spec("ContainerResource")),
        },
        other => return Err(unsupported(other)),
    };
    let target = target_of(target).ok_or_else(|| invalid_spec(&spec.type_))?;
    Ok(Wanted {
        resource,
        container,
        target,
    })
}

fn target_of(t: &MetricTarget) -> Option<Target> {
    match (t.average_utilization, t.average_value.as_ref()) {
        (Some(percent), _) => Some(Target::Utilization(percent)),
        (None, Some(v)) => Some(Target::AverageValue(
            Quantity::from_wire(v).ok()?.milli_value(),
        )),
        _ => None,
    }
}

fn invalid_spec(kind: &str) -> Outcome {
    let error = format!(
        "invalid {kind} metric source: neither a utilization target nor a value target was set"
    );
    Outcome::Invalid {
        reason: "InvalidMetricSourceType",
        wrapped: error.clone(),
        error,
    }
}

fn unsupported(kind: &str) -> Outcome {
    let error =
        format!("unable to get metric of type {kind}: no custom or external metrics API is served");
    let reason = match kind {
        "Pods" => "FailedGetPodsMetric",
        "Object" => "FailedGetObjectMetric",
        "External" => "FailedGetExternalMetric",
        _ => "InvalidMetricSourceType",
    };
    Outcome::Invalid {
        reason,
        wrapped: error.clone(),
        error,
    }
}

/// Evaluates a metric from its fetched `samples` and the target's `pods`.
pub fn evaluate(
    wanted: &Wanted,
    current: i32,
    pods: &[Pod],
    samples: Result<PodMetrics, MetricsError>,
    tuning: &Tuning,
    now: Timestamp,
) -> Outcome {
    let resource = wanted.resource.as_str();
    let (reason, what) = match (&wanted.container, wanted.target) {
        (None, _) => ("FailedGetResourceMetric", resource.to_owned()),
        (Some(c), _) => (
            "FailedGetContainerResourceMetric",
            format!("{resource} {c}"),
        ),
    };
    let fail = |error: String| {
        let noun = match wanted.target {
            Target::Utilization(_) => "utilization",
            Target::AverageValue(_) => "usage",
        };
        Outcome::Invalid {
            reason,
            wrapped: format!("failed to get {what} {noun}: {error}"),
            error,
        }
    };
    let samples = match samples {
        Ok(s) => s,
        Err(e) => {
            return fail(format!(
                "unable to get metrics for resource {resource}: {e}"
            ))
        }
    };
    let proposal = match replicas::resource_replicas(
        current,
        wanted.target,
        resource,
        wanted.container.as_deref(),
        pods,
        samples,
        tuning,
        now,
    ) {
        Ok(p) => p,
        Err(e) => return fail(e.to_string()),
    };
    let value = MetricValueStatus {
        average_utilization: proposal.utilization,
        average_value: Some(Quantity::from_milli(proposal.average, Format::DecimalSi).to_wire()),
        value: None,
    };
    let name = match wanted.target {
        Target::Utilization(_) => {
            format!("{resource} resource utilization (percentage of request)")
        }
        Target::AverageValue(_) => format!("{resource} resource"),
    };
    let status = match &wanted.container {
        None => MetricStatus {
            type_: "Resource".to_owned(),
            resource: Some(ResourceMetricStatus {
                name: resource.to_owned(),
                current: value,
            }),
            ..MetricStatus::default()
        },
        Some(container) => MetricStatus {
            type_: "ContainerResource".to_owned(),
            container_resource: Some(ContainerResourceMetricStatus {
                name: resource.to_owned(),
                container: container.clone(),
                current: value,
            }),
            ..MetricStatus::default()
        },
    };
    let name = match &wanted.container {
        None => name,
        Some(c) => format!("{name} of container {c}"),
    };
    Outcome::Proposal {
        replicas: proposal.replicas,
        name,
        status: Box::new(status),
    }
}
