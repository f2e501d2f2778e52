//! The replica count one resource metric asks for, after upstream's `replica_calculator.go`:
//! the usage ratio against the target over ready pods, within a tolerance of no change; pods
//! without metrics and unready pods filled in conservatively (so they never reverse the
//! direction of a scale), and ignored when deleted or failed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use rudder_quantity::Quantity;

use super::metrics::{PodMetric, PodMetrics};

/// The calculator's settings, with upstream's flag defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    /// A usage ratio this close to 1 changes nothing (`--horizontal-pod-autoscaler-tolerance`).
    pub tolerance: f64,
    /// After a pod starts, CPU samples taken before it was ready a full window are skipped.
    pub cpu_initialization_period: Duration,
    /// A pod that turned unready this soon after starting has never been ready.
    pub initial_readiness_delay: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            tolerance: 0.1,
            cpu_initialization_period: Duration::from_secs(300),
            initial_readiness_delay: Duration::from_secs(30),
        }
    }
}

/// What a resource metric targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A percentage of the pods' requests.
    Utilization(i32),
    /// An average usage per pod, in thousandths.
    AverageValue(i64),
}

/// A metric's proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proposal {
    /// The replica count it asks for.
    pub replicas: i32,
    /// The current utilization (percentage of requests), for utilization targets.
    pub utilization: Option<i32>,
    /// The current average usage per pod, in thousandths.
    pub average: i64,
}

/// Why no proposal could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplicaError {
    /// The selector matched no pod.
    #[error("no pods returned by selector while calculating replica count")]
    NoPods,
    /// No ready pod has a sample.
    #[error("did not receive metrics for targeted pods (pods might be unready)")]
    NoReadyMetrics,
    /// A container lacks a request for the resource (utilization needs requests).
    #[error("missing request for {resource} in container {container} of Pod {pod}")]
    MissingRequest {
        /// The resource.
        resource: String,
        /// The container.
        container: String,
        /// The pod.
        pod: String,
    },
    /// No sample belongs to a pod with requests.
    #[error("no metrics returned matched known pods")]
    NoMatchingMetrics,
}

/// The pods sorted as upstream's `groupPods` does.
#[derive(Debug, Default)]
struct Groups {
    ready: usize,
    unready: BTreeSet<String>,
    missing: BTreeSet<String>,
    ignored: BTreeSet<String>,
}

fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

fn after(t: Timestamp, d: Duration) -> Timestamp {
    let d = SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX);
    t.saturating_add(d).unwrap_or(t)
}

/// Whether a CPU sample of `pod` must be left out as taken while it was not (yet) ready.
fn cpu_unready(pod: &Pod, metric: &PodMetric, tuning: &Tuning, now: Timestamp) -> bool {
    let status = pod.status.as_ref();
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
    let (Some(ready), Some(start)) = (ready, status.and_then(|s| s.start_time.as_ref())) else {
        return true;
    };
    let transition = ready.last_transition_time.as_ref().map_or(start.0, |t| t.0);
    let is_false = ready.status == "False";
    if after(start.0, tuning.cpu_initialization_period) > now {
        is_false || metric.timestamp < after(transition, metric.window)
    } else {
        is_false && after(start.0, tuning.initial_readiness_delay) > transition
    }
}

fn group(
    pods: &[Pod],
    metrics: &PodMetrics,
    resource: &str,
    tuning: &Tuning,
    now: Timestamp,
) -> Groups {
    let mut groups = Groups::default();
    for pod in pods {
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if pod.metadata.deletion_timestamp.is_some() || phase == Some("Failed") {
            groups.ignored.insert(name(pod));
        } else if phase == Some("Pending") {
            groups.unready.insert(name(pod));
        } else if let Some(metric) = metrics.get(&name(pod)) {
            if resource == "cpu" && cpu_unready(pod, metric, tuning, now) {
                groups.unready.insert(name(pod));
            } else {
                groups.ready += 1;
            }
        } else {
            groups.missing.insert(name(pod));
        }
    }
    groups
}

/// Each pod's request for `resource` in thousandths (summed over its containers, or of
/// `container`).
fn requests(
    pods: &[Pod],
    resource: &str,
    container: Option<&str>,
) -> Result<BTreeMap<String, i64>, ReplicaError> {
    let mut out = BTreeMap::new();
    for pod in pods {
        let mut total = 0i64;
        let containers = pod.spec.iter().flat_map(|s| s.containers.iter());
        for c in containers.filter(|c| container.is_none_or(|n| n == c.name)) {
            let request = c
                .resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
                .and_then(|r| r.get(resource))
                .and_then(|q| Quantity::from_wire(q).ok())
                .ok_or_else(|| ReplicaError::MissingRequest {
                    resource: resource.to_owned(),
                    container: c.name.clone(),
                    pod: name(pod),
                })?;
            total = total.saturating_add(request.milli_value());
        }
        out.insert(name(pod), total);
    }
    Ok(out)
}

