//! The Job controller's decision core, without I/O: from a Job and the pods it controls, what
//! to create and delete, which pods to count (through `uncountedTerminatedPods` and the
//! tracking finalizer) and the status to write, after upstream's `syncJob`.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobCondition, JobSpec, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::backoff::{self, Delays, Record};
use super::conditions::{self, FAILURE_TARGET, SUCCESS_CRITERIA_MET, SUSPENDED};
use super::failure_policy::{self, Verdict};
use super::indexes::{self, Indexes};
use super::pods;
use super::tracking;
use crate::events::Note;
use crate::workload::ranking;

/// The most pods created or deleted in one sync, as upstream.
pub const MAX_POD_CHANGES_PER_SYNC: usize = 500;

/// What the decision is made from.
pub struct Inputs<'a> {
    /// The Job, freshly read.
    pub job: &'a Job,
    /// The pods it controls.
    pub pods: &'a [Pod],
    /// The time now.
    pub now: Timestamp,
    /// What is remembered of its recent failures.
    pub backoff: Record,
    /// The pod-failure back-off delays.
    pub delays: Delays,
}

/// A pod to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// Its name.
    pub name: String,
    /// Whether to remove the tracking finalizer first (the pod is not counted as failed).
    pub remove_finalizer_first: bool,
}

/// What one sync does, in order: delete, create, write `status` (when it changed), remove
/// the tracking finalizer from `release`, then settle the counts ([`tracking::settle`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Pods to delete.
    pub deletions: Vec<Deletion>,
    /// Pods to create: one per entry, with its completion index for Indexed Jobs.
    pub creations: Vec<Option<i32>>,
    /// The status to write before any finalizer is removed.
    pub status: JobStatus,
    /// Pods (name, uid) whose tracking finalizer goes once `status` is written.
    pub release: Vec<(String, String)>,
    /// UIDs of the pods that carried the finalizer when the sync began.
    pub with_finalizer: HashSet<String>,
    /// The terminal condition to add once every pod is counted and gone.
    pub finish: Option<JobCondition>,
    /// Whether counting stopped early (too many uncounted pods for one status write).
    pub capped: bool,
    /// The back-off record once the newly finished pods are taken in.
    pub backoff: Record,
    /// When to look at the Job again regardless of changes.
    pub requeue_after: Option<Duration>,
    /// Events to record.
    pub notes: Vec<Note>,
}

/// The spec facts the decision keeps consulting.
pub(crate) struct Facts<'a> {
    pub spec: &'a JobSpec,
    pub indexed: bool,
    pub completions: Option<i32>,
    pub only_replace_failed: bool,
    pub suspended: bool,
}

impl<'a> Facts<'a> {
    fn of(spec: &'a JobSpec) -> Self {
        Self {
            spec,
            indexed: spec.completion_mode.as_deref() == Some("Indexed"),
            completions: spec.completions,
            only_replace_failed: spec.pod_replacement_policy.as_deref() == Some("Failed")
                || spec.pod_failure_policy.is_some(),
            suspended: spec.suspend == Some(true),
        }
    }

    /// Whether the pod has a usable completion index (always, for NonIndexed Jobs).
    pub(crate) fn valid_index(&self, pod: &Pod) -> bool {
        !self.indexed || indexes::of_pod(pod).is_some_and(|i| i < self.completions.unwrap_or(0))
    }
}

