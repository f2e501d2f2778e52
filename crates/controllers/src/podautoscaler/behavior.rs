//! From the metrics' proposal to the replica count applied, after upstream's
//! `normalizeDesiredReplicas(WithBehaviors)`: stabilization windows over recent
//! recommendations, the scaling policies' rate limits over recent scale events, and the
//! min/max clamp, each reported in the AbleToScale and ScalingLimited conditions.

use std::time::Duration;

use k8s_openapi::api::autoscaling::v2::{
    HPAScalingPolicy, HPAScalingRules, HorizontalPodAutoscalerBehavior,
};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// A condition's reason and message.
pub type Reason = (&'static str, &'static str);

/// The outcome of normalizing a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Normalized {
    /// The replica count to apply.
    pub replicas: i32,
    /// The AbleToScale (True) reason and message.
    pub able: Reason,
    /// Whether ScalingLimited is True, with its reason and message.
    pub limited: (bool, Reason),
}

const READY: Reason = ("ReadyForNewScale", "recommended size matches current size");
const DOWN_STABILIZED: Reason = (
    "ScaleDownStabilized",
    "recent recommendations were higher than current one, applying the highest recent recommendation",
);
const UP_STABILIZED: Reason = (
    "ScaleUpStabilized",
    "recent recommendations were lower than current one, applying the lowest recent recommendation",
);
const WITHIN: Reason = (
    "DesiredWithinRange",
    "the desired count is within the acceptable range",
);
const UP_LIMIT: Reason = (
    "ScaleUpLimit",
    "the desired replica count is increasing faster than the maximum scale rate",
);
const DOWN_LIMIT: Reason = (
    "ScaleDownLimit",
    "the desired replica count is decreasing faster than the maximum scale rate",
);
const TOO_MANY: Reason = (
    "TooManyReplicas",
    "the desired replica count is more than the maximum replica count",
);
const TOO_FEW: Reason = (
    "TooFewReplicas",
    "the desired replica count is less than the minimum replica count",
);

#[derive(Debug, Clone, Copy)]
struct ScaleEvent {
    change: i32,
    at: Timestamp,
    outdated: bool,
}

/// What one autoscaler remembers between syncs: recent recommendations and scale events.
#[derive(Debug, Clone, Default)]
pub struct History {
    recommendations: Vec<(Timestamp, i32)>,
    up: Vec<ScaleEvent>,
    down: Vec<ScaleEvent>,
}

fn before(now: Timestamp, seconds: i64) -> Timestamp {
    now.saturating_sub(SignedDuration::from_secs(seconds))
        .unwrap_or(now)
}

/// Upstream's default rules, for a behavior the API server has not defaulted.
fn default_rules(up: bool) -> HPAScalingRules {
    let policy = |type_: &str, value| HPAScalingPolicy {
        type_: type_.to_owned(),
        value,
        period_seconds: 15,
    };
    HPAScalingRules {
        policies: Some(if up {
            vec![policy("Pods", 4), policy("Percent", 100)]
        } else {
            vec![policy("Percent", 100)]
        }),
        select_policy: Some("Max".to_owned()),
        stabilization_window_seconds: up.then_some(0),
        tolerance: None,
    }
}

impl History {
    /// Normalizes `desired` for a scale from `current` within `[min, max]`.
    #[allow(clippy::too_many_arguments)]
    pub fn normalize(
        &mut self,
        behavior: Option<&HorizontalPodAutoscalerBehavior>,
        down_window: Duration,
        current: i32,
        desired: i32,
        min: i32,
        max: i32,
        now: Timestamp,
    ) -> Normalized {
        let down_default = i64::try_from(down_window.as_secs()).unwrap_or(i64::MAX);
        let Some(behavior) = behavior else {
            let stabilized = self.stabilize(current, desired, 0, down_default, now);
            let able = if stabilized == desired {
                READY
            } else {
                DOWN_STABILIZED
            };
            let (replicas, reason) = clamp_legacy(current, stabilized, min, max);
            return Normalized {
                replicas,
                able,
                limited: (replicas != stabilized, reason),
            };
        };
        let up = behavior
            .scale_up
            .clone()
            .unwrap_or_else(|| default_rules(true));
        let down = behavior
            .scale_down
            .clone()
            .unwrap_or_else(|| default_rules(false));
        let up_window = i64::from(up.stabilization_window_seconds.unwrap_or(0));
        let down_window = down
            .stabilization_window_seconds
            .map_or(down_default, i64::from);
        let stabilized = self.stabilize(current, desired, up_window, down_window, now);
        let able = match () {
            _ if stabilized == desired => READY,
            _ if desired >= current => UP_STABILIZED,
            _ => DOWN_STABILIZED,
        };
        let (replicas, reason) = self.rate_limit(&up, &down, current, stabilized, min, max, now);
        Normalized {
            replicas,
            able,
            limited: (replicas != stabilized, reason),
        }
    }

