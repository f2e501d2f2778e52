//! One sync of a StatefulSet, decided without I/O, as upstream's `stateful_set_control.go`:
//! members are made in ordinal order, each only once its predecessors run Ready and available
//! (`OrderedReady`), or all at once (`Parallel`); members past `replicas` go highest ordinal
//! first; a rolling update replaces members from the highest ordinal down to the partition,
//! `maxUnavailable` at a time; `OnDelete` leaves replacing to the user. The plan's steps are
//! carried out in order, stopping at the first failure.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::jiff::Timestamp;

use super::identity::{
    allows_burst, claim_owners, claims_for, identity_matches, is_created, is_finished,
    is_on_delete, is_running_and_available, is_running_and_ready, is_terminating, is_unavailable,
    max_unavailable, min_ready_seconds, new_pod, partition, pod_ordinal, pod_revision, replicas,
    set_identity, start_ordinal,
};
use crate::workload::history::template_of;
use crate::workload::pod::next_availability_check;

/// What a sync starts from.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The StatefulSet.
    pub set: &'a StatefulSet,
    /// The revision its current pods were made from.
    pub current: &'a ControllerRevision,
    /// The revision of its template now.
    pub update: &'a ControllerRevision,
    /// Hash collisions met naming revisions.
    pub collision_count: i32,
    /// The pods it controls.
    pub pods: &'a [Pod],
    /// The namespace's PersistentVolumeClaims by name.
    pub claims: &'a BTreeMap<String, PersistentVolumeClaim>,
    /// The current time.
    pub now: Timestamp,
}

/// One write.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Create these claims (before the pods that mount them).
    CreateClaims(Vec<PersistentVolumeClaim>),
    /// Create these pods.
    CreatePods(Vec<Pod>),
    /// Delete these pods.
    DeletePods(Vec<Pod>),
    /// Give this pod (as it should be) its identity labels back.
    Relabel(Box<Pod>),
    /// Give this claim these owner references (retention policy).
    SetClaimOwners(Box<PersistentVolumeClaim>, Vec<OwnerReference>),
}

/// What one sync does.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The writes, in order.
    pub steps: Vec<Step>,
    /// The status after this sync.
    pub status: StatefulSetStatus,
    /// When to sync again though nothing changes (a pod becoming available).
    pub requeue: Option<Duration>,
}

/// The set's members split by ordinal: one slot per wanted ordinal, and the rest highest first.
struct Members<'a> {
    replicas: Vec<Option<&'a Pod>>,
    condemned: Vec<&'a Pod>,
}

fn members<'a>(set: &StatefulSet, pods: &'a [Pod]) -> Members<'a> {
    let start = start_ordinal(set);
    let count = usize::try_from(replicas(set)).unwrap_or(0);
    let mut slots = vec![None; count];
    let mut condemned = Vec::new();
    for pod in pods {
        let Some(ordinal) = pod_ordinal(set, pod) else {
            continue;
        };
        match usize::try_from(ordinal - start).ok().filter(|i| *i < count) {
            Some(i) => slots[i] = Some(pod),
            None => condemned.push(pod),
        }
    }
    condemned.sort_by_key(|p| Reverse(pod_ordinal(set, p)));
    Members {
        replicas: slots,
        condemned,
    }
}

/// Decides one sync.
pub fn sync(input: &Input<'_>) -> Plan {
    let set = input.set;
    let m = members(set, input.pods);
    let counted: Vec<&Pod> = m
        .replicas
        .iter()
        .flatten()
        .copied()
        .chain(m.condemned.iter().copied())
        .collect();
    let mut plan = Plan {
        steps: Vec::new(),
        status: status(input, &counted),
        requeue: None,
    };
    let min_ready = min_ready_seconds(set);
    let owned: Vec<Pod> = counted.iter().copied().cloned().collect();
    plan.requeue = next_availability_check(&owned, min_ready, input.now);
    if set.metadata.deletion_timestamp.is_none() && Sync::new(input, &mut plan).run(&m) {
        Sync::new(input, &mut plan).roll(&m);
    }
    complete_rolling_update(set, &mut plan.status);
    plan
}

/// The working state of one sync.
struct Sync<'i, 'p> {
    input: &'i Input<'i>,
    plan: &'p mut Plan,
    monotonic: bool,
    min_ready: i32,
}

