#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::api::batch::v1::{CronJobSpec, JobCondition, JobStatus, JobTemplateSpec};

use super::*;

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn cronjob(schedule: &str, created: &str) -> CronJob {
    CronJob {
        metadata: ObjectMeta {
            name: Some("tick".to_owned()),
            namespace: Some("ns".to_owned()),
            uid: Some("cj-uid".to_owned()),
            creation_timestamp: Some(Time(ts(created))),
            ..ObjectMeta::default()
        },
        spec: Some(CronJobSpec {
            schedule: schedule.to_owned(),
            concurrency_policy: Some("Allow".to_owned()),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(1),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(BTreeMap::from([("app".to_owned(), "tick".to_owned())])),
                    ..ObjectMeta::default()
                }),
                spec: None,
            },
            ..CronJobSpec::default()
        }),
        status: None,
    }
}

fn spec(cj: &mut CronJob) -> &mut CronJobSpec {
    cj.spec.as_mut().unwrap()
}

fn job(name: &str, finished: Option<(&str, &str)>, started: &str) -> Job {
    let conditions = finished.map(|(kind, at)| {
        vec![JobCondition {
            type_: kind.to_owned(),
            status: "True".to_owned(),
            last_transition_time: Some(Time(ts(at))),
            ..JobCondition::default()
        }]
    });
    let completion = finished
        .filter(|(k, _)| *k == "Complete")
        .map(|(_, at)| Time(ts(at)));
    Job {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some("ns".to_owned()),
            uid: Some(format!("uid-{name}")),
            ..ObjectMeta::default()
        },
        spec: None,
        status: Some(JobStatus {
            conditions,
            completion_time: completion,
            start_time: Some(Time(ts(started))),
            ..JobStatus::default()
        }),
    }
}

fn active(cj: &mut CronJob, jobs: &[&Job]) {
    let mut status = cj.status.clone().unwrap_or_default();
    for j in jobs {
        record_created(&mut status, j, ts("2024-01-01T00:00:00Z"));
    }
    status.last_schedule_time = None;
    cj.status = Some(status);
}

fn sync(cj: &CronJob, jobs: &[Job], now: &str) -> Plan {
    plan(&Inputs {
        cronjob: cj,
        jobs,
        now: ts(now),
        local: TimeZone::UTC,
    })
}

fn reasons(p: &Plan) -> Vec<&str> {
    p.notes.iter().map(|n| n.reason).collect()
}

#[test]
fn a_job_is_created_for_the_minute_just_passed_and_named_after_it() {
    let cj = cronjob("*/1 * * * *", "2024-01-01T10:00:30Z");
    let p = sync(&cj, &[], "2024-01-01T10:01:05Z");
    let (job, scheduled) = p.create.expect("a job");
    assert_eq!(scheduled, ts("2024-01-01T10:01:00Z"));
    let minutes = ts("2024-01-01T10:01:00Z").as_second() / 60;
    assert_eq!(job.metadata.name, Some(format!("tick-{minutes}")));
    let annotations = job.metadata.annotations.unwrap();
    assert_eq!(annotations[SCHEDULED_TIMESTAMP], "2024-01-01T10:01:00Z");
    assert_eq!(job.metadata.labels.unwrap()["app"], "tick");
    let owner = &job.metadata.owner_references.unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("CronJob", Some(true))
    );
    assert_eq!(p.requeue_after, Some(Duration::from_millis(55_100)));
}

#[test]
fn nothing_is_due_before_the_first_schedule_time() {
    let cj = cronjob("*/1 * * * *", "2024-01-01T10:00:30Z");
    let p = sync(&cj, &[], "2024-01-01T10:00:45Z");
    assert!(p.create.is_none());
    assert_eq!(p.requeue_after, Some(Duration::from_millis(15_100)));
}

#[test]
fn a_schedule_time_already_started_is_not_started_again() {
    let mut cj = cronjob("*/1 * * * *", "2024-01-01T10:00:30Z");
    cj.status = Some(CronJobStatus {
        last_schedule_time: Some(Time(ts("2024-01-01T10:01:00Z"))),
        ..CronJobStatus::default()
    });
    let p = sync(&cj, &[], "2024-01-01T10:01:30Z");
    assert!(p.create.is_none());
}