    /// Keeps `desired` within the lowest recommendation of the scale-up window and the
    /// highest of the scale-down window, and records it.
    fn stabilize(
        &mut self,
        current: i32,
        desired: i32,
        up_window: i64,
        down_window: i64,
        now: Timestamp,
    ) -> i32 {
        let (up_cutoff, down_cutoff) = (before(now, up_window), before(now, down_window));
        let (mut up_rec, mut down_rec) = (desired, desired);
        let mut old = None;
        for (i, (at, rec)) in self.recommendations.iter().enumerate() {
            if *at > up_cutoff {
                up_rec = up_rec.min(*rec);
            }
            if *at > down_cutoff {
                down_rec = down_rec.max(*rec);
            }
            if *at < up_cutoff && *at < down_cutoff {
                old = Some(i);
            }
        }
        match old {
            Some(i) => self.recommendations[i] = (now, desired),
            None => self.recommendations.push((now, desired)),
        }
        current.max(up_rec).min(down_rec)
    }

    #[allow(clippy::too_many_arguments)]
    fn rate_limit(
        &self,
        up: &HPAScalingRules,
        down: &HPAScalingRules,
        current: i32,
        desired: i32,
        min: i32,
        max: i32,
        now: Timestamp,
    ) -> (i32, Reason) {
        if desired > current {
            let limit = self.limit(up, current, true, now).max(current);
            let (allowed, reason) = if max > limit {
                (limit, UP_LIMIT)
            } else {
                (max, TOO_MANY)
            };
            if desired > allowed {
                return (allowed, reason);
            }
        } else if desired < current {
            let limit = self.limit(down, current, false, now).min(current);
            let (allowed, reason) = if min < limit {
                (limit, DOWN_LIMIT)
            } else {
                (min, TOO_FEW)
            };
            if desired < allowed {
                return (allowed, reason);
            }
        }
        (desired, WITHIN)
    }

    /// The furthest the policies let the count go from `current` now, in direction `up`.
    fn limit(&self, rules: &HPAScalingRules, current: i32, up: bool, now: Timestamp) -> i32 {
        let select = rules.select_policy.as_deref().unwrap_or("Max");
        if select == "Disabled" {
            return current;
        }
        // "Max" picks the biggest change: the highest limit up, the lowest down.
        let biggest = select != "Min";
        let mut result: Option<i32> = None;
        for policy in rules.policies.iter().flatten() {
            let added = changes(&self.up, policy.period_seconds, now);
            let removed = changes(&self.down, policy.period_seconds, now);
            let start = f64::from(current - added + removed);
            let value = f64::from(policy.value);
            let proposed = match (policy.type_.as_str(), up) {
                ("Pods", true) => start + value,
                ("Pods", false) => start - value,
                (_, true) => (start * (1.0 + value / 100.0)).ceil(),
                (_, false) => (start * (1.0 - value / 100.0)).trunc(),
            } as i32;
            let pick_max = up == biggest;
            result = Some(match result {
                None => proposed,
                Some(r) if pick_max => r.max(proposed),
                Some(r) => r.min(proposed),
            });
        }
        result.unwrap_or(current)
    }

    /// Records a scale from `previous` to `new` for the policies' periods (only with a
    /// behavior, as upstream).
    pub fn record_scale(
        &mut self,
        behavior: Option<&HorizontalPodAutoscalerBehavior>,
        previous: i32,
        new: i32,
        now: Timestamp,
    ) {
        let Some(behavior) = behavior else {
            return;
        };
        let (events, rules, change) = if new > previous {
            (
                &mut self.up,
                behavior
                    .scale_up
                    .clone()
                    .unwrap_or_else(|| default_rules(true)),
                new - previous,
            )
        } else {
            (
                &mut self.down,
                behavior
                    .scale_down
                    .clone()
                    .unwrap_or_else(|| default_rules(false)),
                previous - new,
            )
        };
        let longest = rules
            .policies
            .iter()
            .flatten()
            .map(|p| p.period_seconds)
            .max()
            .unwrap_or(0);
        let cutoff = before(now, i64::from(longest));
        for e in events.iter_mut() {
            if e.at < cutoff {
                e.outdated = true;
            }
        }
        let event = ScaleEvent {
            change,
            at: now,
            outdated: false,
        };
        match events.iter().position(|e| e.outdated) {
            Some(i) => events[i] = event,
            None => events.push(event),
        }
    }
}

/// Replicas changed within the last `period` seconds.
fn changes(events: &[ScaleEvent], period: i32, now: Timestamp) -> i32 {
    let cutoff = before(now, i64::from(period));
    events
        .iter()
        .filter(|e| e.at > cutoff && !e.outdated)
        .map(|e| e.change)
        .sum()
}

/// Without a behavior: at most double (or 4) per sync, within `[max(min, 1), max]`.
fn clamp_legacy(current: i32, desired: i32, min: i32, max: i32) -> (i32, Reason) {
    let scale_up_limit = current.saturating_mul(2).max(4);
    let (allowed_max, max_reason) = if max > scale_up_limit {
        (scale_up_limit, UP_LIMIT)
    } else {
        (max, TOO_MANY)
    };
    let allowed_min = min.max(1);
    if desired < allowed_min {
        (allowed_min, TOO_FEW)
    } else if desired > allowed_max {
        (allowed_max, max_reason)
    } else {
        (desired, WITHIN)
    }
}

#[cfg(test)]
#[path = "behavior_tests.rs"]
mod tests;