/// Decides one sync of a Job that has not finished. A finished Job only needs its pods'
/// finalizers released ([`finished_release`]).
pub fn plan(input: &Inputs<'_>) -> Plan {
    let spec = input.job.spec.clone().unwrap_or_default();
    let facts = Facts::of(&spec);
    let mut status = input.job.status.clone().unwrap_or_default();
    let Counts {
        mut succeeded,
        failed,
        backoff,
    } = count(input, &facts, &status);
    if status.start_time.is_none() && !facts.suspended {
        status.start_time = Some(Time(input.now));
    }
    let mut requeue = Requeue::default();
    let mut finish = failure_condition(input, &facts, &status, failed, &mut requeue);
    let mut succeeded_indexes = None;
    if facts.indexed {
        let done = tracking::succeeded_indexes(&facts, &status, input.pods);
        succeeded = done.total();
        succeeded_indexes = Some(done);
    }
    let mut state = PodState::of(input.pods);
    let mut deletions = Vec::new();
    let mut creations = Vec::new();
    let mut notes = Vec::new();
    if finish.is_some() {
        // The Job failed: its running pods go, keeping their finalizers so they are counted.
        let all = state.active.clone();
        deletions = state.remove(&all, false);
    } else {
        let deleting_job = input.job.metadata.deletion_timestamp.is_some();
        if !deleting_job {
            let managed = Manage {
                facts: &facts,
                job: input.job,
                pods: input.pods,
                succeeded,
                done: succeeded_indexes.as_ref(),
                terminating: state.terminating,
                backoff: &backoff,
                delays: &input.delays,
                now: input.now,
            }
            .run(&state.active);
            deletions = state.remove(&managed.remove, true);
            creations = managed.create;
            requeue.at(managed.wait);
        }
        let active_after = len32(state.active.len() + creations.len());
        let complete = match facts.completions {
            None => succeeded > 0 && active_after == 0,
            Some(c) => succeeded >= c && active_after == 0,
        };
        if complete {
            finish = Some(conditions::new(
                SUCCESS_CRITERIA_MET,
                "True",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
                input.now,
            ));
        } else if !deleting_job {
            suspension(&facts, &mut status, input.now, &mut notes);
        }
    }
    status.active = Some(len32(state.active.len() + creations.len()));
    status.ready = Some(state.ready.max(0));
    status.terminating = Some(state.terminating);

    let tracked = tracking::track(tracking::TrackInputs {
        facts: &facts,
        job: input.job,
        pods: input.pods,
        status,
        finish,
        succeeded_indexes,
        now: input.now,
    });
    Plan {
        deletions,
        creations,
        status: tracked.status,
        release: tracked.release,
        with_finalizer: tracked.with_finalizer,
        finish: tracked.finish,
        capped: tracked.capped,
        backoff,
        requeue_after: requeue.0,
        notes,
    }
}

/// The Job's counters including pods finished since the last sync, and the back-off record
/// once those are taken in.
struct Counts {
    succeeded: i32,
    failed: i32,
    backoff: Record,
}

/// Counts what the status records, what it lists as uncounted, and the finished pods still
/// carrying the finalizer that it does not list yet (failures the policy ignores left out).
fn count(input: &Inputs<'_>, facts: &Facts<'_>, status: &JobStatus) -> Counts {
    let uncounted = tracking::Uncounted::of(status);
    let fresh = input
        .pods
        .iter()
        .filter(|p| pods::has_tracking_finalizer(p) && facts.valid_index(p));
    let (mut new_succeeded, mut new_failed) = (Vec::new(), Vec::new());
    for p in fresh {
        let uid = pods::uid(p);
        if pods::succeeded(p) && !uncounted.succeeded.contains(uid) {
            new_succeeded.push(p);
        } else if pods::failed(p, facts.only_replace_failed) && !uncounted.failed.contains(uid) {
            new_failed.push(p);
        }
    }
    let policy = facts.spec.pod_failure_policy.as_ref();
    let counted_failures = new_failed
        .iter()
        .filter(|p| failure_policy::judge(policy, p).counts())
        .count();
    let finished_at = |list: &[&Pod]| list.iter().map(|p| backoff::finished_at(p)).collect();
    Counts {
        succeeded: status.succeeded.unwrap_or(0)
            + len32(new_succeeded.len())
            + len32(uncounted.succeeded.len()),
        failed: status.failed.unwrap_or(0)
            + len32(counted_failures)
            + len32(uncounted.failed.len()),
        backoff: input
            .backoff
            .advance(finished_at(&new_succeeded), finished_at(&new_failed)),
    }
}

/// The Job's unfinished pods, as the sync changes them.
struct PodState<'a> {
    active: Vec<&'a Pod>,
    terminating: i32,
    ready: i32,
}

impl<'a> PodState<'a> {
    fn of(all: &'a [Pod]) -> Self {
        let active: Vec<&Pod> = all.iter().filter(|p| pods::is_active(p)).collect();
        Self {
            terminating: len32(all.iter().filter(|p| pods::is_terminating(p)).count()),
            ready: len32(active.iter().filter(|p| pods::is_ready(p)).count()),
            active,
        }
    }

    /// Takes `gone` out of the active pods (they become terminating) and says how to delete
    /// them.
    fn remove(&mut self, gone: &[&Pod], remove_finalizer_first: bool) -> Vec<Deletion> {
        let uids: HashSet<&str> = gone.iter().map(|p| pods::uid(p)).collect();
        self.ready -= len32(gone.iter().filter(|p| pods::is_ready(p)).count());
        self.terminating += len32(gone.len());
        self.active.retain(|p| !uids.contains(pods::uid(p)));
        gone.iter()
            .map(|p| Deletion {
                name: p.metadata.name.clone().unwrap_or_default(),
                remove_finalizer_first,
            })
            .collect()
    }
}

