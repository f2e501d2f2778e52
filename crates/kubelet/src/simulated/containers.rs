//! One simulated container's life, without I/O: it starts at once, becomes ready after its
//! readiness probe's `initialDelaySeconds`, and, when the pod says so through annotations,
//! exits after a run time with an exit code; the restart policy then restarts it (immediately
//! the first time, then after upstream's CrashLoopBackOff delays) or leaves it terminated.

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, Pod,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use ring::digest;

/// Pod annotation: how many seconds its containers run before they exit.
pub const RUN_SECONDS_ANNOTATION: &str = "sim.rudder.dev/run-seconds";
/// Pod annotation: the exit code of containers that exit after their run time (default 0).
pub const EXIT_CODE_ANNOTATION: &str = "sim.rudder.dev/exit-code";
/// The scheme of simulated container IDs (`sim://<64 hex digits>`).
pub const CONTAINER_ID_SCHEME: &str = "sim://";

/// The first CrashLoopBackOff delay (upstream: 10 s, doubling).
const BACKOFF_BASE_SECONDS: i64 = 10;
/// The longest CrashLoopBackOff delay (upstream: 5 minutes).
const BACKOFF_MAX_SECONDS: i64 = 300;

/// How a pod's simulated containers behave, from its annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Behaviour {
    /// How long containers run before exiting; `None` runs them until the pod is deleted.
    pub run_for: Option<SignedDuration>,
    /// The code they exit with.
    pub exit_code: i32,
}

/// The behaviour the pod's annotations ask for (unparseable values are ignored).
pub fn behaviour(pod: &Pod) -> Behaviour {
    let annotation = |key: &str| {
        pod.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .map(|v| v.trim().to_owned())
    };
    Behaviour {
        run_for: annotation(RUN_SECONDS_ANNOTATION)
            .and_then(|v| v.parse::<u32>().ok())
            .map(|s| SignedDuration::from_secs(i64::from(s))),
        exit_code: annotation(EXIT_CODE_ANNOTATION)
            .and_then(|v| v.parse::<i32>().ok())
            .unwrap_or(0),
    }
}

/// `t` moved by `by` (saturating at the ends of time).
pub fn plus(t: Timestamp, by: SignedDuration) -> Timestamp {
    t.saturating_add(by).unwrap_or(t)
}

/// The earlier of two optional times.
pub fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether a container that exited with `code` is restarted under the pod's `policy`.
fn restarts(policy: &str, code: i32) -> bool {
    match policy {
        "Never" => false,
        "OnFailure" => code != 0,
        _ => true,
    }
}

/// How long a container that has restarted `restart_count` times waits before its next start:
/// nothing the first time, then 10 s doubling up to 5 minutes.
pub fn crash_backoff(restart_count: i32) -> SignedDuration {
    if restart_count <= 0 {
        return SignedDuration::ZERO;
    }
    let exponent = u32::try_from(restart_count - 1).unwrap_or(u32::MAX).min(8);
    let seconds = (BACKOFF_BASE_SECONDS << exponent).min(BACKOFF_MAX_SECONDS);
    SignedDuration::from_secs(seconds)
}

fn hex_sha256(text: &str) -> String {
    digest::digest(&digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An image reference as the runtime reports it: registry and `library/` filled in for Docker
/// Hub names, `:latest` when there is no tag or digest.
pub fn normalized_image(image: &str) -> String {
    let (first, _) = image.split_once('/').unwrap_or(("", image));
    let has_registry = first.contains('.') || first.contains(':') || first == "localhost";
    let mut name = match (image.contains('/'), has_registry) {
        (false, _) => format!("docker.io/library/{image}"),
        (true, false) => format!("docker.io/{image}"),
        (true, true) => image.to_owned(),
    };
    let last = name.rsplit('/').next().unwrap_or_default();
    if !last.contains(':') && !last.contains('@') {
        name.push_str(":latest");
    }
    name
}

/// The image ID reported for `image`: its repository with a digest made up from its name.
fn image_id(image: &str) -> String {
    let normalized = normalized_image(image);
    let repository = normalized
        .split('@')
        .next()
        .map(|r| match r.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => repo,
            _ => r,
        })
        .unwrap_or_default();
    format!("{repository}@sha256:{}", hex_sha256(&normalized))
}

/// The ID of the container run number `restart_count` of `name` in the pod `uid`.
fn container_id(uid: &str, name: &str, restart_count: i32) -> String {
    format!(
        "{CONTAINER_ID_SCHEME}{}",
        hex_sha256(&format!("{uid}/{name}/{restart_count}"))
    )
}

/// A container's status at one moment, and when it next changes by itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The status to report.
    pub status: ContainerStatus,
    /// When to look again, if the container will change without anything else happening.
    pub next: Option<Timestamp>,
}

/// What a step needs to know about the pod.
#[derive(Debug, Clone, Copy)]
pub struct PodFacts<'a> {
    /// The pod's uid.
    pub uid: &'a str,
    /// `namespace/name`-like text for messages: `name_namespace(uid)` as upstream prints it.
    pub pod_ref: &'a str,
    /// The pod's restart policy.
    pub restart_policy: &'a str,
    /// How its containers behave.
    pub behaviour: Behaviour,
}

fn base_status(container: &Container, uid: &str, restart_count: i32) -> ContainerStatus {
    let image = container.image.clone().unwrap_or_default();
    ContainerStatus {
        name: container.name.clone(),
        image: normalized_image(&image),
        image_id: image_id(&image),
        container_id: Some(container_id(uid, &container.name, restart_count)),
        restart_count,
        last_state: Some(ContainerState::default()),
        ..ContainerStatus::default()
    }
}