impl<'i, 'p> Sync<'i, 'p> {
    fn new(input: &'i Input<'i>, plan: &'p mut Plan) -> Self {
        Self {
            monotonic: !allows_burst(input.set),
            min_ready: min_ready_seconds(input.set),
            input,
            plan,
        }
    }

    fn available(&self, pod: &Pod) -> bool {
        is_running_and_available(pod, self.min_ready, self.input.now)
    }

    /// Brings the members to the wanted ordinals; whether the rolling update may proceed.
    fn run(mut self, m: &Members<'_>) -> bool {
        if !self.replicas(m) {
            return false;
        }
        for pod in &m.condemned {
            self.fix_claim_owners(pod, true);
        }
        self.condemned(m)
    }

    /// Creates missing members and replaces finished ones; false when a monotonic set must
    /// wait.
    fn replicas(&mut self, m: &Members<'_>) -> bool {
        let (set, start) = (self.input.set, start_ordinal(self.input.set));
        let (mut claims, mut creates, mut deletes) = (Vec::new(), Vec::new(), Vec::new());
        let mut proceed = true;
        for (index, slot) in m.replicas.iter().enumerate() {
            let ordinal = start + i32::try_from(index).unwrap_or(i32::MAX);
            let Some(pod) = slot else {
                claims.extend(self.missing_claims(ordinal));
                creates.push(self.versioned_pod(index, ordinal));
                if self.monotonic {
                    proceed = false;
                    break;
                }
                continue;
            };
            if is_finished(pod) {
                if !is_terminating(pod) {
                    deletes.push(Pod::clone(pod));
                }
                if self.monotonic {
                    proceed = false;
                    break;
                }
                continue;
            }
            let pending = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending");
            if pending {
                claims.extend(self.missing_claims(ordinal));
            }
            let blocked = is_terminating(pod) || !is_running_and_ready(pod) || !self.available(pod);
            if self.monotonic && blocked {
                proceed = false;
                break;
            }
            if !identity_matches(set, pod) {
                let mut fixed = Pod::clone(pod);
                set_identity(set, &mut fixed, ordinal);
                self.plan.steps.push(Step::Relabel(Box::new(fixed)));
            }
            self.fix_claim_owners(pod, false);
        }
        self.push_writes(claims, creates, deletes);
        proceed
    }

    fn push_writes(
        &mut self,
        claims: Vec<PersistentVolumeClaim>,
        creates: Vec<Pod>,
        deletes: Vec<Pod>,
    ) {
        if !claims.is_empty() {
            self.plan.steps.push(Step::CreateClaims(claims));
        }
        if !creates.is_empty() {
            self.plan.steps.push(Step::CreatePods(creates));
        }
        if !deletes.is_empty() {
            self.plan.steps.push(Step::DeletePods(deletes));
        }
    }

    /// Deletes members past the wanted ordinals, highest first; false when a monotonic set
    /// must wait.
    fn condemned(&mut self, m: &Members<'_>) -> bool {
        let first_unhealthy = m
            .replicas
            .iter()
            .flatten()
            .chain(m.condemned.iter().rev())
            .find(|p| is_unavailable(p, self.min_ready, self.input.now))
            .and_then(|p| p.metadata.name.clone());
        let mut deletes = Vec::new();
        for pod in &m.condemned {
            if is_terminating(pod) {
                if self.monotonic {
                    return false;
                }
                continue;
            }
            let healthy = is_running_and_ready(pod) && self.available(pod);
            if self.monotonic && !healthy && pod.metadata.name != first_unhealthy {
                return false;
            }
            deletes.push(Pod::clone(pod));
            if self.monotonic {
                break;
            }
        }
        let deleted = !deletes.is_empty();
        self.push_writes(Vec::new(), Vec::new(), deletes);
        !(self.monotonic && deleted)
    }

