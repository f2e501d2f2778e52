//! The Pod columns: READY, STATUS and RESTARTS follow upstream's rules for init containers,
//! sidecars (restartable init containers), waiting and terminated reasons, and deletion.

use serde_json::{json, Value};

use super::cells::{condition_true, count_at, human_duration, seconds_since, str_or_none};
use super::common::{col, AGE, NAME};
use super::Column;
use crate::meta;

/// What the READY, STATUS and RESTARTS cells of a pod say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSummary {
    /// Ready containers (including started, ready sidecars).
    pub ready: usize,
    /// Containers, including sidecars.
    pub total: usize,
    /// The STATUS cell.
    pub status: String,
    /// Restarts counted for the RESTARTS cell.
    pub restarts: i64,
    /// The latest `lastState.terminated.finishedAt` among the counted containers.
    pub last_restart: Option<String>,
}

fn array<'a>(obj: &'a Value, pointer: &str) -> &'a [Value] {
    obj.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn text<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Keeps the later of two RFC 3339 timestamps.
fn later(current: &mut Option<String>, candidate: Option<&str>) {
    let Some(candidate) = candidate.filter(|c| !c.is_empty()) else {
        return;
    };
    let newer = match current.as_deref() {
        None => true,
        Some(cur) => match (
            chrono::DateTime::parse_from_rfc3339(cur),
            chrono::DateTime::parse_from_rfc3339(candidate),
        ) {
            (Ok(a), Ok(b)) => b > a,
            _ => false,
        },
    };
    if newer {
        *current = Some(candidate.to_owned());
    }
}

fn terminated_reason(terminated: &Value, prefix: &str) -> String {
    match terminated.get("reason").and_then(Value::as_str) {
        Some(r) if !r.is_empty() => format!("{prefix}{r}"),
        _ => match terminated.get("signal").and_then(Value::as_i64) {
            Some(sig) if sig != 0 => format!("{prefix}Signal:{sig}"),
            _ => format!(
                "{prefix}ExitCode:{}",
                terminated
                    .get("exitCode")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
            ),
        },
    }
}

/// Summarises a pod as `kubectl get pods` does.
pub fn summarize(pod: &Value) -> PodSummary {
    let init_specs = array(pod, "/spec/initContainers");
    let sidecar = |name: &str| {
        init_specs.iter().any(|c| {
            c.get("name").and_then(Value::as_str) == Some(name)
                && c.get("restartPolicy").and_then(Value::as_str) == Some("Always")
        })
    };
    let mut total = count_at(pod, "/spec/containers") as usize;
    total += init_specs
        .iter()
        .filter(|c| c.get("restartPolicy").and_then(Value::as_str) == Some("Always"))
        .count();
    let phase = text(pod, "/status/phase");
    let mut status = match text(pod, "/status/reason") {
        "" => phase.to_owned(),
        r => r.to_owned(),
    };
    let gated = array(pod, "/status/conditions").iter().any(|c| {
        c.get("type").and_then(Value::as_str) == Some("PodScheduled")
            && c.get("reason").and_then(Value::as_str) == Some("SchedulingGated")
    });
    if gated {
        status = "SchedulingGated".to_owned();
    }

    let mut ready = 0;
    let mut restarts = 0;
    let mut sidecar_restarts = 0;
    let mut last_restart = None;
    let mut sidecar_last_restart = None;
    let mut initializing = false;
    let init_statuses = array(pod, "/status/initContainerStatuses");
    for (i, c) in init_statuses.iter().enumerate() {
        let count = c.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
        let finished = c
            .pointer("/lastState/terminated/finishedAt")
            .and_then(Value::as_str);
        restarts += count;
        later(&mut last_restart, finished);
        let is_sidecar = sidecar(text(c, "/name"));
        if is_sidecar {
            sidecar_restarts += count;
            later(&mut sidecar_last_restart, finished);
        }
        let terminated = c.pointer("/state/terminated");
        let waiting_reason = text(c, "/state/waiting/reason");
        if terminated.is_some_and(|t| t.get("exitCode").and_then(Value::as_i64).unwrap_or(0) == 0) {
            continue;
        }
        if is_sidecar && c.get("started").and_then(Value::as_bool) == Some(true) {
            if c.get("ready").and_then(Value::as_bool) == Some(true) {
                ready += 1;
            }
            continue;
        }
        status = match terminated {
            Some(t) => terminated_reason(t, "Init:"),
            None if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" => {
                format!("Init:{waiting_reason}")
            }
            None => format!("Init:{i}/{}", init_specs.len()),
        };
        initializing = true;
        break;
    }

    if !initializing || condition_true(pod, "/status/conditions", "Initialized") {
        restarts = sidecar_restarts;
        last_restart = sidecar_last_restart;
        let mut has_running = false;
        for c in array(pod, "/status/containerStatuses").iter().rev() {
            restarts += c.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
            later(
                &mut last_restart,
                c.pointer("/lastState/terminated/finishedAt")
                    .and_then(Value::as_str),
            );
            let waiting_reason = text(c, "/state/waiting/reason");
            let terminated = c.pointer("/state/terminated");
            if !waiting_reason.is_empty() {
                status = waiting_reason.to_owned();
            } else if let Some(t) = terminated {
                status = terminated_reason(t, "");
            } else if c.get("ready").and_then(Value::as_bool) == Some(true)
                && c.pointer("/state/running").is_some()
            {
                has_running = true;
                ready += 1;
            }
        }
        if status == "Completed" && has_running {
            status = if condition_true(pod, "/status/conditions", "Ready") {
                "Running".to_owned()
            } else {
                "NotReady".to_owned()
            };
        }
    }

    if meta::is_deleting(pod) {
        if text(pod, "/status/reason") == "NodeLost" {
            status = "Unknown".to_owned();
        } else if phase != "Succeeded" && phase != "Failed" {
            status = "Terminating".to_owned();
        }
    }
    PodSummary {
        ready,
        total,
        status,
        restarts,
        last_restart,
    }
}

