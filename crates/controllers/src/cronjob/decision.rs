//! The CronJob controller's decision core, without I/O, after upstream's `syncCronJob`: keep
//! `status.active` in step with the Jobs, find the most recent unmet schedule time, honour
//! `suspend`, `startingDeadlineSeconds` and the concurrency policy, name the Job after its
//! scheduled minute, and trim finished Jobs to the history limits.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};

use super::schedule::Schedule;
use crate::events::Note;
use crate::job::conditions;

/// The annotation holding a Job's scheduled time.
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// Past this many missed start times, upstream warns and starts only the latest.
const MANY_MISSED: i64 = 100;

/// Slack added to requeues, for clock skew (upstream: 100 ms).
const NEXT_SCHEDULE_DELTA: Duration = Duration::from_millis(100);

/// What the decision is made from.
pub struct Inputs<'a> {
    /// The CronJob, freshly read.
    pub cronjob: &'a CronJob,
    /// The Jobs it controls.
    pub jobs: &'a [Job],
    /// The time now.
    pub now: Timestamp,
    /// The zone schedules without `timeZone` are read in (the controller's local zone).
    pub local: TimeZone,
}

/// What one sync does: delete `replace`, create `create`, delete `history`, write `status`.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The status before the writes below (active list and times brought up to date).
    pub status: CronJobStatus,
    /// Running Jobs to delete first (concurrency policy Replace).
    pub replace: Vec<String>,
    /// The Job to create, and the time it was scheduled for.
    pub create: Option<(Job, Timestamp)>,
    /// Finished Jobs beyond the history limits, oldest first.
    pub history: Vec<String>,
    /// Events to record.
    pub notes: Vec<Note>,
    /// When to look again (the next schedule time).
    pub requeue_after: Option<Duration>,
}

/// Decides one sync of a CronJob.
pub fn plan(input: &Inputs<'_>) -> Plan {
    let cj = input.cronjob;
    let mut plan = Plan {
        status: cj.status.clone().unwrap_or_default(),
        replace: Vec::new(),
        create: None,
        history: history(cj, input.jobs),
        notes: Vec::new(),
        requeue_after: None,
    };
    track_jobs(input, &mut plan);
    if cj.metadata.deletion_timestamp.is_none() {
        schedule(input, &mut plan);
    }
    plan
}

/// Brings `status.active` and `lastSuccessfulTime` in step with the Jobs.
fn track_jobs(input: &Inputs<'_>, plan: &mut Plan) {
    let status = &mut plan.status;
    let active = status.active.get_or_insert_with(Vec::new);
    for job in input.jobs {
        let uid = job.metadata.uid.as_deref();
        let name = job.metadata.name.clone().unwrap_or_default();
        let found = active.iter().any(|r| r.uid.as_deref() == uid);
        let finished = conditions::finished(job);
        match finished {
            None if !found => plan.notes.push(Note::warning(
                "UnexpectedJob",
                format!("Saw a job that the controller did not create or forgot: {name}"),
            )),
            Some(kind) if found => {
                active.retain(|r| r.uid.as_deref() != uid);
                plan.notes.push(Note::normal(
                    "SawCompletedJob",
                    format!("Saw completed job: {name}, condition: {kind}"),
                ));
            }
            Some(conditions::COMPLETE) => {
                let done = job.status.as_ref().and_then(|s| s.completion_time.clone());
                if done.is_some()
                    && (status.last_successful_time.is_none() || done > status.last_successful_time)
                {
                    status.last_successful_time = done;
                }
            }
            _ => {}
        }
    }
    let active = status.active.get_or_insert_with(Vec::new);
    let missing: Vec<ObjectReference> = active
        .iter()
        .filter(|r| !input.jobs.iter().any(|j| j.metadata.uid == r.uid))
        .cloned()
        .collect();
    for gone in missing {
        let name = gone.name.clone().unwrap_or_default();
        plan.notes.push(Note::normal(
            "MissingJob",
            format!("Active job went missing: {name}"),
        ));
        active.retain(|r| r.uid != gone.uid);
    }
    if active.is_empty() {
        status.active = None;
    }
}

