//! Exact counting of a Job's finished pods, after upstream's
//! `trackJobStatusAndRemoveFinalizers`: a finished pod keeps the tracking finalizer until its
//! UID is recorded in `status.uncountedTerminatedPods` (or, for Indexed Jobs, its index in
//! `completedIndexes`); once the finalizer is gone the UID moves into the counters.

use std::collections::HashSet;

use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::conditions::{self, COMPLETE, FAILURE_TARGET, SUCCESS_CRITERIA_MET};
use super::decision::Facts;
use super::failure_policy;
use super::indexes::{self, Indexes};
use super::pods;

/// The most pods recorded as uncounted in one sync, as upstream (keeps the status small).
const MAX_UNCOUNTED: usize = 500;

/// The UIDs in `status.uncountedTerminatedPods`.
#[derive(Debug, Default)]
pub struct Uncounted {
    /// Succeeded pods not yet in `status.succeeded`.
    pub succeeded: HashSet<String>,
    /// Failed pods not yet in `status.failed`.
    pub failed: HashSet<String>,
}

impl Uncounted {
    /// The uncounted UIDs of `status`.
    pub fn of(status: &JobStatus) -> Self {
        let u = status.uncounted_terminated_pods.clone().unwrap_or_default();
        Self {
            succeeded: u.succeeded.unwrap_or_default().into_iter().collect(),
            failed: u.failed.unwrap_or_default().into_iter().collect(),
        }
    }
}

/// The completed indexes: those recorded, and those of succeeded pods still carrying the
/// finalizer.
pub(crate) fn succeeded_indexes(facts: &Facts<'_>, status: &JobStatus, pods: &[Pod]) -> Indexes {
    let completions = facts.completions.unwrap_or(0);
    let mut done = Indexes::parse(
        status.completed_indexes.as_deref().unwrap_or_default(),
        completions,
    );
    for p in pods {
        if pods::succeeded(p) && pods::has_tracking_finalizer(p) && facts.valid_index(p) {
            if let Some(i) = indexes::of_pod(p) {
                done.insert(i);
            }
        }
    }
    done
}

/// What [`track`] works from.
pub(crate) struct TrackInputs<'a> {
    pub facts: &'a Facts<'a>,
    pub job: &'a Job,
    pub pods: &'a [Pod],
    pub status: JobStatus,
    pub finish: Option<JobCondition>,
    pub succeeded_indexes: Option<Indexes>,
    pub now: Timestamp,
}

/// What [`track`] decided.
pub(crate) struct Tracked {
    pub status: JobStatus,
    pub release: Vec<(String, String)>,
    pub with_finalizer: HashSet<String>,
    pub finish: Option<JobCondition>,
    pub capped: bool,
}

/// Records newly finished pods as uncounted, picks the pods whose finalizer may go, and adds
/// the interim condition (FailureTarget, SuccessCriteriaMet) of a Job about to finish.
pub(crate) fn track(input: TrackInputs<'_>) -> Tracked {
    let TrackInputs {
        facts,
        job,
        pods,
        mut status,
        finish,
        succeeded_indexes,
        now,
    } = input;
    let with_finalizer: HashSet<String> = pods
        .iter()
        .filter(|p| pods::has_tracking_finalizer(p))
        .map(|p| pods::uid(p).to_owned())
        .collect();
    count_released(&mut status, &with_finalizer);
    let before = Uncounted::of(&status);
    let mut uncounted = status.uncounted_terminated_pods.clone().unwrap_or_default();
    let (mut new_succeeded, mut new_failed) = (Vec::new(), Vec::new());
    let mut release = Vec::new();
    let mut capped = false;
    let failing = finish
        .as_ref()
        .is_some_and(|c| c.type_ != SUCCESS_CRITERIA_MET);
    let deleting = job.metadata.deletion_timestamp.is_some();
    let mut ordered: Vec<&Pod> = pods
        .iter()
        .filter(|p| pods::has_tracking_finalizer(p))
        .collect();
    ordered.sort_by_key(|p| indexes::of_pod(p));
    for pod in ordered {
        let uid = pods::uid(pod).to_owned();
        let failed = pods::failed(pod, facts.only_replace_failed);
        if !(finish.is_some() || deleting || pods::succeeded(pod) || failed) {
            continue;
        }
        release.push((pod.metadata.name.clone().unwrap_or_default(), uid.clone()));
        if pods::succeeded(pod) && !before.failed.contains(&uid) {
            if !facts.indexed && !before.succeeded.contains(&uid) {
                new_succeeded.push(uid);
            }
        } else if (failed || failing) && !before.failed.contains(&uid) && facts.valid_index(pod) {
            let policy = facts.spec.pod_failure_policy.as_ref();
            if failure_policy::judge(policy, pod).counts() {
                new_failed.push(uid);
            }
        }
        if new_succeeded.len() + new_failed.len() >= MAX_UNCOUNTED {
            capped = true;
            break;
        }
    }
    if !new_succeeded.is_empty() || !new_failed.is_empty() {
        uncounted
            .succeeded
            .get_or_insert_with(Vec::new)
            .extend(new_succeeded);
        uncounted
            .failed
            .get_or_insert_with(Vec::new)
            .extend(new_failed);
    }
    status.uncounted_terminated_pods = Some(uncounted);
    if let Some(done) = succeeded_indexes {
        status.succeeded = Some(done.total());
        status.completed_indexes = Some(done.render());
    }
    let finish = finish.map(|c| interim(&mut status, c, now));
    Tracked {
        status,
        release,
        with_finalizer,
        finish,
        capped,
    }
}

