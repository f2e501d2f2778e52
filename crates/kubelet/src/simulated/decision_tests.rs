use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec, Probe};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;
use crate::simulated::containers::{EXIT_CODE_ANNOTATION, RUN_SECONDS_ANNOTATION};

const HOST: &str = "10.0.0.2";
const POD_IP: &str = "10.64.1.2";

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + second).unwrap()
}

fn container(name: &str) -> Container {
    Container {
        name: name.to_owned(),
        image: Some("nginx".to_owned()),
        ..Container::default()
    }
}

fn pod(annotations: &[(&str, &str)], restart_policy: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("web".to_owned()),
            namespace: Some("default".to_owned()),
            uid: Some("uid-1".to_owned()),
            annotations: Some(
                annotations
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            node_name: Some("sim-1".to_owned()),
            restart_policy: Some(restart_policy.to_owned()),
            containers: vec![container("app")],
            ..PodSpec::default()
        }),
        status: Some(PodStatus {
            phase: Some("Pending".to_owned()),
            ..PodStatus::default()
        }),
    }
}

fn decide_at(pod: &Pod, second: i64) -> PodAction {
    let ip = needs_address(pod).then(|| POD_IP.parse().unwrap());
    decide(pod, HOST.parse().unwrap(), ip, at(second))
}

/// Applies a `Write` to the pod, as the API server would.
fn written(pod: &Pod, action: PodAction) -> (Pod, Option<Timestamp>) {
    let PodAction::Write { status, recheck } = action else {
        panic!("expected a status write, got {action:?}");
    };
    let mut pod = pod.clone();
    pod.status = Some(*status);
    (pod, recheck)
}

fn condition<'a>(pod: &'a Pod, kind: &str) -> &'a PodCondition {
    let conditions = pod.status.as_ref().unwrap().conditions.as_ref().unwrap();
    conditions.iter().find(|c| c.type_ == kind).unwrap()
}

fn app(pod: &Pod) -> &ContainerStatus {
    &pod.status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0]
}

#[test]
fn a_pending_pod_starts_running_with_upstream_shaped_status() {
    let (running, recheck) = written(&pod(&[], "Always"), decide_at(&pod(&[], "Always"), 0));
    let status = running.status.as_ref().unwrap();
    assert_eq!(status.phase.as_deref(), Some("Running"));
    assert_eq!(status.host_ip.as_deref(), Some(HOST));
    assert_eq!(status.pod_ip.as_deref(), Some(POD_IP));
    assert_eq!(status.pod_ips.as_ref().unwrap()[0].ip, POD_IP);
    assert_eq!(status.start_time, Some(Time(at(0))));
    assert_eq!(recheck, None);
    let kinds: Vec<_> = status
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| (c.type_.as_str(), c.status.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("PodReadyToStartContainers", "True"),
            ("Initialized", "True"),
            ("Ready", "True"),
            ("ContainersReady", "True"),
            ("PodScheduled", "True"),
        ]
    );
    let app = app(&running);
    assert!(app.ready);
    assert_eq!(app.started, Some(true));
    assert_eq!(app.restart_count, 0);
    assert_eq!(app.image, "docker.io/library/nginx:latest");
    assert!(app.image_id.starts_with("docker.io/library/nginx@sha256:"));
    assert!(app.container_id.as_deref().unwrap().starts_with("sim://"));
    let started = app.state.as_ref().unwrap().running.as_ref().unwrap();
    assert_eq!(started.started_at, Some(Time(at(0))));
}

#[test]
fn a_running_pod_with_nothing_due_is_left_alone() {
    let pending = pod(&[], "Always");
    let (running, _) = written(&pending, decide_at(&pending, 0));
    assert_eq!(decide_at(&running, 30), PodAction::Wait { recheck: None });
}

#[test]
fn a_pod_without_an_address_waits_for_one() {
    let pending = pod(&[], "Always");
    let action = decide(&pending, HOST.parse().unwrap(), None, at(0));
    assert_eq!(
        action,
        PodAction::Wait {
            recheck: Some(at(1))
        }
    );
}

#[test]
fn readiness_waits_for_the_probe_initial_delay() {
    let mut pending = pod(&[], "Always");
    pending.spec.as_mut().unwrap().containers[0].readiness_probe = Some(Probe {
        initial_delay_seconds: Some(5),
        ..Probe::default()
    });
    let (starting, recheck) = written(&pending, decide_at(&pending, 0));
    assert_eq!(recheck, Some(at(5)));
    assert!(!app(&starting).ready);
    let ready = condition(&starting, "Ready");
    assert_eq!(ready.status, "False");
    assert_eq!(ready.reason.as_deref(), Some("ContainersNotReady"));
    assert_eq!(
        ready.message.as_deref(),
        Some("containers with unready status: [app]")
    );
    assert_eq!(
        decide_at(&starting, 4),
        PodAction::Wait {
            recheck: Some(at(5))
        }
    );
    let (ready_pod, recheck) = written(&starting, decide_at(&starting, 5));
    assert_eq!(recheck, None);
    assert!(app(&ready_pod).ready);
    assert_eq!(
        condition(&ready_pod, "Ready").last_transition_time,
        Some(Time(at(5)))
    );
    assert_eq!(
        condition(&ready_pod, "Initialized").last_transition_time,
        Some(Time(at(0)))
    );
}