/// Decides whether a Job is due now, and which.
fn schedule(input: &Inputs<'_>, plan: &mut Plan) {
    let cj = input.cronjob;
    let spec = cj.spec.clone().unwrap_or_default();
    let zone = match &spec.time_zone {
        None => input.local.clone(),
        Some(name) => match TimeZone::get(name) {
            Ok(zone) => zone,
            Err(e) => {
                plan.notes.push(Note::warning(
                    "UnknownTimeZone",
                    format!("invalid timeZone: {name:?}: {e}"),
                ));
                return;
            }
        },
    };
    if spec.suspend == Some(true) {
        return;
    }
    if spec.schedule.contains("TZ") {
        plan.notes.push(Note::warning(
            "UnsupportedSchedule",
            format!("CRON_TZ or TZ used in schedule {:?} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details", spec.schedule),
        ));
    }
    let sched = match Schedule::parse(&spec.schedule, zone.clone()) {
        Ok(s) => s,
        Err(e) => {
            plan.notes.push(Note::warning(
                "UnparseableSchedule",
                format!("unparseable schedule: {:?} : {e}", spec.schedule),
            ));
            return;
        }
    };
    let times = Times {
        cj,
        sched: &sched,
        now: input.now,
    };
    let due = match times.most_recent(true) {
        Ok(due) => due,
        Err(e) => {
            plan.notes.push(Note::warning(
                "InvalidSchedule",
                format!("invalid schedule: {} : {e}", spec.schedule),
            ));
            return;
        }
    };
    if due.many_missed {
        plan.notes.push(Note::warning(
            "TooManyMissedTimes",
            "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
        ));
    }
    plan.requeue_after = Some(times.requeue(&plan.status));
    let Some(scheduled) = due.most_recent else {
        return;
    };
    let deadline = spec
        .starting_deadline_seconds
        .map(SignedDuration::from_secs);
    if deadline.is_some_and(|d| scheduled.saturating_add(d).is_ok_and(|t| t < input.now)) {
        let at = scheduled
            .to_zoned(TimeZone::UTC)
            .strftime("%a, %d %b %Y %H:%M:%S %z");
        plan.notes.push(Note::warning(
            "MissSchedule",
            format!("Missed scheduled time to start a job: {at}"),
        ));
        return;
    }
    let name = job_name(cj, scheduled);
    let active = plan.status.active.as_deref().unwrap_or_default();
    let processed = active
        .iter()
        .any(|r| r.name.as_deref() == Some(name.as_str()))
        || plan.status.last_schedule_time.as_ref().map(|t| t.0) == Some(scheduled);
    if processed {
        return;
    }
    match spec.concurrency_policy.as_deref() {
        Some("Forbid") if !active.is_empty() => {
            plan.notes.push(Note::normal(
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid",
            ));
            return;
        }
        Some("Replace") => {
            plan.replace = active.iter().filter_map(|r| r.name.clone()).collect();
        }
        _ => {}
    }
    let mut after = plan.status.clone();
    after.last_schedule_time = Some(Time(scheduled));
    plan.requeue_after = Some(times.requeue(&after));
    plan.create = Some((job_from_template(cj, scheduled), scheduled));
}

/// `<cronjob>-<scheduled time in minutes since the epoch>`.
pub fn job_name(cj: &CronJob, scheduled: Timestamp) -> String {
    let name = cj.metadata.name.as_deref().unwrap_or_default();
    format!("{name}-{}", scheduled.as_second().div_euclid(60))
}