#[test]
fn concurrency_policies_decide_what_happens_to_a_running_job() {
    let running = job("tick-1", None, "2024-01-01T10:00:00Z");
    for (policy, creates, replaced, note) in [
        ("Allow", true, vec![], None),
        ("Forbid", false, vec![], Some("JobAlreadyActive")),
        ("Replace", true, vec!["tick-1".to_owned()], None),
    ] {
        let mut cj = cronjob("*/5 * * * *", "2024-01-01T09:58:00Z");
        spec(&mut cj).concurrency_policy = Some(policy.to_owned());
        active(&mut cj, &[&running]);
        let p = sync(&cj, std::slice::from_ref(&running), "2024-01-01T10:05:10Z");
        assert_eq!(p.create.is_some(), creates, "{policy}");
        assert_eq!(p.replace, replaced, "{policy}");
        assert_eq!(reasons(&p).first().copied(), note, "{policy}");
    }
}

#[test]
fn a_suspended_cronjob_starts_nothing() {
    let mut cj = cronjob("*/1 * * * *", "2024-01-01T10:00:30Z");
    spec(&mut cj).suspend = Some(true);
    let p = sync(&cj, &[], "2024-01-01T10:05:00Z");
    assert!(p.create.is_none() && p.requeue_after.is_none());
}

#[test]
fn a_starting_deadline_skips_schedule_times_too_long_ago() {
    let mut cj = cronjob("*/5 * * * *", "2024-01-01T09:00:00Z");
    cj.status = Some(CronJobStatus {
        last_schedule_time: Some(Time(ts("2024-01-01T10:00:00Z"))),
        ..CronJobStatus::default()
    });
    spec(&mut cj).starting_deadline_seconds = Some(60);
    let p = sync(&cj, &[], "2024-01-01T10:05:30Z");
    assert_eq!(p.create.map(|c| c.1), Some(ts("2024-01-01T10:05:00Z")));
    spec(&mut cj).starting_deadline_seconds = Some(10);
    let p = sync(&cj, &[], "2024-01-01T10:05:30Z");
    assert!(p.create.is_none());
}

#[test]
fn many_missed_start_times_warn_and_start_only_the_latest() {
    let cj = cronjob("* * * * *", "2023-12-01T00:00:00Z");
    let p = sync(&cj, &[], "2024-01-01T10:05:30Z");
    assert_eq!(reasons(&p), vec!["TooManyMissedTimes"]);
    assert_eq!(p.create.map(|c| c.1), Some(ts("2024-01-01T10:05:00Z")));
    let few = cronjob("* * * * *", "2024-01-01T10:00:00Z");
    let p = sync(&few, &[], "2024-01-01T10:05:30Z");
    assert!(reasons(&p).is_empty());
    assert_eq!(p.create.map(|c| c.1), Some(ts("2024-01-01T10:05:00Z")));
}

#[test]
fn uneven_schedules_find_the_latest_missed_time() {
    let cj = cronjob("30 6-16/4 * * 1-5", "2024-01-01T00:00:00Z");
    // Monday 2024-01-08 12:00: the latest is 10:30 that morning.
    let p = sync(&cj, &[], "2024-01-08T12:00:00Z");
    assert_eq!(p.create.map(|c| c.1), Some(ts("2024-01-08T10:30:00Z")));
}

