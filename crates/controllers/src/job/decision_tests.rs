#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{
    JobSpec, PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyRule,
    UncountedTerminatedPods,
};
use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateTerminated, ContainerStatus, PodSpec, PodStatus, PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::SignedDuration;

use super::*;
use crate::job::conditions::{COMPLETE, FAILED};

fn now() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap()
}

fn job(completions: Option<i32>, parallelism: i32) -> Job {
    Job {
        metadata: ObjectMeta {
            name: Some("pi".to_owned()),
            namespace: Some("ns".to_owned()),
            uid: Some("job-uid".to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            completions,
            parallelism: Some(parallelism),
            backoff_limit: Some(6),
            completion_mode: Some("NonIndexed".to_owned()),
            template: PodTemplateSpec {
                metadata: None,
                spec: Some(PodSpec {
                    restart_policy: Some("Never".to_owned()),
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        status: Some(JobStatus {
            start_time: Some(Time(now())),
            ..JobStatus::default()
        }),
    }
}

fn indexed(completions: i32, parallelism: i32) -> Job {
    let mut j = job(Some(completions), parallelism);
    j.spec.as_mut().unwrap().completion_mode = Some("Indexed".to_owned());
    j
}

fn spec(j: &mut Job) -> &mut JobSpec {
    j.spec.as_mut().unwrap()
}

fn status(j: &mut Job) -> &mut JobStatus {
    j.status.as_mut().unwrap()
}

fn pod(name: &str, phase: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some("ns".to_owned()),
            uid: Some(format!("uid-{name}")),
            finalizers: Some(vec![pods::TRACKING_FINALIZER.to_owned()]),
            creation_timestamp: Some(Time(now())),
            ..ObjectMeta::default()
        },
        spec: None,
        status: Some(PodStatus {
            phase: Some(phase.to_owned()),
            ..PodStatus::default()
        }),
    }
}

fn with_index(mut p: Pod, index: i32) -> Pod {
    p.metadata.annotations = Some(BTreeMap::from([(
        indexes::COMPLETION_INDEX.to_owned(),
        index.to_string(),
    )]));
    p
}

fn exited(mut p: Pod, code: i32) -> Pod {
    p.status.as_mut().unwrap().container_statuses = Some(vec![ContainerStatus {
        name: "main".to_owned(),
        state: Some(ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: code,
                finished_at: Some(Time(now())),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }]);
    p
}

fn plan_at(j: &Job, pods: &[Pod], at: Timestamp, backoff: Record) -> Plan {
    plan(&Inputs {
        job: j,
        pods,
        now: at,
        backoff,
        delays: Delays::default(),
    })
}

fn sync(j: &Job, pods: &[Pod]) -> Plan {
    plan_at(j, pods, now(), Record::default())
}

/// The status once every planned finalizer removal succeeded.
fn settled(p: &Plan) -> (JobStatus, Option<JobCondition>) {
    let mut status = p.status.clone();
    let released: HashSet<&String> = p.release.iter().map(|(_, u)| u).collect();
    let remaining = p
        .with_finalizer
        .iter()
        .filter(|u| !released.contains(u))
        .cloned()
        .collect();
    let done = tracking::settle(&mut status, &remaining, p.finish.as_ref(), p.capped, now());
    (status, done)
}

fn types(s: &JobStatus) -> Vec<(String, String)> {
    s.conditions
        .iter()
        .flatten()
        .map(|c| (c.type_.clone(), c.reason.clone().unwrap_or_default()))
        .collect()
}

fn uncounted(s: &JobStatus) -> (Vec<String>, Vec<String>) {
    let u = s.uncounted_terminated_pods.clone().unwrap_or_default();
    (
        u.succeeded.unwrap_or_default(),
        u.failed.unwrap_or_default(),
    )
}

#[test]
fn a_new_job_starts_parallelism_pods_and_its_clock() {
    let mut j = job(Some(5), 2);
    j.status = None;
    let p = sync(&j, &[]);
    assert_eq!(p.creations, vec![None, None]);
    assert_eq!(p.status.active, Some(2));
    assert_eq!(p.status.start_time, Some(Time(now())));
    assert!(p.finish.is_none());
}

#[test]
fn active_pods_never_exceed_remaining_completions_or_parallelism() {
    // (completions, parallelism, succeeded so far, active pods) -> pods to create
    let cases = [
        (Some(5), 2, 0, 0, 2),
        (Some(5), 2, 0, 1, 1),
        (Some(5), 2, 0, 2, 0),
        (Some(5), 2, 4, 0, 1),
        (Some(5), 10, 2, 1, 2),
        (Some(3), 0, 0, 0, 0),
        (None, 3, 0, 1, 2),
        (None, 3, 1, 1, 0),
    ];
    for (completions, parallelism, done, running, want) in cases {
        let mut j = job(completions, parallelism);
        status(&mut j).succeeded = Some(done);
        let pods: Vec<Pod> = (0..running)
            .map(|i| pod(&format!("r{i}"), "Running"))
            .collect();
        let p = sync(&j, &pods);
        assert_eq!(
            p.creations.len(),
            want,
            "{completions:?}/{parallelism} done {done} running {running}"
        );
        assert!(p.deletions.is_empty());
    }
}

#[test]
fn succeeded_pods_are_recorded_uncounted_then_counted_once_released() {
    let j = job(Some(5), 2);
    let pods = [pod("a", "Succeeded"), pod("b", "Running")];
    let p = sync(&j, &pods);
    assert_eq!(uncounted(&p.status).0, vec!["uid-a".to_owned()]);
    assert_eq!(p.release, vec![("a".to_owned(), "uid-a".to_owned())]);
    assert_eq!(p.creations.len(), 1);
    let (after, done) = settled(&p);
    assert_eq!(after.succeeded, Some(1));
    assert!(uncounted(&after).0.is_empty());
    assert!(done.is_none());
}

#[test]
fn uncounted_pods_whose_finalizer_is_gone_are_counted() {
    let mut j = job(Some(5), 1);
    status(&mut j).succeeded = Some(1);
    status(&mut j).uncounted_terminated_pods = Some(UncountedTerminatedPods {
        succeeded: Some(vec!["uid-gone".to_owned()]),
        failed: Some(vec!["uid-f".to_owned()]),
    });
    let mut f = pod("f", "Failed");
    f.metadata.uid = Some("uid-f".to_owned());
    let p = sync(&j, &[f]);
    assert_eq!(p.status.succeeded, Some(2));
    assert_eq!(uncounted(&p.status).1, vec!["uid-f".to_owned()]);
    let (after, _) = settled(&p);
    assert_eq!(after.failed, Some(1));
}

#[test]
fn reaching_completions_meets_success_criteria_then_completes() {
    let mut j = job(Some(5), 2);
    status(&mut j).succeeded = Some(4);
    let p = sync(&j, &[pod("e", "Succeeded")]);
    assert!(p.creations.is_empty());
    assert_eq!(
        types(&p.status),
        vec![(
            "SuccessCriteriaMet".to_owned(),
            "CompletionsReached".to_owned()
        )]
    );
    let (after, done) = settled(&p);
    assert_eq!(done.map(|c| c.type_), Some(COMPLETE.to_owned()));
    assert_eq!(after.succeeded, Some(5));
    assert_eq!(after.completion_time, Some(Time(now())));
    assert_eq!(
        types(&after),
        vec![
            (
                "SuccessCriteriaMet".to_owned(),
                "CompletionsReached".to_owned()
            ),
            ("Complete".to_owned(), "CompletionsReached".to_owned())
        ]
    );
}

#[test]
fn a_work_queue_completes_once_one_pod_succeeded_and_the_rest_finished() {
    let j = job(None, 2);
    let p = sync(&j, &[pod("a", "Succeeded"), pod("b", "Running")]);
    assert!(p.creations.is_empty() && p.finish.is_none());
    let p = sync(&j, &[pod("a", "Succeeded"), pod("b", "Succeeded")]);
    assert!(p.finish.is_some());
}

#[test]
fn failed_pods_are_replaced_after_a_doubling_back_off() {
    let j = job(Some(1), 1);
    let p = sync(&j, &[exited(pod("a", "Failed"), 1)]);
    assert_eq!(uncounted(&p.status).1, vec!["uid-a".to_owned()]);
    assert!(p.creations.is_empty());
    assert_eq!(p.requeue_after, Some(Duration::from_secs(10)));
    assert_eq!(p.backoff.failures_after_last_success, 1);
    // Ten seconds on, the replacement goes ahead.
    let mut j = job(Some(1), 1);
    status(&mut j).failed = Some(1);
    let later = now() + SignedDuration::from_secs(10);
    let p = plan_at(&j, &[], later, p.backoff);
    assert_eq!(p.creations.len(), 1);
    // After a second failure the wait is twenty seconds.
    let record = Record {
        failures_after_last_success: 2,
        last_failure: Some(later),
    };
    let p = plan_at(&j, &[], later + SignedDuration::from_secs(5), record);
    assert!(p.creations.is_empty());
    assert_eq!(p.requeue_after, Some(Duration::from_secs(15)));
}

#[test]
fn exceeding_the_backoff_limit_fails_the_job_and_deletes_running_pods() {
    let mut j = job(Some(3), 2);
    spec(&mut j).backoff_limit = Some(1);
    status(&mut j).failed = Some(1);
    let pods = [pod("a", "Failed"), pod("b", "Running")];
    let p = sync(&j, &pods);
    assert_eq!(
        types(&p.status),
        vec![(
            "FailureTarget".to_owned(),
            "BackoffLimitExceeded".to_owned()
        )]
    );
    assert_eq!(
        p.deletions,
        vec![Deletion {
            name: "b".to_owned(),
            remove_finalizer_first: false
        }]
    );
    // Both the failed and the deleted pod are counted as failures.
    assert_eq!(
        uncounted(&p.status).1,
        vec!["uid-a".to_owned(), "uid-b".to_owned()]
    );
    assert_eq!(p.status.active, Some(0));
    assert_eq!(p.status.terminating, Some(1));
    let (after, done) = settled(&p);
    assert!(done.is_none(), "waits for the terminating pod");
    assert_eq!(after.failed, Some(3));
    // Once the pods are gone, the Job fails.
    let mut next = j.clone();
    next.status = Some(after);
    let p = sync(&next, &[]);
    let (after, done) = settled(&p);
    assert_eq!(done.map(|c| c.type_), Some(FAILED.to_owned()));
    let failed = after
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == FAILED)
        .unwrap();
    assert_eq!(failed.reason.as_deref(), Some("BackoffLimitExceeded"));
    assert_eq!(
        failed.message.as_deref(),
        Some("Job has reached the specified backoff limit")
    );
    assert_eq!(after.completion_time, None);
}

#[test]
fn the_backoff_limit_is_reached_after_limit_plus_one_failures() {
    for (failed_before, want_fail) in [(0, false), (1, false), (2, true)] {
        let mut j = job(Some(1), 1);
        spec(&mut j).backoff_limit = Some(2);
        status(&mut j).failed = Some(failed_before);
        let p = sync(&j, &[pod("x", "Failed")]);
        assert_eq!(
            p.finish.is_some(),
            want_fail,
            "{failed_before} failed before"
        );
    }
}

#[test]
fn container_restarts_count_against_the_limit_with_restart_on_failure() {
    let mut j = job(Some(1), 1);
    spec(&mut j).backoff_limit = Some(2);
    spec(&mut j).template.spec.as_mut().unwrap().restart_policy = Some("OnFailure".to_owned());
    let mut running = pod("a", "Running");
    running.status.as_mut().unwrap().container_statuses = Some(vec![ContainerStatus {
        name: "main".to_owned(),
        restart_count: 2,
        ..Default::default()
    }]);
    let p = sync(&j, &[running]);
    assert_eq!(types(&p.status)[0].1, "BackoffLimitExceeded");
}

#[test]
fn the_active_deadline_fails_the_job_or_schedules_a_recheck() {
    let mut j = job(Some(1), 1);
    spec(&mut j).active_deadline_seconds = Some(30);
    let p = plan_at(
        &j,
        &[pod("a", "Running")],
        now() + SignedDuration::from_secs(10),
        Record::default(),
    );
    assert!(p.finish.is_none());
    assert_eq!(p.requeue_after, Some(Duration::from_secs(20)));
    let p = plan_at(
        &j,
        &[pod("a", "Running")],
        now() + SignedDuration::from_secs(30),
        Record::default(),
    );
    assert_eq!(
        types(&p.status),
        vec![("FailureTarget".to_owned(), "DeadlineExceeded".to_owned())]
    );
    assert_eq!(p.deletions.len(), 1);
}

#[test]
fn suspending_deletes_active_pods_uncounted_and_marks_the_job() {
    let mut j = job(Some(4), 2);
    spec(&mut j).suspend = Some(true);
    let p = sync(&j, &[pod("a", "Running"), pod("b", "Pending")]);
    assert_eq!(p.deletions.len(), 2);
    assert!(p.deletions.iter().all(|d| d.remove_finalizer_first));
    assert!(uncounted(&p.status).1.is_empty());
    assert_eq!(
        types(&p.status),
        vec![("Suspended".to_owned(), "JobSuspended".to_owned())]
    );
    assert_eq!(p.notes[0].reason, "Suspended");
    assert_eq!(p.status.active, Some(0));
}

#[test]
fn resuming_restarts_the_clock() {
    let mut j = job(Some(1), 1);
    let earlier = now() - SignedDuration::from_secs(100);
    status(&mut j).start_time = Some(Time(earlier));
    status(&mut j).conditions = Some(vec![conditions::new(
        "Suspended",
        "True",
        "JobSuspended",
        "Job suspended",
        earlier,
    )]);
    let p = sync(&j, &[]);
    assert_eq!(p.status.start_time, Some(Time(now())));
    assert_eq!(
        types(&p.status),
        vec![("Suspended".to_owned(), "JobResumed".to_owned())]
    );
    assert_eq!(p.creations.len(), 1);
}

#[test]
fn a_suspended_job_has_no_start_time() {
    let mut j = job(Some(1), 1);
    j.status = None;
    spec(&mut j).suspend = Some(true);
    let p = sync(&j, &[]);
    assert_eq!(p.status.start_time, None);
    assert!(p.creations.is_empty());
}

#[test]
fn lowering_parallelism_removes_the_least_advanced_pods_first() {
    let j = job(Some(10), 1);
    let mut ready = pod("ready", "Running");
    ready.status.as_mut().unwrap().conditions =
        Some(vec![k8s_openapi::api::core::v1::PodCondition {
            type_: "Ready".to_owned(),
            status: "True".to_owned(),
            ..Default::default()
        }]);
    let p = sync(
        &j,
        &[ready, pod("pending", "Pending"), pod("running", "Running")],
    );
    let names: Vec<&str> = p.deletions.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, vec!["pending", "running"]);
    assert_eq!(p.status.active, Some(1));
}

#[test]
fn indexed_jobs_create_the_lowest_pending_indexes() {
    let j = indexed(4, 2);
    let p = sync(&j, &[]);
    assert_eq!(p.creations, vec![Some(0), Some(1)]);
    let pods = [
        with_index(pod("a", "Succeeded"), 0),
        with_index(pod("b", "Running"), 1),
    ];
    let p = sync(&j, &pods);
    assert_eq!(p.creations, vec![Some(2)]);
    assert_eq!(p.status.completed_indexes.as_deref(), Some("0"));
    assert_eq!(p.status.succeeded, Some(1));
    assert!(
        uncounted(&p.status).0.is_empty(),
        "indexes, not UIDs, count successes"
    );
}

#[test]
fn indexed_jobs_complete_when_every_index_succeeded() {
    let mut j = indexed(3, 3);
    status(&mut j).completed_indexes = Some("0,2".to_owned());
    status(&mut j).succeeded = Some(2);
    let p = sync(&j, &[with_index(pod("b", "Succeeded"), 1)]);
    assert_eq!(p.status.completed_indexes.as_deref(), Some("0-2"));
    let (_, done) = settled(&p);
    assert_eq!(done.map(|c| c.type_), Some(COMPLETE.to_owned()));
}

#[test]
fn indexed_jobs_remove_duplicate_and_out_of_range_pods() {
    let j = indexed(2, 2);
    let pods = [
        with_index(pod("a", "Running"), 0),
        with_index(pod("b", "Running"), 0),
        with_index(pod("c", "Running"), 7),
        pod("d", "Running"),
    ];
    let p = sync(&j, &pods);
    assert_eq!(p.deletions.len(), 3);
    assert!(
        p.creations.is_empty(),
        "deletions and creations are never mixed in one sync"
    );
}

#[test]
fn a_fail_job_rule_fails_the_job_with_the_policy_message() {
    let mut j = job(Some(2), 1);
    spec(&mut j).pod_failure_policy = Some(PodFailurePolicy {
        rules: vec![PodFailurePolicyRule {
            action: "FailJob".to_owned(),
            on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                container_name: None,
                operator: "In".to_owned(),
                values: vec![42],
            }),
            on_pod_conditions: None,
        }],
    });
    let p = sync(&j, &[exited(pod("a", "Failed"), 42)]);
    let c = &p.status.conditions.as_ref().unwrap()[0];
    assert_eq!(c.type_, "FailureTarget");
    assert_eq!(c.reason.as_deref(), Some("PodFailurePolicy"));
    assert!(c
        .message
        .as_deref()
        .unwrap()
        .contains("exit code 42 matching FailJob rule at index 0"));
    let (_, done) = settled(&p);
    assert_eq!(done.map(|c| c.type_), Some(FAILED.to_owned()));
}

