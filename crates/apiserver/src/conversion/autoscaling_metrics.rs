//! The metric types autoscaling/v1 keeps in its round-trip annotations (the Go package
//! `k8s.io/api/autoscaling/v1` declares them; they are not part of the served schema, so
//! k8s-openapi has no structs for them), and their conversions to and from autoscaling/v2.

use k8s_openapi::api::autoscaling::v1::CrossVersionObjectReference as RefV1;
use k8s_openapi::api::autoscaling::v2;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::{Deserialize, Serialize};

/// Go's zero Quantity, which required quantity fields carry when unset.
fn zero() -> Quantity {
    Quantity("0".to_owned())
}

/// An autoscaling/v1 MetricSpec (annotation `autoscaling.alpha.kubernetes.io/metrics`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSpec {
    #[serde(rename = "type")]
    type_: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    object: Option<ObjectSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pods: Option<PodsSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource: Option<ResourceSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    container_resource: Option<ResourceSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external: Option<ExternalSource>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectSource {
    target: RefV1,
    metric_name: String,
    #[serde(default = "zero")]
    target_value: Quantity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    average_value: Option<Quantity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodsSource {
    metric_name: String,
    #[serde(default = "zero")]
    target_average_value: Quantity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    selector: Option<LabelSelector>,
}

/// A resource or container-resource source (`container` only for the latter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSource {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_average_utilization: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_average_value: Option<Quantity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    container: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExternalSource {
    metric_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metric_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_value: Option<Quantity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_average_value: Option<Quantity>,
}