/// A container running since `started`, ready once its readiness delay has passed.
fn running(
    container: &Container,
    pod: PodFacts<'_>,
    started: Timestamp,
    restart_count: i32,
    last: Option<ContainerState>,
    now: Timestamp,
) -> Step {
    let delay = container
        .readiness_probe
        .as_ref()
        .and_then(|p| p.initial_delay_seconds)
        .unwrap_or(0);
    let ready_at = plus(started, SignedDuration::from_secs(i64::from(delay.max(0))));
    let ready = now >= ready_at;
    let exit_at = pod.behaviour.run_for.map(|run| plus(started, run));
    let mut status = base_status(container, pod.uid, restart_count);
    status.ready = ready;
    status.started = Some(true);
    status.state = Some(ContainerState {
        running: Some(ContainerStateRunning {
            started_at: Some(Time(started)),
        }),
        ..ContainerState::default()
    });
    status.last_state = last.or(status.last_state);
    Step {
        status,
        next: earliest((!ready).then_some(ready_at), exit_at),
    }
}

/// The terminated state of run `restart_count` that started at `started` and exited at `at`.
fn terminated(
    uid: &str,
    name: &str,
    restart_count: i32,
    code: i32,
    started: Option<Time>,
    at: Timestamp,
) -> ContainerState {
    ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: code,
            reason: Some(if code == 0 { "Completed" } else { "Error" }.to_owned()),
            started_at: started,
            finished_at: Some(Time(at)),
            container_id: Some(container_id(uid, name, restart_count)),
            ..ContainerStateTerminated::default()
        }),
        ..ContainerState::default()
    }
}

/// Waiting out CrashLoopBackOff after `last` exited, until `restart_at`.
fn backing_off(
    container: &Container,
    pod: PodFacts<'_>,
    restart_count: i32,
    last: ContainerState,
    restart_at: Timestamp,
    now: Timestamp,
) -> Step {
    if now >= restart_at {
        return running(container, pod, now, restart_count + 1, Some(last), now);
    }
    let delay = crash_backoff(restart_count).as_secs();
    let mut status = base_status(container, pod.uid, restart_count);
    status.started = Some(false);
    status.state = Some(ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some("CrashLoopBackOff".to_owned()),
            message: Some(format!(
                "back-off {delay}s restarting failed container={} pod={}",
                container.name, pod.pod_ref
            )),
        }),
        ..ContainerState::default()
    });
    status.last_state = Some(last);
    Step {
        status,
        next: Some(restart_at),
    }
}

/// The container's status at `now`, moving on from `previous`.
pub fn step(
    container: &Container,
    pod: PodFacts<'_>,
    previous: Option<&ContainerStatus>,
    now: Timestamp,
) -> Step {
    let restart_count = previous.map_or(0, |p| p.restart_count);
    let state = previous.and_then(|p| p.state.clone()).unwrap_or_default();
    let last = previous.and_then(|p| p.last_state.clone());
    if state.terminated.is_some() {
        return Step {
            status: previous
                .cloned()
                .unwrap_or_else(|| base_status(container, pod.uid, restart_count)),
            next: None,
        };
    }
    if let Some(waiting) = &state.waiting {
        if waiting.reason.as_deref() == Some("CrashLoopBackOff") {
            let finished = last
                .as_ref()
                .and_then(|l| l.terminated.as_ref())
                .and_then(|t| t.finished_at.as_ref())
                .map_or(now, |t| t.0);
            let restart_at = plus(finished, crash_backoff(restart_count));
            return backing_off(
                container,
                pod,
                restart_count,
                last.unwrap_or_default(),
                restart_at,
                now,
            );
        }
    }
    let Some(started) = state.running.and_then(|r| r.started_at).map(|t| t.0) else {
        return running(container, pod, now, restart_count, last, now);
    };
    let exit_at = pod.behaviour.run_for.map(|run| plus(started, run));
    match exit_at {
        Some(at) if now >= at => exited(container, pod, restart_count, started, at, now),
        _ => running(container, pod, started, restart_count, last, now),
    }
}

/// The container exited at `at`: restarted, backing off, or terminated for good.
fn exited(
    container: &Container,
    pod: PodFacts<'_>,
    restart_count: i32,
    started: Timestamp,
    at: Timestamp,
    now: Timestamp,
) -> Step {
    let code = pod.behaviour.exit_code;
    let state = terminated(
        pod.uid,
        &container.name,
        restart_count,
        code,
        Some(Time(started)),
        at,
    );
    if restarts(pod.restart_policy, code) {
        let restart_at = plus(at, crash_backoff(restart_count));
        return backing_off(container, pod, restart_count, state, restart_at, now);
    }
    let mut status = base_status(container, pod.uid, restart_count);
    status.started = Some(false);
    status.state = Some(state);
    Step { status, next: None }
}

/// A completed (non-sidecar) init container: it ran at `start` and exited 0.
pub fn completed_init(container: &Container, uid: &str, start: Timestamp) -> ContainerStatus {
    let mut status = base_status(container, uid, 0);
    status.ready = true;
    status.started = Some(false);
    status.state = Some(terminated(
        uid,
        &container.name,
        0,
        0,
        Some(Time(start)),
        start,
    ));
    status
}

/// `status` stopped at `now` as the pod goes away: a running container exits 0; others stay.
pub fn stopped(status: &ContainerStatus, uid: &str, now: Timestamp) -> ContainerStatus {
    let mut status = status.clone();
    if let Some(run) = status.state.as_ref().and_then(|s| s.running.clone()) {
        status.state = Some(terminated(
            uid,
            &status.name,
            status.restart_count,
            0,
            run.started_at,
            now,
        ));
        status.ready = false;
        status.started = Some(false);
    }
    status
}

#[cfg(test)]
#[path = "containers_tests.rs"]
mod tests;