    /// The rolling update: replaces members not at the update revision, highest ordinal
    /// first, down to the partition, with at most maxUnavailable members unavailable.
    fn roll(self, m: &Members<'_>) {
        let set = self.input.set;
        if is_on_delete(set) {
            return;
        }
        let unavailable = m
            .replicas
            .iter()
            .filter(|slot| slot.is_none_or(|p| is_unavailable(p, self.min_ready, self.input.now)))
            .count();
        let budget = usize::try_from(max_unavailable(set)).unwrap_or(1);
        let Some(mut budget) = budget.checked_sub(unavailable) else {
            return;
        };
        let update = self
            .input
            .update
            .metadata
            .name
            .as_deref()
            .unwrap_or_default();
        let floor = usize::try_from(partition(set)).unwrap_or(0);
        let mut deletes = Vec::new();
        for pod in m.replicas.iter().skip(floor).rev().flatten() {
            if budget == 0 {
                break;
            }
            if pod_revision(pod) != update && !is_terminating(pod) {
                deletes.push(Pod::clone(pod));
                budget -= 1;
            }
        }
        let current = self.plan.status.current_replicas.unwrap_or(0);
        let deleted = i32::try_from(deletes.len()).unwrap_or(0);
        self.plan.status.current_replicas = Some(current - deleted);
        if !deletes.is_empty() {
            self.plan.steps.push(Step::DeletePods(deletes));
        }
    }

    /// The pod for a missing member: below the partition of a rolling update it is made from
    /// the current revision, otherwise from the update revision.
    fn versioned_pod(&self, index: usize, ordinal: i32) -> Pod {
        let set = self.input.set;
        let below_partition = usize::try_from(partition(set)).is_ok_and(|p| index < p);
        let revision = if !is_on_delete(set) && below_partition {
            self.input.current
        } else {
            self.input.update
        };
        let template = template_of(revision)
            .or_else(|| set.spec.as_ref().map(|s| s.template.clone()))
            .unwrap_or_default();
        let name = revision.metadata.name.as_deref().unwrap_or_default();
        new_pod(set, &template, name, ordinal)
    }

    fn missing_claims(&self, ordinal: i32) -> Vec<PersistentVolumeClaim> {
        claims_for(self.input.set, ordinal)
            .into_iter()
            .map(|(_, claim)| claim)
            .filter(|c| {
                !self
                    .input
                    .claims
                    .contains_key(c.metadata.name.as_deref().unwrap_or_default())
            })
            .collect()
    }

    fn fix_claim_owners(&mut self, pod: &Pod, condemned: bool) {
        let Some(ordinal) = pod_ordinal(self.input.set, pod) else {
            return;
        };
        for (_, claim) in claims_for(self.input.set, ordinal) {
            let name = claim.metadata.name.as_deref().unwrap_or_default();
            let Some(existing) = self.input.claims.get(name) else {
                continue;
            };
            if let Some(owners) = claim_owners(self.input.set, pod, condemned, existing) {
                self.plan
                    .steps
                    .push(Step::SetClaimOwners(Box::new(existing.clone()), owners));
            }
        }
    }
}

/// The status the members `pods` give, before this sync's writes.
fn status(input: &Input<'_>, pods: &[&Pod]) -> StatefulSetStatus {
    let set = input.set;
    let min_ready = min_ready_seconds(set);
    let current = input.current.metadata.name.clone().unwrap_or_default();
    let update = input.update.metadata.name.clone().unwrap_or_default();
    let count = |f: &dyn Fn(&Pod) -> bool| {
        i32::try_from(pods.iter().filter(|p| f(p)).count()).unwrap_or(i32::MAX)
    };
    let at = |revision: &str| {
        count(&|p| is_created(p) && !is_terminating(p) && pod_revision(p) == revision)
    };
    StatefulSetStatus {
        replicas: count(&is_created),
        ready_replicas: Some(count(&is_running_and_ready)),
        available_replicas: Some(count(&|p| {
            is_running_and_ready(p) && is_running_and_available(p, min_ready, input.now)
        })),
        current_replicas: Some(at(&current)),
        updated_replicas: Some(at(&update)),
        current_revision: Some(current),
        update_revision: Some(update),
        collision_count: Some(input.collision_count),
        observed_generation: set.metadata.generation,
        conditions: set.status.as_ref().and_then(|s| s.conditions.clone()),
    }
}

/// A rolling update is complete once every pod is updated and Ready: the update revision
/// becomes the current one.
fn complete_rolling_update(set: &StatefulSet, status: &mut StatefulSetStatus) {
    let replicas = status.replicas;
    if !is_on_delete(set)
        && status.updated_replicas == Some(replicas)
        && status.ready_replicas == Some(replicas)
    {
        status.current_replicas = status.updated_replicas;
        status.current_revision.clone_from(&status.update_revision);
    }
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