/// An autoscaling/v1 MetricStatus (annotation `autoscaling.alpha.kubernetes.io/current-metrics`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricStatus {
    #[serde(rename = "type")]
    type_: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    object: Option<ObjectStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pods: Option<PodsStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource: Option<ResourceStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    container_resource: Option<ResourceStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external: Option<ExternalStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectStatus {
    target: RefV1,
    metric_name: String,
    #[serde(default = "zero")]
    current_value: Quantity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    average_value: Option<Quantity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodsStatus {
    metric_name: String,
    #[serde(default = "zero")]
    current_average_value: Quantity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    selector: Option<LabelSelector>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceStatus {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current_average_utilization: Option<i32>,
    #[serde(default = "zero")]
    current_average_value: Quantity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    container: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExternalStatus {
    metric_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metric_selector: Option<LabelSelector>,
    #[serde(default = "zero")]
    current_value: Quantity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current_average_value: Option<Quantity>,
}

fn ref_to_v1(r: v2::CrossVersionObjectReference) -> RefV1 {
    RefV1 {
        api_version: r.api_version,
        kind: r.kind,
        name: r.name,
    }
}

fn ref_to_v2(r: RefV1) -> v2::CrossVersionObjectReference {
    v2::CrossVersionObjectReference {
        api_version: r.api_version,
        kind: r.kind,
        name: r.name,
    }
}

/// The v2 target of a v1 resource source: a utilization when one is given, else an average value.
fn resource_target(s: &ResourceSource) -> v2::MetricTarget {
    v2::MetricTarget {
        type_: if s.target_average_utilization.is_some() {
            "Utilization"
        } else {
            "AverageValue"
        }
        .to_owned(),
        average_utilization: s.target_average_utilization,
        average_value: s.target_average_value.clone(),
        value: None,
    }
}

impl From<v2::MetricSpec> for MetricSpec {
    fn from(m: v2::MetricSpec) -> Self {
        Self {
            type_: m.type_,
            object: m.object.map(|o| ObjectSource {
                target: ref_to_v1(o.described_object),
                metric_name: o.metric.name,
                target_value: o.target.value.unwrap_or_else(zero),
                selector: o.metric.selector,
                average_value: o.target.average_value,
            }),
            pods: m.pods.map(|p| PodsSource {
                metric_name: p.metric.name,
                target_average_value: p.target.average_value.unwrap_or_else(zero),
                selector: p.metric.selector,
            }),
            resource: m.resource.map(|r| ResourceSource {
                name: r.name,
                target_average_utilization: r.target.average_utilization,
                target_average_value: r.target.average_value,
                container: None,
            }),
            container_resource: m.container_resource.map(|r| ResourceSource {
                name: r.name,
                target_average_utilization: r.target.average_utilization,
                target_average_value: r.target.average_value,
                container: Some(r.container),
            }),
            external: m.external.map(|e| ExternalSource {
                metric_name: e.metric.name,
                metric_selector: e.metric.selector,
                target_value: e.target.value,
                target_average_value: e.target.average_value,
            }),
        }
    }
}

impl From<MetricSpec> for v2::MetricSpec {
    fn from(m: MetricSpec) -> Self {
        Self {
            type_: m.type_,
            object: m.object.map(|o| v2::ObjectMetricSource {
                described_object: ref_to_v2(o.target),
                metric: v2::MetricIdentifier {
                    name: o.metric_name,
                    selector: o.selector,
                },
                target: v2::MetricTarget {
                    type_: if o.average_value.is_some() {
                        "AverageValue"
                    } else {
                        "Value"
                    }
                    .to_owned(),
                    value: Some(o.target_value),
                    average_value: o.average_value,
                    average_utilization: None,
                },
            }),
            pods: m.pods.map(|p| v2::PodsMetricSource {
                metric: v2::MetricIdentifier {
                    name: p.metric_name,
                    selector: p.selector,
                },
                target: v2::MetricTarget {
                    type_: "AverageValue".to_owned(),
                    average_value: Some(p.target_average_value),
                    ..v2::MetricTarget::default()
                },
            }),
            resource: m.resource.map(|r| v2::ResourceMetricSource {
                target: resource_target(&r),
                name: r.name,
            }),
            container_resource: m
                .container_resource
                .map(|r| v2::ContainerResourceMetricSource {
                    target: resource_target(&r),
                    container: r.container.unwrap_or_default(),
                    name: r.name,
                }),
            external: m.external.map(|e| v2::ExternalMetricSource {
                metric: v2::MetricIdentifier {
                    name: e.metric_name,
                    selector: e.metric_selector,
                },
                target: v2::MetricTarget {
                    type_: if e.target_value.is_some() {
                        "Value"
                    } else {
                        "AverageValue"
                    }
                    .to_owned(),
                    value: e.target_value,
                    average_value: e.target_average_value,
                    average_utilization: None,
                },
            }),
        }
    }
}

impl From<v2::MetricStatus> for MetricStatus {
    fn from(m: v2::MetricStatus) -> Self {
        Self {
            type_: m.type_,
            object: m.object.map(|o| ObjectStatus {
                target: ref_to_v1(o.described_object),
                metric_name: o.metric.name,
                current_value: o.current.value.unwrap_or_else(zero),
                selector: o.metric.selector,
                average_value: o.current.average_value,
            }),
            pods: m.pods.map(|p| PodsStatus {
                metric_name: p.metric.name,
                current_average_value: p.current.average_value.unwrap_or_else(zero),
                selector: p.metric.selector,
            }),
            resource: m.resource.map(|r| ResourceStatus {
                name: r.name,
                current_average_utilization: r.current.average_utilization,
                current_average_value: r.current.average_value.unwrap_or_else(zero),
                container: None,
            }),
            container_resource: m.container_resource.map(|r| ResourceStatus {
                name: r.name,
                current_average_utilization: r.current.average_utilization,
                current_average_value: r.current.average_value.unwrap_or_else(zero),
                container: Some(r.container),
            }),
            external: m.external.map(|e| ExternalStatus {
                metric_name: e.metric.name,
                metric_selector: e.metric.selector,
                current_value: e.current.value.unwrap_or_else(zero),
                current_average_value: e.current.average_value,
            }),
        }
    }
}

fn resource_current(s: &ResourceStatus) -> v2::MetricValueStatus {
    v2::MetricValueStatus {
        average_utilization: s.current_average_utilization,
        average_value: Some(s.current_average_value.clone()),
        value: None,
    }
}

impl From<MetricStatus> for v2::MetricStatus {
    fn from(m: MetricStatus) -> Self {
        Self {
            type_: m.type_,
            object: m.object.map(|o| v2::ObjectMetricStatus {
                described_object: ref_to_v2(o.target),
                metric: v2::MetricIdentifier {
                    name: o.metric_name,
                    selector: o.selector,
                },
                current: v2::MetricValueStatus {
                    value: Some(o.current_value),
                    average_value: o.average_value,
                    average_utilization: None,
                },
            }),
            pods: m.pods.map(|p| v2::PodsMetricStatus {
                metric: v2::MetricIdentifier {
                    name: p.metric_name,
                    selector: p.selector,
                },
                current: v2::MetricValueStatus {
                    average_value: Some(p.current_average_value),
                    ..v2::MetricValueStatus::default()
                },
            }),
            resource: m.resource.map(|r| v2::ResourceMetricStatus {
                current: resource_current(&r),
                name: r.name,
            }),
            container_resource: m
                .container_resource
                .map(|r| v2::ContainerResourceMetricStatus {
                    current: resource_current(&r),
                    container: r.container.unwrap_or_default(),
                    name: r.name,
                }),
            external: m.external.map(|e| v2::ExternalMetricStatus {
                metric: v2::MetricIdentifier {
                    name: e.metric_name,
                    selector: e.metric_selector,
                },
                current: v2::MetricValueStatus {
                    value: Some(e.current_value),
                    average_value: e.current_average_value,
                    average_utilization: None,
                },
            }),
        }
    }
}