#[test]
fn finished_active_jobs_leave_the_active_list_and_set_the_last_success() {
    let done = job(
        "tick-1",
        Some(("Complete", "2024-01-01T10:00:20Z")),
        "2024-01-01T10:00:00Z",
    );
    let stray = job("stray", None, "2024-01-01T10:00:00Z");
    let gone = job("gone", None, "2024-01-01T10:00:00Z");
    let mut cj = cronjob("0 0 1 1 *", "2024-01-01T09:00:00Z");
    active(&mut cj, &[&done, &gone]);
    let p = sync(&cj, &[done.clone(), stray], "2024-01-01T10:01:00Z");
    assert_eq!(
        reasons(&p),
        vec!["SawCompletedJob", "UnexpectedJob", "MissingJob"]
    );
    assert_eq!(
        p.notes[0].message,
        "Saw completed job: tick-1, condition: Complete"
    );
    assert_eq!(p.status.active, None);
    // The next sync, with the job no longer active, records its completion time.
    let mut cj = cronjob("0 0 1 1 *", "2024-01-01T09:00:00Z");
    cj.status = Some(p.status);
    let p = sync(&cj, &[done], "2024-01-01T10:01:00Z");
    assert_eq!(
        p.status.last_successful_time,
        Some(Time(ts("2024-01-01T10:00:20Z")))
    );
}

#[test]
fn history_limits_delete_the_oldest_finished_jobs() {
    let jobs = [
        job(
            "ok-1",
            Some(("Complete", "2024-01-01T10:01:00Z")),
            "2024-01-01T10:01:00Z",
        ),
        job(
            "ok-4",
            Some(("Complete", "2024-01-01T10:04:00Z")),
            "2024-01-01T10:04:00Z",
        ),
        job(
            "ok-2",
            Some(("Complete", "2024-01-01T10:02:00Z")),
            "2024-01-01T10:02:00Z",
        ),
        job(
            "ok-3",
            Some(("Complete", "2024-01-01T10:03:00Z")),
            "2024-01-01T10:03:00Z",
        ),
        job(
            "bad-1",
            Some(("Failed", "2024-01-01T10:01:00Z")),
            "2024-01-01T10:01:00Z",
        ),
        job(
            "bad-2",
            Some(("Failed", "2024-01-01T10:02:00Z")),
            "2024-01-01T10:02:00Z",
        ),
        job("running", None, "2024-01-01T10:00:00Z"),
    ];
    let cj = cronjob("0 0 1 1 *", "2024-01-01T09:00:00Z");
    let p = sync(&cj, &jobs, "2024-01-01T10:05:00Z");
    assert_eq!(p.history, vec!["ok-1".to_owned(), "bad-1".to_owned()]);
}

#[test]
fn a_time_zone_moves_the_schedule_and_the_annotation() {
    let mut cj = cronjob("0 9 * * *", "2024-01-01T00:00:00Z");
    spec(&mut cj).time_zone = Some("Asia/Tokyo".to_owned());
    let p = sync(&cj, &[], "2024-01-02T00:00:30Z");
    let (job, scheduled) = p.create.expect("a job");
    assert_eq!(scheduled, ts("2024-01-02T00:00:00Z"));
    assert_eq!(
        job.metadata.annotations.unwrap()[SCHEDULED_TIMESTAMP],
        "2024-01-02T09:00:00+09:00"
    );
}

#[test]
fn broken_time_zones_and_schedules_are_reported_and_start_nothing() {
    let mut cj = cronjob("*/1 * * * *", "2024-01-01T00:00:00Z");
    spec(&mut cj).time_zone = Some("Mars/Olympus".to_owned());
    let p = sync(&cj, &[], "2024-01-02T00:00:30Z");
    assert_eq!(reasons(&p), vec!["UnknownTimeZone"]);
    assert!(p.create.is_none());
    let cj = cronjob("every minute", "2024-01-01T00:00:00Z");
    let p = sync(&cj, &[], "2024-01-02T00:00:30Z");
    assert_eq!(reasons(&p), vec!["UnparseableSchedule"]);
    let cj = cronjob("0 0 31 2 *", "2024-01-01T00:00:00Z");
    let p = sync(&cj, &[], "2024-01-02T00:00:30Z");
    assert_eq!(reasons(&p), vec!["InvalidSchedule"]);
}

#[test]
fn a_deleting_cronjob_only_updates_its_status() {
    let mut cj = cronjob("*/1 * * * *", "2024-01-01T10:00:30Z");
    cj.metadata.deletion_timestamp = Some(Time(ts("2024-01-01T10:00:40Z")));
    let p = sync(&cj, &[], "2024-01-01T10:05:00Z");
    assert!(p.create.is_none());
}
