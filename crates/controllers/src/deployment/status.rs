//! A Deployment's status and conditions, as upstream's `progress.go` and `sync.go`: replica
//! counts summed over its ReplicaSets, `Available` from the unavailability budget, and
//! `Progressing` from the rollout's progress against `progressDeadlineSeconds`.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::SignedDuration;

use super::plan::Sync;
use super::util::{desired, max_unavailable, replicas};

/// The reasons of the conditions this controller sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Progressing: the ReplicaSet of the current template was created.
    NewReplicaSetCreated,
    /// Progressing: the ReplicaSet of the current template already existed.
    FoundNewReplicaSet,
    /// Progressing: the rollout made progress.
    ReplicaSetUpdated,
    /// Progressing: the rollout finished.
    NewReplicaSetAvailable,
    /// Progressing (false): no progress within the deadline.
    ProgressDeadlineExceeded,
    /// Progressing (unknown): paused.
    DeploymentPaused,
    /// Progressing (unknown): resumed.
    DeploymentResumed,
    /// Available: enough pods are available.
    MinimumReplicasAvailable,
    /// Available (false): too few pods are available.
    MinimumReplicasUnavailable,
}

impl Reason {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewReplicaSetCreated => "NewReplicaSetCreated",
            Self::FoundNewReplicaSet => "FoundNewReplicaSet",
            Self::ReplicaSetUpdated => "ReplicaSetUpdated",
            Self::NewReplicaSetAvailable => "NewReplicaSetAvailable",
            Self::ProgressDeadlineExceeded => "ProgressDeadlineExceeded",
            Self::DeploymentPaused => "DeploymentPaused",
            Self::DeploymentResumed => "DeploymentResumed",
            Self::MinimumReplicasAvailable => "MinimumReplicasAvailable",
            Self::MinimumReplicasUnavailable => "MinimumReplicasUnavailable",
        }
    }
}

/// Whether the Deployment has a progress deadline (unset or `i32::MAX` means none).
pub fn has_progress_deadline(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .is_some_and(|s| s != i32::MAX)
}

/// Whether `status` shows the Deployment fully rolled out: every replica updated and
/// available, no old ones, the current generation observed.
pub fn is_complete_status(d: &Deployment, status: &DeploymentStatus) -> bool {
    let want = Some(desired(d));
    status.updated_replicas == want
        && status.replicas == want
        && status.available_replicas == want
        && status.observed_generation >= d.metadata.generation
}

/// Whether `new` shows progress over the stored status `old`.
fn is_progressing(old: &DeploymentStatus, new: &DeploymentStatus) -> bool {
    let n = |v: Option<i32>| v.unwrap_or(0);
    let old_old = n(old.replicas) - n(old.updated_replicas);
    let new_old = n(new.replicas) - n(new.updated_replicas);
    n(new.updated_replicas) > n(old.updated_replicas)
        || new_old < old_old
        || n(new.ready_replicas) > n(old.ready_replicas)
        || n(new.available_replicas) > n(old.available_replicas)
}