fn restarts_cell(summary: &PodSummary) -> String {
    match (summary.restarts, summary.last_restart.as_deref()) {
        (0, _) | (_, None) => summary.restarts.to_string(),
        (n, Some(at)) => match seconds_since(Some(at)) {
            Some(secs) => format!("{n} ({} ago)", human_duration(secs)),
            None => n.to_string(),
        },
    }
}

fn pod_ip(o: &Value) -> Value {
    let first = o
        .pointer("/status/podIPs/0/ip")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    match first {
        Some(ip) => json!(ip),
        None => str_or_none(o, "/status/podIP"),
    }
}

fn readiness_gates(o: &Value) -> Value {
    let gates = array(o, "/spec/readinessGates");
    if gates.is_empty() {
        return json!("<none>");
    }
    let satisfied = gates
        .iter()
        .filter(|g| condition_true(o, "/status/conditions", text(g, "/conditionType")))
        .count();
    json!(format!("{satisfied}/{}", gates.len()))
}

/// Pods.
pub const POD: &[Column] = &[
    NAME,
    col("Ready", "string", 0, |o| {
        let s = summarize(o);
        json!(format!("{}/{}", s.ready, s.total))
    }),
    col("Status", "string", 0, |o| json!(summarize(o).status)),
    col("Restarts", "string", 0, |o| {
        json!(restarts_cell(&summarize(o)))
    }),
    AGE,
    col("IP", "string", 1, pod_ip),
    col("Node", "string", 1, |o| str_or_none(o, "/spec/nodeName")),
    col("Nominated Node", "string", 1, |o| {
        str_or_none(o, "/status/nominatedNodeName")
    }),
    col("Readiness Gates", "string", 1, readiness_gates),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(spec: Value, status: Value) -> Value {
        json!({"metadata": {"name": "p"}, "spec": spec, "status": status})
    }

    #[test]
    fn running_ready_pod_counts_ready_containers() {
        let p = pod(
            json!({"containers": [{"name": "a"}, {"name": "b"}]}),
            json!({"phase": "Running", "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 0, "state": {"running": {}}},
                {"name": "b", "ready": false, "restartCount": 0, "state": {"running": {}}}
            ]}),
        );
        let s = summarize(&p);
        assert_eq!((s.ready, s.total, s.status.as_str()), (1, 2, "Running"));
    }

    #[test]
    fn waiting_init_container_shows_init_progress() {
        let p = pod(
            json!({"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "a"}]}),
            json!({"phase": "Pending", "initContainerStatuses": [
                {"name": "i1", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                {"name": "i2", "state": {"running": {}}}
            ]}),
        );
        assert_eq!(summarize(&p).status, "Init:1/2");
    }

    #[test]
    fn failing_init_container_shows_its_reason() {
        let p = pod(
            json!({"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]}),
            json!({"phase": "Pending", "initContainerStatuses": [
                {"name": "i1", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
            ]}),
        );
        let s = summarize(&p);
        assert_eq!(s.status, "Init:CrashLoopBackOff");
        assert_eq!(s.restarts, 3);
        let p = pod(
            json!({"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]}),
            json!({"phase": "Pending", "initContainerStatuses": [
                {"name": "i1", "state": {"terminated": {"exitCode": 2}}}
            ]}),
        );
        assert_eq!(summarize(&p).status, "Init:ExitCode:2");
    }

    #[test]
    fn container_waiting_reason_replaces_the_phase() {
        let p = pod(
            json!({"containers": [{"name": "a"}]}),
            json!({"phase": "Pending", "containerStatuses": [
                {"name": "a", "state": {"waiting": {"reason": "ImagePullBackOff"}}}
            ]}),
        );
        assert_eq!(summarize(&p).status, "ImagePullBackOff");
    }

    #[test]
    fn started_sidecar_counts_as_ready_container() {
        let p = pod(
            json!({"initContainers": [{"name": "proxy", "restartPolicy": "Always"}], "containers": [{"name": "a"}]}),
            json!({"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
            "initContainerStatuses": [
                {"name": "proxy", "started": true, "ready": true, "restartCount": 1, "state": {"running": {}}}
            ],
            "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 2, "state": {"running": {}}}
            ]}),
        );
        let s = summarize(&p);
        assert_eq!((s.ready, s.total, s.status.as_str()), (2, 2, "Running"));
        assert_eq!(s.restarts, 3);
    }

    #[test]
    fn deleted_pod_is_terminating_unless_finished() {
        let mut p = pod(
            json!({"containers": [{"name": "a"}]}),
            json!({"phase": "Running"}),
        );
        p["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        assert_eq!(summarize(&p).status, "Terminating");
        p["status"]["phase"] = json!("Succeeded");
        assert_eq!(summarize(&p).status, "Succeeded");
    }

    #[test]
    fn restarts_show_how_long_ago_the_last_one_was() {
        let five_min_ago = (chrono::Utc::now() - chrono::Duration::minutes(5))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let p = pod(
            json!({"containers": [{"name": "a"}]}),
            json!({"phase": "Running", "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 4, "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": five_min_ago}}}
            ]}),
        );
        assert_eq!(restarts_cell(&summarize(&p)), "4 (5m ago)");
    }
}