/// The pods of a finished Job that still carry the tracking finalizer, to release.
pub fn finished_release(pods: &[Pod]) -> Vec<(String, String)> {
    pods.iter()
        .filter(|p| pods::has_tracking_finalizer(p))
        .map(|p| {
            (
                p.metadata.name.clone().unwrap_or_default(),
                pods::uid(p).to_owned(),
            )
        })
        .collect()
}

fn len32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The earliest of the requeue delays asked for.
#[derive(Default)]
struct Requeue(Option<Duration>);

impl Requeue {
    fn at(&mut self, delay: Option<Duration>) {
        if let Some(d) = delay {
            self.0 = Some(self.0.map_or(d, |e| e.min(d)));
        }
    }
}

/// The condition the Job is heading to because of failures, if any: an interim
/// SuccessCriteriaMet or FailureTarget already recorded, a `FailJob` rule, the backoff limit,
/// or the active deadline.
fn failure_condition(
    input: &Inputs<'_>,
    facts: &Facts<'_>,
    status: &JobStatus,
    failed: i32,
    requeue: &mut Requeue,
) -> Option<JobCondition> {
    let list = status.conditions.as_deref().unwrap_or_default();
    if let Some(met) = conditions::find_true(list, SUCCESS_CRITERIA_MET) {
        return Some(met.clone());
    }
    if let Some(target) = conditions::find_true(list, FAILURE_TARGET) {
        let reason = target.reason.as_deref().unwrap_or_default();
        let message = target.message.as_deref().unwrap_or_default();
        return Some(conditions::new(
            conditions::FAILED,
            "True",
            reason,
            message,
            input.now,
        ));
    }
    let policy = facts.spec.pod_failure_policy.as_ref();
    let fail_job = input
        .pods
        .iter()
        .filter(|p| pods::failed(p, facts.only_replace_failed))
        .find_map(|p| match failure_policy::judge(policy, p) {
            Verdict::FailJob(message) => Some(message),
            _ => None,
        });
    if let Some(message) = fail_job {
        return Some(conditions::new(
            FAILURE_TARGET,
            "True",
            "PodFailurePolicy",
            &message,
            input.now,
        ));
    }
    let limit = facts.spec.backoff_limit.unwrap_or(6);
    if failed > limit || past_backoff_limit_on_failure(facts.spec, input.pods) {
        return Some(conditions::new(
            FAILURE_TARGET,
            "True",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
            input.now,
        ));
    }
    let deadline = facts
        .spec
        .active_deadline_seconds
        .filter(|_| !facts.suspended);
    let started = status.start_time.as_ref().map(|t| t.0);
    if let (Some(seconds), Some(started)) = (deadline, started) {
        let allowed = Duration::from_secs(u64::try_from(seconds).unwrap_or(0));
        let elapsed = Duration::try_from(input.now.duration_since(started)).unwrap_or_default();
        if elapsed >= allowed {
            return Some(conditions::new(
                FAILURE_TARGET,
                "True",
                "DeadlineExceeded",
                "Job was active longer than specified deadline",
                input.now,
            ));
        }
        requeue.at(Some(allowed - elapsed));
    }
    None
}

/// For `restartPolicy: OnFailure`, whether the container restarts of running pods reached
/// the backoff limit.
fn past_backoff_limit_on_failure(spec: &JobSpec, pods: &[Pod]) -> bool {
    let on_failure = spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        == Some("OnFailure");
    if !on_failure {
        return false;
    }
    let restarts: i32 = pods
        .iter()
        .filter_map(|p| p.status.as_ref())
        .filter(|s| matches!(s.phase.as_deref(), Some("Running" | "Pending")))
        .flat_map(|s| {
            let init = s.init_container_statuses.iter().flatten();
            init.chain(s.container_statuses.iter().flatten())
        })
        .map(|c| c.restart_count)
        .sum();
    match spec.backoff_limit.unwrap_or(6) {
        0 => restarts > 0,
        limit => restarts >= limit,
    }
}

/// Keeps the Suspended condition in step with `spec.suspend`; resuming restarts the clock of
/// `activeDeadlineSeconds`.
fn suspension(facts: &Facts<'_>, status: &mut JobStatus, now: Timestamp, notes: &mut Vec<Note>) {
    let list = status.conditions.get_or_insert_with(Vec::new);
    if facts.suspended {
        if conditions::ensure(
            list,
            SUSPENDED,
            "True",
            "JobSuspended",
            "Job suspended",
            now,
        ) {
            notes.push(Note::normal("Suspended", "Job suspended"));
        }
    } else if conditions::ensure(list, SUSPENDED, "False", "JobResumed", "Job resumed", now) {
        notes.push(Note::normal("Resumed", "Job resumed"));
        status.start_time = Some(Time(now));
    }
    if status.conditions.as_ref().is_some_and(Vec::is_empty) {
        status.conditions = None;
    }
}