#[test]
fn a_run_time_ending_in_zero_makes_the_pod_succeeded() {
    let pending = pod(&[(RUN_SECONDS_ANNOTATION, "3")], "Never");
    let (running, recheck) = written(&pending, decide_at(&pending, 0));
    assert_eq!(recheck, Some(at(3)));
    let (done, recheck) = written(&running, decide_at(&running, 4));
    assert_eq!(recheck, None);
    assert_eq!(
        done.status.as_ref().unwrap().phase.as_deref(),
        Some("Succeeded")
    );
    let terminated = app(&done)
        .state
        .as_ref()
        .unwrap()
        .terminated
        .clone()
        .unwrap();
    assert_eq!(terminated.exit_code, 0);
    assert_eq!(terminated.reason.as_deref(), Some("Completed"));
    assert_eq!(terminated.finished_at, Some(Time(at(3))));
    assert_eq!(
        condition(&done, "Ready").reason.as_deref(),
        Some("PodCompleted")
    );
    assert_eq!(
        condition(&done, "PodReadyToStartContainers").status,
        "False"
    );
    assert_eq!(decide_at(&done, 10), PodAction::Wait { recheck: None });
}

#[test]
fn a_nonzero_exit_under_never_makes_the_pod_failed_with_error() {
    let pending = pod(
        &[(RUN_SECONDS_ANNOTATION, "1"), (EXIT_CODE_ANNOTATION, "2")],
        "Never",
    );
    let (running, _) = written(&pending, decide_at(&pending, 0));
    let (done, _) = written(&running, decide_at(&running, 1));
    assert_eq!(
        done.status.as_ref().unwrap().phase.as_deref(),
        Some("Failed")
    );
    let terminated = app(&done)
        .state
        .as_ref()
        .unwrap()
        .terminated
        .clone()
        .unwrap();
    assert_eq!(
        (terminated.exit_code, terminated.reason.as_deref()),
        (2, Some("Error"))
    );
}

#[test]
fn on_failure_restarts_a_failed_container_then_backs_off() {
    let pending = pod(
        &[(RUN_SECONDS_ANNOTATION, "1"), (EXIT_CODE_ANNOTATION, "1")],
        "OnFailure",
    );
    let (running, _) = written(&pending, decide_at(&pending, 0));
    let (restarted, recheck) = written(&running, decide_at(&running, 1));
    assert_eq!(
        restarted.status.as_ref().unwrap().phase.as_deref(),
        Some("Running")
    );
    assert_eq!(app(&restarted).restart_count, 1);
    let last = app(&restarted)
        .last_state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(last.exit_code, 1);
    assert_eq!(recheck, Some(at(2)));
    let (backing_off, recheck) = written(&restarted, decide_at(&restarted, 2));
    let waiting = app(&backing_off).state.clone().unwrap().waiting.unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
    assert_eq!(recheck, Some(at(12)));
    let (again, _) = written(&backing_off, decide_at(&backing_off, 12));
    assert_eq!(app(&again).restart_count, 2);
    assert!(app(&again).state.as_ref().unwrap().running.is_some());
}

#[test]
fn on_failure_lets_a_successful_container_complete() {
    let pending = pod(&[(RUN_SECONDS_ANNOTATION, "1")], "OnFailure");
    let (running, _) = written(&pending, decide_at(&pending, 0));
    let (done, _) = written(&running, decide_at(&running, 1));
    assert_eq!(
        done.status.as_ref().unwrap().phase.as_deref(),
        Some("Succeeded")
    );
    assert_eq!(app(&done).restart_count, 0);
}

#[test]
fn init_containers_are_reported_completed() {
    let mut pending = pod(&[], "Always");
    pending.spec.as_mut().unwrap().init_containers = Some(vec![container("setup")]);
    let (running, _) = written(&pending, decide_at(&pending, 0));
    let init = &running
        .status
        .as_ref()
        .unwrap()
        .init_container_statuses
        .as_ref()
        .unwrap()[0];
    let terminated = init.state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!(terminated.reason.as_deref(), Some("Completed"));
    assert!(init.ready);
}

#[test]
fn a_deleted_running_pod_is_stopped_then_finalized() {
    let pending = pod(&[], "Always");
    let (mut running, _) = written(&pending, decide_at(&pending, 0));
    running.metadata.deletion_timestamp = Some(Time(at(40)));
    let PodAction::Finalize {
        status: Some(status),
    } = decide_at(&running, 10)
    else {
        panic!("expected a finalize with a status");
    };
    assert_eq!(status.phase.as_deref(), Some("Succeeded"));
    let app = &status.container_statuses.as_ref().unwrap()[0];
    let terminated = app.state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!(terminated.finished_at, Some(Time(at(10))));
    assert!(!app.ready);
}

#[test]
fn a_deleted_pod_that_never_started_is_finalized_at_once() {
    let mut pending = pod(&[], "Always");
    pending.metadata.deletion_timestamp = Some(Time(at(30)));
    assert!(!needs_address(&pending));
    assert_eq!(decide_at(&pending, 0), PodAction::Finalize { status: None });
}

#[test]
fn a_scheduler_written_pod_scheduled_condition_is_kept() {
    let mut pending = pod(&[], "Always");
    let scheduled = PodCondition {
        type_: "PodScheduled".to_owned(),
        status: "True".to_owned(),
        last_transition_time: Some(Time(at(-5))),
        ..PodCondition::default()
    };
    pending.status.as_mut().unwrap().conditions = Some(vec![scheduled.clone()]);
    let (running, _) = written(&pending, decide_at(&pending, 0));
    assert_eq!(condition(&running, "PodScheduled"), &scheduled);
}
