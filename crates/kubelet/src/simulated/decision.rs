//! The pod lifecycle simulator's decision core, without I/O: from a pod bound to a simulated
//! node, the node's address, the pod's address and the time, what to write next.
//!
//! A pending pod becomes Running at once with upstream-shaped status (conditions, host and pod
//! IPs, start time, container statuses); containers follow [`containers::step`]; when every
//! container has terminated for good the pod is Succeeded (all exited 0) or Failed. A pod being
//! deleted has its containers stopped and is then deleted for good, as the kubelet does.

use std::net::IpAddr;

use k8s_openapi::api::core::v1::{ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::containers::{self, earliest, plus, PodFacts};

/// How soon a pod that could not get an address is looked at again.
const NO_ADDRESS_RETRY: SignedDuration = SignedDuration::from_secs(1);

/// What to do about one pod.
#[derive(Debug, Clone, PartialEq)]
pub enum PodAction {
    /// Nothing to write; look again at `recheck` when given.
    Wait {
        /// When the pod changes by itself next.
        recheck: Option<Timestamp>,
    },
    /// Write `status` through `pods/status`, then look again at `recheck` when given.
    Write {
        /// The new status.
        status: Box<PodStatus>,
        /// When the pod changes by itself next.
        recheck: Option<Timestamp>,
    },
    /// The pod is being deleted: write `status` (its containers stopped) when given, then
    /// delete it with a zero grace period and its uid as precondition.
    Finalize {
        /// The final status, when there is something to report.
        status: Option<Box<PodStatus>>,
    },
}

fn is_terminal(phase: Option<&str>) -> bool {
    matches!(phase, Some("Succeeded" | "Failed"))
}

/// Whether the pod needs an address from its node's range before it can start.
pub fn needs_address(pod: &Pod) -> bool {
    let status = pod.status.as_ref();
    pod.metadata.deletion_timestamp.is_none()
        && status.and_then(|s| s.pod_ip.as_ref()).is_none()
        && !is_terminal(status.and_then(|s| s.phase.as_deref()))
}

/// `now` without its fraction of a second, as the API's timestamps carry it.
fn whole_seconds(now: Timestamp) -> Timestamp {
    Timestamp::from_second(now.as_second()).unwrap_or(now)
}

/// What to do about `pod`, bound to a node at `host_ip`, at `now`. `pod_ip` is the address
/// the node's range gave it when [`needs_address`] said it needed one.
pub fn decide(pod: &Pod, host_ip: IpAddr, pod_ip: Option<IpAddr>, now: Timestamp) -> PodAction {
    let now = whole_seconds(now);
    let current = pod.status.clone().unwrap_or_default();
    let terminal = is_terminal(current.phase.as_deref());
    if pod.metadata.deletion_timestamp.is_some() {
        return finalize(pod, &current, terminal, now);
    }
    if terminal {
        return PodAction::Wait { recheck: None };
    }
    let address = current
        .pod_ip
        .as_deref()
        .and_then(|ip| ip.parse::<IpAddr>().ok())
        .or(pod_ip);
    let Some(address) = address else {
        return PodAction::Wait {
            recheck: Some(plus(now, NO_ADDRESS_RETRY)),
        };
    };
    let (status, recheck) = live_status(pod, &current, host_ip, address, now);
    if pod.status.as_ref() == Some(&status) {
        PodAction::Wait { recheck }
    } else {
        PodAction::Write {
            status: Box::new(status),
            recheck,
        }
    }
}

fn facts<'a>(pod: &'a Pod, pod_ref: &'a str) -> PodFacts<'a> {
    PodFacts {
        uid: pod.metadata.uid.as_deref().unwrap_or_default(),
        pod_ref,
        restart_policy: pod
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.as_deref())
            .unwrap_or("Always"),
        behaviour: containers::behaviour(pod),
    }
}

