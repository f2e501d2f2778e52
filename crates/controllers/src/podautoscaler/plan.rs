//! One autoscaler sync without I/O, after upstream's `reconcileAutoscaler`: from the target's
//! current scale and each metric's outcome to the replica count to set, the status, and the
//! Events.

use std::time::Duration;

use k8s_openapi::api::autoscaling::v2::{
    HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition, HorizontalPodAutoscalerStatus,
    MetricStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::behavior::History;
use super::metric::Outcome;
use crate::events::EventType;

/// An Event to record on the autoscaler.
pub type Note = (EventType, &'static str, String);

/// What a sync does.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The replica count to set through the scale subresource, when it changes.
    pub scale_to: Option<i32>,
    /// Why, as the SuccessfulRescale Event says it.
    pub reason: String,
    /// The status to write (lastScaleTime set when `scale_to` is). Once the scale is written,
    /// the caller records it in the autoscaler's [`History`].
    pub status: HorizontalPodAutoscalerStatus,
    /// Events to record.
    pub notes: Vec<Note>,
}

/// Sets a condition, keeping its transition time when its status is unchanged.
pub fn set_condition(
    status: &mut HorizontalPodAutoscalerStatus,
    type_: &str,
    value: bool,
    reason: &str,
    message: String,
    now: Timestamp,
) {
    let value = if value { "True" } else { "False" };
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    let fresh = HorizontalPodAutoscalerCondition {
        type_: type_.to_owned(),
        status: value.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message),
        last_transition_time: Some(Time(now)),
    };
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) if c.status == value => {
            c.reason = fresh.reason;
            c.message = fresh.message;
        }
        Some(c) => *c = fresh,
        None => conditions.push(fresh),
    }
}

/// Decides a sync of `hpa`, whose target runs `current` replicas, from each metric's outcome
/// (in spec order).
pub fn decide(
    hpa: &HorizontalPodAutoscaler,
    current: i32,
    outcomes: &[Outcome],
    history: &mut History,
    down_window: Duration,
    now: Timestamp,
) -> Plan {
    let spec = hpa.spec.clone().unwrap_or_default();
    let min = spec.min_replicas.unwrap_or(1);
    let mut status = hpa.status.clone().unwrap_or_default();
    let mut notes = Vec::new();
    let set = |status: &mut HorizontalPodAutoscalerStatus, t: &str, v: bool, r: &str, m: String| {
        set_condition(status, t, v, r, m, now)
    };
    set(
        &mut status,
        "AbleToScale",
        true,
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale".to_owned(),
    );
    let statuses: Vec<MetricStatus> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Proposal { status, .. } => MetricStatus::clone(status),
            Outcome::Invalid { .. } => MetricStatus::default(),
        })
        .collect();
    status.current_replicas = Some(current);
    let (desired, reason) = if current == 0 && min != 0 {
        set(
            &mut status,
            "ScalingActive",
            false,
            "ScalingDisabled",
            "scaling is disabled since the replica count of the target is zero".to_owned(),
        );
        (0, String::new())
    } else if current > spec.max_replicas {
        (
            spec.max_replicas,
            "Current number of replicas above Spec.MaxReplicas".to_owned(),
        )
    } else if current < min {
        (
            min,
            "Current number of replicas below Spec.MinReplicas".to_owned(),
        )
    } else {
        let mut best: Option<(i32, &str)> = None;
        let mut invalid = Vec::new();
        for outcome in outcomes {
            match outcome {
                Outcome::Proposal { replicas, name, .. } => {
                    if best.is_none_or(|(r, _)| *replicas > r) {
                        best = Some((*replicas, name));
                    }
                }
                Outcome::Invalid {
                    reason,
                    error,
                    wrapped,
                } => {
                    notes.push((EventType::Warning, *reason, error.clone()));
                    invalid.push((*reason, error, wrapped));
                }
            }
        }
        let proposed = best.map_or(0, |(r, _)| r);
        if let Some((reason, error, wrapped)) = invalid.first() {
            if invalid.len() >= outcomes.len() || proposed < current {
                set(
                    &mut status,
                    "ScalingActive",
                    false,
                    reason,
                    format!("the HPA was unable to compute the replica count: {error}"),
                );
                status.current_metrics = Some(statuses);
                let message = format!(
                    "invalid metrics ({} invalid out of {}), first error is: {wrapped}",
                    invalid.len(),
                    outcomes.len()
                );
                notes.push((EventType::Warning, "FailedComputeMetricsReplicas", message));
                return Plan {
                    scale_to: None,
                    reason: String::new(),
                    status,
                    notes,
                };
            }
        }
        let metric = best.map_or("", |(_, n)| n);
        set(
            &mut status,
            "ScalingActive",
            true,
            "ValidMetricFound",
            format!("the HPA was able to successfully calculate a replica count from {metric}"),
        );
        let reason = match proposed.cmp(&current) {
            std::cmp::Ordering::Greater => format!("{metric} above target"),
            std::cmp::Ordering::Less => "All metrics below target".to_owned(),
            std::cmp::Ordering::Equal => String::new(),
        };
        let behavior = spec.behavior.as_ref();
        let normalized = history.normalize(
            behavior,
            down_window,
            current,
            proposed,
            min,
            spec.max_replicas,
            now,
        );
        set(
            &mut status,
            "AbleToScale",
            true,
            normalized.able.0,
            normalized.able.1.to_owned(),
        );
        let (limited, (why, message)) = normalized.limited;
        set(
            &mut status,
            "ScalingLimited",
            limited,
            why,
            message.to_owned(),
        );
        (normalized.replicas, reason)
    };
    status.current_metrics = Some(statuses).filter(|s| !s.is_empty());
    let rescale = desired != current && !(current == 0 && min != 0);
    status.desired_replicas = if rescale { desired } else { current };
    if rescale {
        status.last_scale_time = Some(Time(now));
    }
    Plan {
        scale_to: rescale.then_some(desired),
        reason,
        status,
        notes,
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