impl Sync {
    /// The condition of `type_`, if set.
    pub(super) fn condition(&self, type_: &str) -> Option<&DeploymentCondition> {
        self.d
            .status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == type_)
    }

    /// Sets a condition: unchanged when status and reason are the same, keeping its
    /// transition time when only the reason changes.
    pub(super) fn set_condition(
        &mut self,
        type_: &str,
        status: &str,
        reason: Reason,
        message: &str,
    ) {
        let now = Time(self.now);
        let conditions = self.status_mut().conditions.get_or_insert_with(Vec::new);
        let current = conditions.iter().position(|c| c.type_ == type_);
        let mut transition = Some(now.clone());
        if let Some(i) = current {
            let c = &conditions[i];
            if c.status == status && c.reason.as_deref() == Some(reason.as_str()) {
                return;
            }
            if c.status == status {
                transition = c.last_transition_time.clone();
            }
            conditions.remove(i);
        }
        conditions.push(DeploymentCondition {
            type_: type_.to_owned(),
            status: status.to_owned(),
            reason: Some(reason.as_str().to_owned()),
            message: Some(message.to_owned()),
            last_update_time: Some(now),
            last_transition_time: transition,
        });
    }

    fn remove_condition(&mut self, type_: &str) {
        if let Some(conditions) = self.status_mut().conditions.as_mut() {
            conditions.retain(|c| c.type_ != type_);
        }
    }

    /// Marks Progressing as paused or resumed when `spec.paused` changed.
    pub(super) fn check_paused_conditions(&mut self) {
        if !has_progress_deadline(&self.d) {
            return;
        }
        let paused = self.d.spec.as_ref().and_then(|s| s.paused) == Some(true);
        let reason = self.condition("Progressing").and_then(|c| c.reason.clone());
        let was_paused = reason.as_deref() == Some(Reason::DeploymentPaused.as_str());
        if paused && !was_paused {
            self.set_condition(
                "Progressing",
                "Unknown",
                Reason::DeploymentPaused,
                "Deployment is paused",
            );
        } else if !paused && was_paused {
            self.set_condition(
                "Progressing",
                "Unknown",
                Reason::DeploymentResumed,
                "Deployment is resumed",
            );
        }
    }

    /// Recomputes the replica counts and the Available condition.
    fn calculate_status(&mut self) {
        let all: Vec<_> = self.all().into_iter().map(|i| &self.rses[i]).collect();
        let sum = |f: &dyn Fn(&k8s_openapi::api::apps::v1::ReplicaSet) -> i32| -> i32 {
            all.iter().map(|rs| f(rs)).sum()
        };
        let st =
            |rs: &k8s_openapi::api::apps::v1::ReplicaSet| rs.status.clone().unwrap_or_default();
        let actual = sum(&|rs| st(rs).replicas);
        let ready = sum(&|rs| st(rs).ready_replicas.unwrap_or(0));
        let available = sum(&|rs| st(rs).available_replicas.unwrap_or(0));
        let total = sum(&replicas);
        let updated = self.new.map_or(0, |n| st(&self.rses[n]).replicas);
        let generation = self.d.metadata.generation;
        let status = self.status_mut();
        status.observed_generation = generation;
        status.replicas = Some(actual);
        status.updated_replicas = Some(updated);
        status.ready_replicas = Some(ready);
        status.available_replicas = Some(available);
        status.unavailable_replicas = Some((total - available).max(0));
        if available >= desired(&self.d) - max_unavailable(&self.d) {
            self.set_condition(
                "Available",
                "True",
                Reason::MinimumReplicasAvailable,
                "Deployment has minimum availability.",
            );
        } else {
            self.set_condition(
                "Available",
                "False",
                Reason::MinimumReplicasUnavailable,
                "Deployment does not have minimum availability.",
            );
        }
    }

    /// Status after a scale or while paused: counts and Available only.
    pub(super) fn sync_status(&mut self) {
        self.calculate_status();
    }

    /// Whether the status (as recomputed now) shows the rollout done.
    pub(super) fn is_complete(&mut self) -> bool {
        self.calculate_status();
        let status = self.d.status.clone().unwrap_or_default();
        is_complete_status(&self.d, &status)
    }

    /// Status after a rollout step: counts, Available, Progressing and ReplicaFailure.
    pub(super) fn sync_rollout_status(&mut self) {
        self.calculate_status();
        if !has_progress_deadline(&self.d) {
            self.remove_condition("Progressing");
        }
        let status = self.d.status.clone().unwrap_or_default();
        let current = self.condition("Progressing").cloned();
        let new_name = self.new.and_then(|n| self.rses[n].metadata.name.clone());
        let subject = match &new_name {
            Some(rs) => format!("ReplicaSet \"{rs}\""),
            None => format!(
                "Deployment \"{}\"",
                self.d.metadata.name.as_deref().unwrap_or_default()
            ),
        };
        let done = status.replicas == status.updated_replicas
            && current.as_ref().and_then(|c| c.reason.as_deref())
                == Some(Reason::NewReplicaSetAvailable.as_str());
        if has_progress_deadline(&self.d) && !done {
            if is_complete_status(&self.d, &status) {
                self.set_condition(
                    "Progressing",
                    "True",
                    Reason::NewReplicaSetAvailable,
                    &format!("{subject} has successfully progressed."),
                );
            } else if is_progressing(&self.original_status, &status) {
                let keep = current
                    .as_ref()
                    .filter(|c| c.status == "True")
                    .and_then(|c| c.last_transition_time.clone());
                self.remove_condition("Progressing");
                self.set_condition(
                    "Progressing",
                    "True",
                    Reason::ReplicaSetUpdated,
                    &format!("{subject} is progressing."),
                );
                if let Some(c) = self
                    .status_mut()
                    .conditions
                    .as_mut()
                    .and_then(|c| c.last_mut())
                {
                    c.last_transition_time = keep.or(c.last_transition_time.clone());
                }
            } else if self.timed_out(current.as_ref()) {
                self.set_condition(
                    "Progressing",
                    "False",
                    Reason::ProgressDeadlineExceeded,
                    &format!("{subject} has timed out progressing."),
                );
            }
        }
        self.sync_replica_failure();
        self.plan.requeue = self.requeue_for_deadline();
    }

    fn timed_out(&self, current: Option<&DeploymentCondition>) -> bool {
        let Some(c) = current else { return false };
        match c.reason.as_deref() {
            Some("NewReplicaSetAvailable") => false,
            Some("ProgressDeadlineExceeded") => true,
            _ => match (&c.last_update_time, self.deadline()) {
                (Some(from), Some(deadline)) => from.0 + deadline < self.now,
                _ => false,
            },
        }
    }

    fn deadline(&self) -> Option<SignedDuration> {
        let secs = self.d.spec.as_ref()?.progress_deadline_seconds?;
        Some(SignedDuration::from_secs(i64::from(secs)))
    }

    /// Mirrors a ReplicaFailure condition of the new (else any) ReplicaSet.
    fn sync_replica_failure(&mut self) {
        let mut order = Vec::from_iter(self.new);
        order.extend(self.old());
        let failure = order.iter().find_map(|i| {
            let conditions = self.rses[*i].status.as_ref()?.conditions.as_ref()?;
            conditions
                .iter()
                .find(|c| c.type_ == "ReplicaFailure")
                .cloned()
        });
        match failure {
            Some(f) => {
                let reason = f.reason.unwrap_or_default();
                let conditions = self.status_mut().conditions.get_or_insert_with(Vec::new);
                conditions.retain(|c| c.type_ != "ReplicaFailure");
                conditions.push(DeploymentCondition {
                    type_: "ReplicaFailure".to_owned(),
                    status: f.status,
                    reason: Some(reason),
                    message: f.message,
                    last_update_time: f.last_transition_time.clone(),
                    last_transition_time: f.last_transition_time,
                });
            }
            None => self.remove_condition("ReplicaFailure"),
        }
    }

    /// When to look again so that a stalled rollout is marked as past its deadline.
    fn requeue_for_deadline(&self) -> Option<Duration> {
        let current = self.condition("Progressing")?;
        let status = self.d.status.clone().unwrap_or_default();
        if !has_progress_deadline(&self.d)
            || is_complete_status(&self.d, &status)
            || current.reason.as_deref() == Some(Reason::ProgressDeadlineExceeded.as_str())
        {
            return None;
        }
        let from = current.last_update_time.as_ref()?.0;
        let after = (from + self.deadline()?).duration_since(self.now);
        Some(after.max(SignedDuration::ZERO).unsigned_abs() + Duration::from_secs(1))
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
