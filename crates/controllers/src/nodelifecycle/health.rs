//! Node health as upstream's node lifecycle controller judges it: the controller notes, by its
//! own clock, when it last saw a sign of life from a node (a new heartbeat on the Ready
//! condition, or a renewed Lease in `kube-node-lease`); a node silent for longer than the grace
//! period gets its Ready and pressure conditions set to Unknown.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, NodeCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// The condition type the node's readiness is reported in.
pub const READY: &str = "Ready";

/// The conditions set to Unknown when a node goes silent, as upstream's.
const SILENCED: [&str; 4] = [READY, "MemoryPressure", "DiskPressure", "PIDPressure"];

/// How long a node may stay silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// For a node that has posted a Ready condition (`--node-monitor-grace-period`).
    pub grace: Duration,
    /// For a node that never did (upstream's `--node-startup-grace-period`).
    pub startup_grace: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(40),
            startup_grace: Duration::from_secs(60),
        }
    }
}

/// What the controller remembers of a node between looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// When the controller last saw a sign of life, by its own clock.
    pub probe: Timestamp,
    /// The heartbeat of the Ready condition last seen; `None` while the node has none.
    ready_heartbeat: Option<Option<Timestamp>>,
    /// The renew time of the node's Lease last seen.
    lease_renew: Option<Timestamp>,
}

/// The outcome of one look at a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    /// What to remember until the next look.
    pub health: Health,
    /// The node's conditions to write, when the Ready condition changes.
    pub conditions: Option<Vec<NodeCondition>>,
    /// The Ready status as the node had it (`None`: no Ready condition).
    pub observed_ready: Option<String>,
    /// The Ready status after this look.
    pub current_ready: Option<String>,
    /// When the node's silence would exceed its grace period.
    pub deadline: Timestamp,
}

fn condition<'a>(conditions: &'a [NodeCondition], kind: &str) -> Option<&'a NodeCondition> {
    conditions.iter().find(|c| c.type_ == kind)
}

fn heartbeat(c: &NodeCondition) -> Option<Timestamp> {
    c.last_heartbeat_time.as_ref().map(|t| t.0)
}

/// Looks at `node` (and the renew time of its Lease) at `now`, given what was remembered.
pub fn look(
    saved: Option<&Health>,
    node: &Node,
    lease_renew: Option<Timestamp>,
    now: Timestamp,
    timings: Timings,
) -> Look {
    let created = node
        .metadata
        .creation_timestamp
        .as_ref()
        .map_or(now, |t| t.0);
    let conditions = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let ready = condition(&conditions, READY);
    let grace = if ready.is_some() {
        timings.grace
    } else {
        timings.startup_grace
    };
    let grace = SignedDuration::try_from(grace).unwrap_or(SignedDuration::MAX);
    let seen = ready.map(heartbeat);
    let mut health = match saved {
        // First sight of a node that never posted status: silent since it was created.
        None if seen.is_none() => Health {
            probe: created,
            ready_heartbeat: None,
            lease_renew: None,
        },
        Some(s) if s.ready_heartbeat == seen => s.clone(),
        // First sight, a Ready condition appearing or going, or a new heartbeat.
        _ => Health {
            probe: now,
            ready_heartbeat: seen,
            lease_renew: saved.and_then(|s| s.lease_renew),
        },
    };
    if let Some(renew) = lease_renew.filter(|r| health.lease_renew.is_none_or(|s| s < *r)) {
        health.lease_renew = Some(renew);
        health.probe = now;
    }
    let deadline = health.probe.saturating_add(grace).unwrap_or(health.probe);
    let observed_ready = ready.map(|c| c.status.clone());
    let mut look = Look {
        health,
        conditions: None,
        current_ready: observed_ready.clone(),
        observed_ready,
        deadline,
    };
    if now > deadline {
        let silenced = silence(conditions.clone(), created, now);
        if condition(&silenced, READY) != ready {
            look.current_ready = Some("Unknown".to_owned());
            look.conditions = Some(silenced);
        }
    }
    look
}

/// The conditions of a silent node: the Ready and pressure conditions Unknown, added with
/// `NodeStatusNeverUpdated` where missing, turned with `NodeStatusUnknown` where known.
fn silence(
    mut conditions: Vec<NodeCondition>,
    created: Timestamp,
    now: Timestamp,
) -> Vec<NodeCondition> {
    for kind in SILENCED {
        match conditions.iter_mut().find(|c| c.type_ == kind) {
            None => conditions.push(NodeCondition {
                type_: kind.to_owned(),
                status: "Unknown".to_owned(),
                reason: Some("NodeStatusNeverUpdated".to_owned()),
                message: Some("Kubelet never posted node status.".to_owned()),
                last_heartbeat_time: Some(Time(created)),
                last_transition_time: Some(Time(now)),
            }),
            Some(c) if c.status != "Unknown" => {
                c.status = "Unknown".to_owned();
                c.reason = Some("NodeStatusUnknown".to_owned());
                c.message = Some("Kubelet stopped posting node status.".to_owned());
                c.last_transition_time = Some(Time(now));
            }
            Some(_) => {}
        }
    }
    conditions
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