/// Upstream's `manageJob`: how many pods the Job wants running, and which to add or remove.
struct Manage<'a> {
    facts: &'a Facts<'a>,
    job: &'a Job,
    pods: &'a [Pod],
    succeeded: i32,
    done: Option<&'a Indexes>,
    terminating: i32,
    backoff: &'a Record,
    delays: &'a Delays,
    now: Timestamp,
}

/// What [`Manage`] decided.
struct Managed<'a> {
    remove: Vec<&'a Pod>,
    create: Vec<Option<i32>>,
    wait: Option<Duration>,
}

impl<'a> Manage<'a> {
    fn run(&self, active: &[&'a Pod]) -> Managed<'a> {
        let none = |wait| Managed {
            remove: Vec::new(),
            create: Vec::new(),
            wait,
        };
        let count = len32(active.len());
        if self.facts.suspended {
            return Managed {
                remove: active.to_vec(),
                ..none(None)
            };
        }
        let parallelism = self
            .job
            .spec
            .as_ref()
            .and_then(|s| s.parallelism)
            .unwrap_or(1);
        let want = match self.facts.completions {
            None if self.succeeded > 0 => count,
            None => parallelism,
            Some(c) => (c - self.succeeded).clamp(0, parallelism.max(0)),
        };
        let mut remove = self.for_removal(active, usize::try_from(count - want).unwrap_or(0));
        remove.truncate(MAX_POD_CHANGES_PER_SYNC);
        if !remove.is_empty() {
            return Managed {
                remove,
                ..none(None)
            };
        }
        let terminating = if self.facts.only_replace_failed {
            self.terminating
        } else {
            0
        };
        let missing = usize::try_from(want - terminating - count).unwrap_or(0);
        if missing == 0 {
            return none(None);
        }
        let remaining = self.backoff.remaining(self.delays, self.now);
        if !remaining.is_zero() {
            return none(Some(remaining));
        }
        let missing = missing.min(MAX_POD_CHANGES_PER_SYNC);
        let create = match (self.done, self.facts.completions) {
            (Some(done), Some(completions)) => {
                let taken = self.taken_indexes(active);
                indexes::first_pending(completions, done, &taken, missing)
                    .into_iter()
                    .map(Some)
                    .collect()
            }
            _ => vec![None; missing],
        };
        Managed {
            create,
            ..none(None)
        }
    }

    /// Indexes not to create pods for: those of active pods and, when only failed pods are
    /// replaced, of terminating ones.
    fn taken_indexes(&self, active: &[&Pod]) -> BTreeSet<i32> {
        let terminating = self
            .pods
            .iter()
            .filter(|p| self.facts.only_replace_failed && pods::is_terminating(p));
        active
            .iter()
            .copied()
            .chain(terminating)
            .filter_map(indexes::of_pod)
            .collect()
    }

    /// The active pods to remove: for Indexed Jobs first those with a missing, out-of-range,
    /// already succeeded or duplicated index; then the least advanced, up to `at_least`.
    fn for_removal(&self, active: &[&'a Pod], at_least: usize) -> Vec<&'a Pod> {
        let mut remove = Vec::new();
        let mut left: Vec<&Pod> = active.to_vec();
        if let (Some(done), Some(completions)) = (self.done, self.facts.completions) {
            left.sort_by_key(|p| indexes::of_pod(p));
            let mut seen = BTreeSet::new();
            let (bad, good): (Vec<&Pod>, Vec<&Pod>) =
                left.into_iter()
                    .rev()
                    .partition(|p| match indexes::of_pod(p) {
                        Some(i) if i < completions && !done.contains(i) => !seen.insert(i),
                        _ => true,
                    });
            remove = bad;
            left = good;
        }
        if remove.len() < at_least {
            // Rank copies with the workload controllers' removal order, then keep the originals.
            let candidates: Vec<Pod> = left.iter().map(|p| (*p).clone()).collect();
            let count = at_least - remove.len();
            let chosen: HashSet<&str> =
                ranking::pods_to_delete(&candidates, &candidates, count, self.now)
                    .into_iter()
                    .map(pods::uid)
                    .collect();
            remove.extend(left.into_iter().filter(|p| chosen.contains(pods::uid(p))));
        }
        remove
    }
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
