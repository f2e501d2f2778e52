//! Columns of the workload kinds: apps/v1, batch/v1, autoscaling/v2 and policy/v1.

use serde_json::{json, Value};

use super::cells::{
    condition_true, containers_and_images, human_duration, int_at, labels_text, scalar_text,
    seconds_between, seconds_since, selector_requirements, selector_text,
};
use super::common::{age_at, col, AGE, NAME};
use super::Column;
use crate::meta;

fn ready_of(o: &Value, ready: &str, desired: &str) -> Value {
    json!(format!("{}/{}", int_at(o, ready), int_at(o, desired)))
}

const fn containers(pointer: fn(&Value) -> Value) -> Column {
    col("Containers", "string", 1, pointer)
}

const fn images(pointer: fn(&Value) -> Value) -> Column {
    col("Images", "string", 1, pointer)
}

fn template_names(o: &Value) -> Value {
    containers_and_images(o, "/spec/template/spec").0
}

fn template_images(o: &Value) -> Value {
    containers_and_images(o, "/spec/template/spec").1
}

fn selector(o: &Value) -> Value {
    json!(selector_text(o.pointer("/spec/selector")))
}

/// Deployments.
pub const DEPLOYMENT: &[Column] = &[
    NAME,
    col("Ready", "string", 0, |o| {
        ready_of(o, "/status/readyReplicas", "/spec/replicas")
    }),
    col("Up-to-date", "string", 0, |o| {
        json!(int_at(o, "/status/updatedReplicas"))
    }),
    col("Available", "string", 0, |o| {
        json!(int_at(o, "/status/availableReplicas"))
    }),
    AGE,
    containers(template_names),
    images(template_images),
    col("Selector", "string", 1, |o| {
        json!(o
            .pointer("/spec/selector")
            .map(selector_requirements)
            .unwrap_or_default())
    }),
];

/// ReplicaSets and ReplicationControllers (upstream prints both alike).
pub const REPLICA_SET: &[Column] = &[
    NAME,
    col("Desired", "integer", 0, |o| {
        json!(int_at(o, "/spec/replicas"))
    }),
    col("Current", "integer", 0, |o| {
        json!(int_at(o, "/status/replicas"))
    }),
    col("Ready", "integer", 0, |o| {
        json!(int_at(o, "/status/readyReplicas"))
    }),
    AGE,
    containers(template_names),
    images(template_images),
    col("Selector", "string", 1, selector),
];

/// StatefulSets.
pub const STATEFUL_SET: &[Column] = &[
    NAME,
    col("Ready", "string", 0, |o| {
        ready_of(o, "/status/readyReplicas", "/spec/replicas")
    }),
    AGE,
    containers(template_names),
    images(template_images),
];

/// DaemonSets.
pub const DAEMON_SET: &[Column] = &[
    NAME,
    col("Desired", "integer", 0, |o| {
        json!(int_at(o, "/status/desiredNumberScheduled"))
    }),
    col("Current", "integer", 0, |o| {
        json!(int_at(o, "/status/currentNumberScheduled"))
    }),
    col("Ready", "integer", 0, |o| {
        json!(int_at(o, "/status/numberReady"))
    }),
    col("Up-to-date", "integer", 0, |o| {
        json!(int_at(o, "/status/updatedNumberScheduled"))
    }),
    col("Available", "integer", 0, |o| {
        json!(int_at(o, "/status/numberAvailable"))
    }),
    col("Node Selector", "string", 0, |o| {
        json!(labels_text(o.pointer("/spec/template/spec/nodeSelector")))
    }),
    AGE,
    containers(template_names),
    images(template_images),
    col("Selector", "string", 1, selector),
];