/// `(usage ratio, utilization, average)` of `metrics` against `target`.
fn ratio(
    metrics: &PodMetrics,
    target: Target,
    requests: &BTreeMap<String, i64>,
) -> Result<(f64, Option<i32>, i64), ReplicaError> {
    match target {
        Target::Utilization(percent) => {
            let (mut used, mut requested, mut entries) = (0i64, 0i64, 0i64);
            for (pod, m) in metrics {
                if let Some(r) = requests.get(pod) {
                    used += m.milli_value;
                    requested += r;
                    entries += 1;
                }
            }
            if requested == 0 {
                return Err(ReplicaError::NoMatchingMetrics);
            }
            let utilization = i32::try_from(used * 100 / requested).unwrap_or(i32::MAX);
            let ratio = f64::from(utilization) / f64::from(percent.max(1));
            Ok((ratio, Some(utilization), used / entries))
        }
        Target::AverageValue(milli) => {
            let count = i64::try_from(metrics.len()).unwrap_or(i64::MAX).max(1);
            let average = metrics.values().map(|m| m.milli_value).sum::<i64>() / count;
            Ok((average as f64 / milli.max(1) as f64, None, average))
        }
    }
}

fn ceil_times(ratio: f64, count: usize) -> i32 {
    let replicas = (ratio * count as f64).ceil();
    if replicas >= f64::from(i32::MAX) {
        i32::MAX
    } else {
        replicas as i32
    }
}

/// The replicas a resource metric with `target` asks for, from the target's `pods` and their
/// samples.
///
/// # Errors
/// A [`ReplicaError`] when the pods and samples do not allow a proposal.
#[allow(clippy::too_many_arguments)]
pub fn resource_replicas(
    current: i32,
    target: Target,
    resource: &str,
    container: Option<&str>,
    pods: &[Pod],
    mut metrics: PodMetrics,
    tuning: &Tuning,
    now: Timestamp,
) -> Result<Proposal, ReplicaError> {
    if pods.is_empty() {
        return Err(ReplicaError::NoPods);
    }
    let groups = group(pods, &metrics, resource, tuning, now);
    metrics.retain(|pod, _| !groups.ignored.contains(pod) && !groups.unready.contains(pod));
    if metrics.is_empty() {
        return Err(ReplicaError::NoReadyMetrics);
    }
    let requests = match target {
        Target::Utilization(_) => requests(pods, resource, container)?,
        Target::AverageValue(_) => BTreeMap::new(),
    };
    let (usage_ratio, utilization, average) = ratio(&metrics, target, &requests)?;
    let keep = Proposal {
        replicas: current,
        utilization,
        average,
    };
    let within = |r: f64| (1.0 - r).abs() <= tuning.tolerance;
    let scale_up_with_unready = !groups.unready.is_empty() && usage_ratio > 1.0;
    if !scale_up_with_unready && groups.missing.is_empty() {
        if within(usage_ratio) {
            return Ok(keep);
        }
        let replicas = ceil_times(usage_ratio, groups.ready);
        return Ok(Proposal { replicas, ..keep });
    }
    let sample = |milli_value| PodMetric {
        timestamp: now,
        window: Duration::ZERO,
        milli_value,
    };
    for pod in &groups.missing {
        // Scaling down, a pod without samples counts as using its whole request (or the
        // target, when that is higher); scaling up, as using nothing.
        let fill = match target {
            _ if usage_ratio >= 1.0 => 0,
            Target::Utilization(percent) => {
                requests.get(pod).copied().unwrap_or(0) * i64::from(percent.max(100)) / 100
            }
            Target::AverageValue(milli) => milli,
        };
        if usage_ratio != 1.0 {
            metrics.insert(pod.clone(), sample(fill));
        }
    }
    if scale_up_with_unready {
        for pod in &groups.unready {
            metrics.insert(pod.clone(), sample(0));
        }
    }
    let (new_ratio, _, _) = ratio(&metrics, target, &requests)?;
    let reverses = (usage_ratio < 1.0 && new_ratio > 1.0) || (usage_ratio > 1.0 && new_ratio < 1.0);
    if within(new_ratio) || reverses {
        return Ok(keep);
    }
    let replicas = ceil_times(new_ratio, metrics.len());
    if (new_ratio < 1.0 && replicas > current) || (new_ratio > 1.0 && replicas < current) {
        return Ok(keep);
    }
    Ok(Proposal { replicas, ..keep })
}

#[cfg(test)]
#[path = "replicas_tests.rs"]
mod tests;