/// The status of a pod whose containers run, and when it next changes by itself.
fn live_status(
    pod: &Pod,
    current: &PodStatus,
    host_ip: IpAddr,
    pod_ip: IpAddr,
    now: Timestamp,
) -> (PodStatus, Option<Timestamp>) {
    let start = current.start_time.as_ref().map_or(now, |t| t.0);
    let pod_ref = format!(
        "{}_{}({})",
        pod.metadata.name.as_deref().unwrap_or_default(),
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.uid.as_deref().unwrap_or_default()
    );
    let facts = facts(pod, &pod_ref);
    let spec = pod.spec.clone().unwrap_or_default();
    let previous = |list: &Option<Vec<ContainerStatus>>, name: &str| {
        list.iter().flatten().find(|s| s.name == name).cloned()
    };
    let mut next = None;
    let mut regular = Vec::new();
    for c in &spec.containers {
        let step = containers::step(
            c,
            facts,
            previous(&current.container_statuses, &c.name).as_ref(),
            now,
        );
        next = earliest(next, step.next);
        regular.push(step.status);
    }
    let sidecar_facts = PodFacts {
        behaviour: containers::Behaviour::default(),
        ..facts
    };
    let mut init = Vec::new();
    for c in spec.init_containers.iter().flatten() {
        if c.restart_policy.as_deref() == Some("Always") {
            let prev = previous(&current.init_container_statuses, &c.name);
            let step = containers::step(c, sidecar_facts, prev.as_ref(), now);
            next = earliest(next, step.next);
            init.push(step.status);
        } else {
            init.push(containers::completed_init(c, facts.uid, start));
        }
    }
    let finished = regular
        .iter()
        .all(|s| s.state.as_ref().is_some_and(|st| st.terminated.is_some()));
    let phase = if !finished {
        "Running"
    } else if regular.iter().all(|s| exit_code(s) == Some(0)) {
        "Succeeded"
    } else {
        "Failed"
    };
    if finished {
        init = init
            .iter()
            .map(|s| containers::stopped(s, facts.uid, now))
            .collect();
        next = None;
    }
    let status = PodStatus {
        phase: Some(phase.to_owned()),
        conditions: Some(conditions(current, phase, &regular, &init, now)),
        host_ip: Some(host_ip.to_string()),
        host_ips: Some(vec![HostIP {
            ip: host_ip.to_string(),
        }]),
        pod_ip: Some(pod_ip.to_string()),
        pod_ips: Some(vec![PodIP {
            ip: pod_ip.to_string(),
        }]),
        start_time: Some(Time(start)),
        container_statuses: Some(regular),
        init_container_statuses: (!init.is_empty()).then_some(init),
        ..current.clone()
    };
    (status, next)
}

fn exit_code(status: &ContainerStatus) -> Option<i32> {
    status
        .state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .map(|t| t.exit_code)
}

/// The pod conditions for `phase`, keeping each one's transition time while its status holds.
fn conditions(
    current: &PodStatus,
    phase: &str,
    regular: &[ContainerStatus],
    init: &[ContainerStatus],
    now: Timestamp,
) -> Vec<PodCondition> {
    let terminal = is_terminal(Some(phase));
    let sidecars = init
        .iter()
        .filter(|s| s.state.as_ref().is_some_and(|st| st.terminated.is_none()));
    let unready: Vec<&str> = regular
        .iter()
        .chain(sidecars)
        .filter(|s| !s.ready)
        .map(|s| s.name.as_str())
        .collect();
    let ready = !terminal && unready.is_empty();
    let (reason, message) = match (terminal, ready) {
        (true, _) => (Some("PodCompleted"), None),
        (false, true) => (None, None),
        (false, false) => (
            Some("ContainersNotReady"),
            Some(format!(
                "containers with unready status: [{}]",
                unready.join(" ")
            )),
        ),
    };
    let completed = terminal.then_some("PodCompleted");
    let scheduled = current
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled")
        .cloned();
    let wanted = [
        ("PodReadyToStartContainers", !terminal, None, None),
        ("Initialized", true, completed, None),
        ("Ready", ready, reason, message.clone()),
        ("ContainersReady", ready, reason, message),
    ];
    let mut list: Vec<PodCondition> = wanted
        .into_iter()
        .map(|(kind, on, reason, message)| condition(current, kind, on, reason, message, now))
        .collect();
    list.push(
        scheduled.unwrap_or_else(|| condition(current, "PodScheduled", true, None, None, now)),
    );
    list
}

fn condition(
    current: &PodStatus,
    kind: &str,
    on: bool,
    reason: Option<&str>,
    message: Option<String>,
    now: Timestamp,
) -> PodCondition {
    let status = if on { "True" } else { "False" };
    let since = current
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == kind && c.status == status)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or(Time(now));
    PodCondition {
        type_: kind.to_owned(),
        status: status.to_owned(),
        reason: reason.map(str::to_owned),
        message,
        last_transition_time: Some(since),
        ..PodCondition::default()
    }
}

/// The pod is being deleted: stop what runs, report it, then delete.
fn finalize(pod: &Pod, current: &PodStatus, terminal: bool, now: Timestamp) -> PodAction {
    let Some(running) = current.container_statuses.as_ref().filter(|_| !terminal) else {
        return PodAction::Finalize { status: None };
    };
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let regular: Vec<ContainerStatus> = running
        .iter()
        .map(|s| containers::stopped(s, uid, now))
        .collect();
    let init: Option<Vec<ContainerStatus>> = current.init_container_statuses.as_ref().map(|list| {
        list.iter()
            .map(|s| containers::stopped(s, uid, now))
            .collect()
    });
    let phase = if regular.iter().all(|s| exit_code(s) == Some(0)) {
        "Succeeded"
    } else {
        "Failed"
    };
    let status = PodStatus {
        phase: Some(phase.to_owned()),
        conditions: Some(conditions(
            current,
            phase,
            &regular,
            init.as_deref().unwrap_or_default(),
            now,
        )),
        container_statuses: Some(regular),
        init_container_statuses: init,
        ..current.clone()
    };
    PodAction::Finalize {
        status: Some(Box::new(status)),
    }
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