/// The STATUS cell of a Job.
pub fn job_status(o: &Value) -> &'static str {
    let has = |kind| condition_true(o, "/status/conditions", kind);
    if has("Complete") {
        "Complete"
    } else if has("Failed") {
        "Failed"
    } else if meta::is_deleting(o) {
        "Terminating"
    } else if has("Suspended") {
        "Suspended"
    } else if has("FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

/// The COMPLETIONS cell of a Job (`1/3`, or `0/1 of 4` for a work queue).
pub fn job_completions(o: &Value) -> String {
    let succeeded = int_at(o, "/status/succeeded");
    match o.pointer("/spec/completions").and_then(Value::as_i64) {
        Some(completions) => format!("{succeeded}/{completions}"),
        None => match int_at(o, "/spec/parallelism") {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    }
}

/// The DURATION cell of a Job: start to completion, or to now while it runs.
pub fn job_duration(o: &Value) -> String {
    let start = o.pointer("/status/startTime").and_then(Value::as_str);
    let end = o.pointer("/status/completionTime").and_then(Value::as_str);
    let seconds = match (start, end) {
        (None, _) => None,
        (Some(s), None) => seconds_since(Some(s)),
        (Some(s), Some(e)) => seconds_between(s, e),
    };
    seconds.map(human_duration).unwrap_or_default()
}

/// Jobs.
pub const JOB: &[Column] = &[
    NAME,
    col("Status", "string", 0, |o| json!(job_status(o))),
    col("Completions", "string", 0, |o| json!(job_completions(o))),
    col("Duration", "string", 0, |o| json!(job_duration(o))),
    AGE,
    containers(template_names),
    images(template_images),
    col("Selector", "string", 1, selector),
];

fn bool_or_unset(o: &Value, pointer: &str) -> Value {
    match o.pointer(pointer).and_then(Value::as_bool) {
        Some(true) => json!("True"),
        Some(false) => json!("False"),
        None => json!("<unset>"),
    }
}

/// CronJobs.
pub const CRON_JOB: &[Column] = &[
    NAME,
    col("Schedule", "string", 0, |o| {
        json!(meta::str_at(o, "/spec/schedule"))
    }),
    col("Timezone", "string", 0, |o| {
        json!(o
            .pointer("/spec/timeZone")
            .and_then(Value::as_str)
            .unwrap_or("<none>"))
    }),
    col("Suspend", "boolean", 0, |o| {
        bool_or_unset(o, "/spec/suspend")
    }),
    col("Active", "integer", 0, |o| {
        json!(super::cells::count_at(o, "/status/active"))
    }),
    col("Last Schedule", "string", 0, |o| {
        if o.pointer("/status/lastScheduleTime")
            .is_some_and(Value::is_string)
        {
            age_at(o, "/status/lastScheduleTime")
        } else {
            json!("<none>")
        }
    }),
    AGE,
    containers(|o| containers_and_images(o, "/spec/jobTemplate/spec/template/spec").0),
    images(|o| containers_and_images(o, "/spec/jobTemplate/spec/template/spec").1),
    col("Selector", "string", 1, |o| {
        json!(selector_text(o.pointer("/spec/jobTemplate/spec/selector")))
    }),
];

/// The CONTROLLER cell: `kind.group/name` of the controlling owner, `<none>` without one.
pub fn controller_of(o: &Value) -> String {
    let owner = o
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|refs| {
            refs.iter()
                .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        });
    let Some(owner) = owner else {
        return "<none>".to_owned();
    };
    let kind = owner
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = owner
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let api_version = owner
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    match (kind, group) {
        ("", _) => name.to_owned(),
        (kind, "") => format!("{}/{name}", kind.to_lowercase()),
        (kind, group) => format!("{}.{group}/{name}", kind.to_lowercase()),
    }
}

/// ControllerRevisions.
pub const CONTROLLER_REVISION: &[Column] = &[
    NAME,
    col("Controller", "string", 0, |o| json!(controller_of(o))),
    col("Revision", "string", 0, |o| json!(int_at(o, "/revision"))),
    AGE,
];

fn quantity(v: Option<&Value>) -> String {
    scalar_text(v).unwrap_or_else(|| "<unknown>".to_owned())
}

/// One metric of an HPA's TARGETS cell: `current/target`, with the resource name when there is one.
fn hpa_metric(spec: &Value, status: Option<&Value>) -> String {
    let kind = spec.get("type").and_then(Value::as_str).unwrap_or_default();
    let (field, named) = match kind {
        "Resource" => ("resource", true),
        "ContainerResource" => ("containerResource", true),
        "Pods" => ("pods", false),
        "Object" => ("object", false),
        "External" => ("external", false),
        _ => return "<unknown type>".to_owned(),
    };
    let target = spec.pointer(&format!("/{field}/target"));
    let current = status
        .and_then(|s| s.get(field))
        .and_then(|s| s.get("current"));
    let get = |v: Option<&Value>, key: &str| v.and_then(|v| v.get(key)).cloned();
    let text = if let Some(avg) = get(target, "averageValue") {
        let suffix = if matches!(kind, "Object" | "External") {
            " (avg)"
        } else {
            ""
        };
        format!(
            "{}/{}{suffix}",
            quantity(get(current, "averageValue").as_ref()),
            quantity(Some(&avg))
        )
    } else if matches!(kind, "Object" | "External") {
        format!(
            "{}/{}",
            quantity(get(current, "value").as_ref()),
            quantity(get(target, "value").as_ref())
        )
    } else {
        let current = get(current, "averageUtilization")
            .and_then(|v| v.as_i64())
            .map_or_else(|| "<unknown>".to_owned(), |u| format!("{u}%"));
        let target = get(target, "averageUtilization")
            .and_then(|v| v.as_i64())
            .map_or_else(|| "<auto>".to_owned(), |u| format!("{u}%"));
        format!("{current}/{target}")
    };
    if named {
        let name = spec
            .pointer(&format!("/{field}/name"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        format!("{name}: {text}")
    } else {
        text
    }
}

/// The TARGETS cell of an HPA: two metrics at most, then `+ N more...`.
pub fn hpa_targets(o: &Value) -> String {
    let specs = o
        .pointer("/spec/metrics")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if specs.is_empty() {
        return "<none>".to_owned();
    }
    let statuses = o
        .pointer("/status/currentMetrics")
        .and_then(Value::as_array);
    let list: Vec<String> = specs
        .iter()
        .enumerate()
        .take(2)
        .map(|(i, spec)| hpa_metric(spec, statuses.and_then(|s| s.get(i))))
        .collect();
    let text = list.join(", ");
    if specs.len() > 2 {
        format!("{text} + {} more...", specs.len() - 2)
    } else {
        text
    }
}

/// HorizontalPodAutoscalers.
pub const HORIZONTAL_POD_AUTOSCALER: &[Column] = &[
    NAME,
    col("Reference", "string", 0, |o| {
        json!(format!(
            "{}/{}",
            meta::str_at(o, "/spec/scaleTargetRef/kind"),
            meta::str_at(o, "/spec/scaleTargetRef/name")
        ))
    }),
    col("Targets", "string", 0, |o| json!(hpa_targets(o))),
    col("MinPods", "string", 0, |o| {
        json!(o
            .pointer("/spec/minReplicas")
            .and_then(Value::as_i64)
            .map_or_else(|| "<unset>".to_owned(), |n| n.to_string()))
    }),
    col("MaxPods", "string", 0, |o| {
        json!(int_at(o, "/spec/maxReplicas"))
    }),
    col("Replicas", "string", 0, |o| {
        json!(int_at(o, "/status/currentReplicas"))
    }),
    AGE,
];

fn int_or_string_or_na(o: &Value, pointer: &str) -> Value {
    json!(scalar_text(o.pointer(pointer)).unwrap_or_else(|| "N/A".to_owned()))
}

/// PodDisruptionBudgets.
pub const POD_DISRUPTION_BUDGET: &[Column] = &[
    NAME,
    col("Min Available", "string", 0, |o| {
        int_or_string_or_na(o, "/spec/minAvailable")
    }),
    col("Max Unavailable", "string", 0, |o| {
        int_or_string_or_na(o, "/spec/maxUnavailable")
    }),
    col("Allowed Disruptions", "integer", 0, |o| {
        json!(int_at(o, "/status/disruptionsAllowed"))
    }),
    AGE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_completions_count_successes_against_the_goal() {
        assert_eq!(
            job_completions(&json!({"spec": {"completions": 3}, "status": {"succeeded": 1}})),
            "1/3"
        );
        assert_eq!(
            job_completions(&json!({"spec": {"parallelism": 4}, "status": {}})),
            "0/1 of 4"
        );
        assert_eq!(job_completions(&json!({"spec": {}})), "0/1");
    }

    #[test]
    fn job_duration_runs_from_start_to_completion() {
        let done = json!({"status": {
            "startTime": "2024-01-01T00:00:00Z",
            "completionTime": "2024-01-01T00:03:05Z"
        }});
        assert_eq!(job_duration(&done), "3m5s");
        assert_eq!(job_duration(&json!({"status": {}})), "");
    }

    #[test]
    fn job_status_prefers_terminal_conditions() {
        let job = json!({"status": {"conditions": [
            {"type": "Suspended", "status": "True"},
            {"type": "Complete", "status": "True"}
        ]}});
        assert_eq!(job_status(&job), "Complete");
        let suspended =
            json!({"status": {"conditions": [{"type": "Suspended", "status": "True"}]}});
        assert_eq!(job_status(&suspended), "Suspended");
        assert_eq!(job_status(&json!({})), "Running");
    }

    #[test]
    fn controller_revisions_name_their_owner_with_group() {
        let rev = json!({"metadata": {"ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": true}
        ]}});
        assert_eq!(controller_of(&rev), "statefulset.apps/db");
        assert_eq!(controller_of(&json!({"metadata": {}})), "<none>");
    }

    #[test]
    fn hpa_targets_show_utilization_against_target() {
        let hpa = json!({
            "spec": {"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]},
            "status": {"currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 12}}}]}
        });
        assert_eq!(hpa_targets(&hpa), "cpu: 12%/50%");
        let unknown = json!({"spec": {"metrics": [{"type": "Resource", "resource": {"name": "memory", "target": {"averageUtilization": 80}}}]}});
        assert_eq!(hpa_targets(&unknown), "memory: <unknown>/80%");
    }
}