/// The Job a CronJob starts for `scheduled`: its template, named after the minute, annotated
/// with the scheduled time (RFC 3339, in the CronJob's `timeZone`, else UTC), controlled by it.
pub fn job_from_template(cj: &CronJob, scheduled: Timestamp) -> Job {
    let spec = cj.spec.clone().unwrap_or_default();
    let template = spec.job_template;
    let meta = template.metadata.unwrap_or_default();
    let zone = spec
        .time_zone
        .as_deref()
        .and_then(|z| TimeZone::get(z).ok())
        .unwrap_or(TimeZone::UTC);
    let mut annotations = meta.annotations.unwrap_or_default();
    annotations.insert(SCHEDULED_TIMESTAMP.to_owned(), rfc3339(scheduled, &zone));
    Job {
        metadata: ObjectMeta {
            name: Some(job_name(cj, scheduled)),
            namespace: cj.metadata.namespace.clone(),
            labels: meta.labels,
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".to_owned(),
                kind: "CronJob".to_owned(),
                name: cj.metadata.name.clone().unwrap_or_default(),
                uid: cj.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        spec: template.spec,
        status: None,
    }
}

/// Go's RFC 3339 rendering: `Z` for a zero offset, `+09:00` otherwise.
fn rfc3339(at: Timestamp, zone: &TimeZone) -> String {
    let zoned = at.to_zoned(zone.clone());
    if zoned.offset().seconds() == 0 {
        zoned.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

/// The status after `job`, created for `scheduled`, joined the active list.
pub fn record_created(status: &mut CronJobStatus, job: &Job, scheduled: Timestamp) {
    let active = status.active.get_or_insert_with(Vec::new);
    if !active.iter().any(|r| r.uid == job.metadata.uid) {
        active.push(ObjectReference {
            api_version: Some("batch/v1".to_owned()),
            kind: Some("Job".to_owned()),
            name: job.metadata.name.clone(),
            namespace: job.metadata.namespace.clone(),
            uid: job.metadata.uid.clone(),
            resource_version: job.metadata.resource_version.clone(),
            ..ObjectReference::default()
        });
    }
    status.last_schedule_time = Some(Time(scheduled));
}

/// Removes the Job `name` from the active list.
pub fn forget(status: &mut CronJobStatus, name: &str) {
    if let Some(active) = status.active.as_mut() {
        active.retain(|r| r.name.as_deref() != Some(name));
        if active.is_empty() {
            status.active = None;
        }
    }
}

/// Finished Jobs past `successfulJobsHistoryLimit` / `failedJobsHistoryLimit`, oldest first
/// (by start time, unstarted last, then name).
fn history(cj: &CronJob, jobs: &[Job]) -> Vec<String> {
    let spec = cj.spec.clone().unwrap_or_default();
    let mut by_kind: BTreeMap<&str, Vec<&Job>> = BTreeMap::new();
    for job in jobs {
        if let Some(kind) = conditions::finished(job) {
            by_kind.entry(kind).or_default().push(job);
        }
    }
    let limits = [
        (conditions::COMPLETE, spec.successful_jobs_history_limit),
        (conditions::FAILED, spec.failed_jobs_history_limit),
    ];
    let mut out = Vec::new();
    for (kind, limit) in limits {
        let (Some(limit), Some(list)) = (limit, by_kind.get_mut(kind)) else {
            continue;
        };
        let excess = list
            .len()
            .saturating_sub(usize::try_from(limit).unwrap_or(0));
        list.sort_by_key(|j| {
            let started = j
                .status
                .as_ref()
                .and_then(|s| s.start_time.as_ref())
                .map(|t| t.0);
            (started.is_none(), started, j.metadata.name.clone())
        });
        out.extend(
            list.iter()
                .take(excess)
                .filter_map(|j| j.metadata.name.clone()),
        );
    }
    out
}

/// The most recent unmet schedule time.
struct Due {
    most_recent: Option<Timestamp>,
    many_missed: bool,
}

/// Schedule arithmetic for one CronJob at `now`.
struct Times<'a> {
    cj: &'a CronJob,
    sched: &'a Schedule,
    now: Timestamp,
}

/// The schedule has (almost) no time between two activations.
#[derive(Debug, thiserror::Error)]
#[error("time difference between two schedules is less than 1 second")]
struct TooClose;

impl Times<'_> {
    /// Since the last schedule time (or creation), the latest activation at or before now;
    /// with `deadline`, nothing before `now - startingDeadlineSeconds`.
    fn earliest(&self, status: &CronJobStatus, deadline: bool) -> Timestamp {
        let created = self.cj.metadata.creation_timestamp.as_ref().map(|t| t.0);
        let mut earliest = status
            .last_schedule_time
            .as_ref()
            .map(|t| t.0)
            .or(created)
            .unwrap_or(self.now);
        let seconds = self
            .cj
            .spec
            .as_ref()
            .and_then(|s| s.starting_deadline_seconds);
        if let Some(s) = seconds.filter(|_| deadline) {
            let limit = self
                .now
                .saturating_sub(SignedDuration::from_secs(s))
                .unwrap_or(self.now);
            earliest = earliest.max(limit);
        }
        earliest
    }

    fn most_recent_from(&self, earliest: Timestamp) -> Result<Due, TooClose> {
        let none = Due {
            most_recent: None,
            many_missed: false,
        };
        let Some(t1) = self.sched.next(earliest) else {
            return Err(TooClose);
        };
        if self.now < t1 {
            return Ok(none);
        }
        let Some(t2) = self.sched.next(t1) else {
            return Ok(Due {
                most_recent: Some(t1),
                ..none
            });
        };
        if self.now < t2 {
            return Ok(Due {
                most_recent: Some(t1),
                ..none
            });
        }
        let between = t2.duration_since(t1).as_secs();
        if between < 1 {
            return Err(TooClose);
        }
        let missed = self.now.duration_since(t1).as_secs() / between + 1;
        // Jump close to now, then walk the schedule to the last activation not after it.
        let start = t1
            .saturating_add(SignedDuration::from_secs((missed - 2) * between))
            .unwrap_or(t1);
        let mut most_recent = None;
        let mut t = self.sched.next(start);
        while let Some(at) = t.filter(|at| *at <= self.now) {
            most_recent = Some(at);
            t = self.sched.next(at);
        }
        Ok(Due {
            most_recent,
            many_missed: missed > MANY_MISSED,
        })
    }

    fn most_recent(&self, deadline: bool) -> Result<Due, TooClose> {
        let status = self.cj.status.clone().unwrap_or_default();
        self.most_recent_from(self.earliest(&status, deadline))
    }

    /// How long until the next activation after the one `status` records (plus slack).
    fn requeue(&self, status: &CronJobStatus) -> Duration {
        let earliest = self.earliest(status, false);
        let from = match self.most_recent_from(earliest) {
            Err(_) => self.now,
            Ok(Due {
                most_recent: Some(t),
                ..
            }) => t,
            Ok(Due {
                many_missed: true, ..
            }) => self.now,
            Ok(_) => earliest,
        };
        let next = self.sched.next(from).unwrap_or(self.now);
        Duration::try_from(next.duration_since(self.now)).unwrap_or_default() + NEXT_SCHEDULE_DELTA
    }
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