/// Writes an interim condition into the status and returns the terminal one it leads to.
fn interim(status: &mut JobStatus, condition: JobCondition, now: Timestamp) -> JobCondition {
    let terminal = match condition.type_.as_str() {
        FAILURE_TARGET => conditions::FAILED,
        SUCCESS_CRITERIA_MET => COMPLETE,
        _ => return condition,
    };
    let list = status.conditions.get_or_insert_with(Vec::new);
    if conditions::find_true(list, &condition.type_).is_none() {
        list.push(condition.clone());
    }
    let reason = condition.reason.as_deref().unwrap_or_default();
    let message = condition.message.as_deref().unwrap_or_default();
    conditions::new(terminal, "True", reason, message, now)
}

/// Moves the uncounted UIDs whose pods no longer carry the finalizer into the counters;
/// returns whether anything moved.
pub fn count_released(status: &mut JobStatus, with_finalizer: &HashSet<String>) -> bool {
    let Some(uncounted) = status.uncounted_terminated_pods.as_mut() else {
        return false;
    };
    let mut moved = false;
    let UncountedTerminatedPods { succeeded, failed } = uncounted;
    for (list, counter) in [
        (succeeded, &mut status.succeeded),
        (failed, &mut status.failed),
    ] {
        let Some(uids) = list.as_mut() else { continue };
        let before = uids.len();
        uids.retain(|u| with_finalizer.contains(u));
        let released = i32::try_from(before - uids.len()).unwrap_or(i32::MAX);
        if released > 0 {
            *counter = Some(counter.unwrap_or(0) + released);
            moved = true;
        }
    }
    moved
}

/// The status after the finalizers of `released` pods are gone: their UIDs counted and, when
/// nothing is left uncounted or terminating, the terminal condition set. Returns that
/// condition when the Job finished with this status.
pub fn settle(
    status: &mut JobStatus,
    with_finalizer: &HashSet<String>,
    finish: Option<&JobCondition>,
    capped: bool,
    now: Timestamp,
) -> Option<JobCondition> {
    count_released(status, with_finalizer);
    let finish = finish.filter(|_| !capped)?;
    let uncounted = status.uncounted_terminated_pods.as_ref();
    let pending = uncounted.map_or(0, |u| {
        u.succeeded.as_ref().map_or(0, Vec::len) + u.failed.as_ref().map_or(0, Vec::len)
    });
    if pending > 0 || status.terminating.unwrap_or(0) > 0 {
        return None;
    }
    let reason = finish.reason.as_deref().unwrap_or_default();
    let message = finish.message.as_deref().unwrap_or_default();
    let list = status.conditions.get_or_insert_with(Vec::new);
    conditions::ensure(list, &finish.type_, "True", reason, message, now);
    if finish.type_ == COMPLETE {
        status.completion_time = Some(Time(now));
    }
    Some(finish.clone())
}