#[test]
fn ignored_failures_do_not_count_towards_the_limit() {
    let mut j = job(Some(1), 1);
    spec(&mut j).backoff_limit = Some(0);
    spec(&mut j).pod_failure_policy = Some(PodFailurePolicy {
        rules: vec![PodFailurePolicyRule {
            action: "Ignore".to_owned(),
            on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                container_name: None,
                operator: "In".to_owned(),
                values: vec![3],
            }),
            on_pod_conditions: None,
        }],
    });
    let p = sync(&j, &[exited(pod("a", "Failed"), 3)]);
    assert!(p.finish.is_none());
    assert!(uncounted(&p.status).1.is_empty());
    assert_eq!(p.release.len(), 1);
    let p = sync(&j, &[exited(pod("a", "Failed"), 4)]);
    assert_eq!(types(&p.status)[0].1, "BackoffLimitExceeded");
}

#[test]
fn deleted_pods_count_as_failed_unless_only_failed_pods_are_replaced() {
    let j = job(Some(1), 1);
    let mut gone = pod("a", "Running");
    gone.metadata.deletion_timestamp = Some(Time(now()));
    let p = sync(&j, std::slice::from_ref(&gone));
    assert_eq!(uncounted(&p.status).1, vec!["uid-a".to_owned()]);
    let mut j = job(Some(1), 1);
    spec(&mut j).pod_replacement_policy = Some("Failed".to_owned());
    let p = sync(&j, &[gone]);
    assert!(uncounted(&p.status).1.is_empty());
    assert!(
        p.creations.is_empty(),
        "waits for the terminating pod to fail"
    );
    assert_eq!(p.status.terminating, Some(1));
}

#[test]
fn a_finished_job_only_releases_finalizers() {
    let pods = [pod("a", "Succeeded"), {
        let mut p = pod("b", "Succeeded");
        p.metadata.finalizers = None;
        p
    }];
    assert_eq!(
        finished_release(&pods),
        vec![("a".to_owned(), "uid-a".to_owned())]
    );
}
