//! Where per-pod resource usage comes from. Upstream reads the `metrics.k8s.io` API served by
//! metrics-server; Rudder takes any [`MetricsSource`], and until one exists the controller runs
//! with [`NoMetricsApi`], which fails as upstream does without metrics-server.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::jiff::Timestamp;

/// One pod's usage of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodMetric {
    /// When the sample was taken (the end of its window).
    pub timestamp: Timestamp,
    /// The window the sample averages over.
    pub window: Duration,
    /// Usage in thousandths of the resource's unit (millicores, millibytes).
    pub milli_value: i64,
}

/// Usage samples by pod name.
pub type PodMetrics = BTreeMap<String, PodMetric>;

/// Why metrics could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    /// The resource metrics API is not served.
    #[error("unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)")]
    NotServed,
    /// The source failed otherwise.
    #[error("unable to fetch metrics from resource metrics API: {0}")]
    Failed(String),
}

/// A source of per-pod resource usage (upstream's resource metrics client).
#[async_trait]
pub trait MetricsSource: Send + Sync + 'static {
    /// The usage of `resource` by each pod of `namespace` matching the label `selector`
    /// (summed over its containers, or of `container` only when given).
    ///
    /// # Errors
    /// A [`MetricsError`] when no metrics can be had.
    async fn resource_metrics(
        &self,
        resource: &str,
        namespace: &str,
        selector: &str,
        container: Option<&str>,
    ) -> Result<PodMetrics, MetricsError>;
}

/// The source used while Rudder serves no metrics API: every request fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetricsApi;

#[async_trait]
impl MetricsSource for NoMetricsApi {
    async fn resource_metrics(
        &self,
        _resource: &str,
        _namespace: &str,
        _selector: &str,
        _container: Option<&str>,
    ) -> Result<PodMetrics, MetricsError> {
        Err(MetricsError::NotServed)
    }
}
