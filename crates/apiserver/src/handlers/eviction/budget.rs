//! What an eviction decides, without I/O: which PodDisruptionBudgets guard a pod, whether the
//! pod may go without asking them, and a budget's verify-and-decrement (upstream's
//! `checkAndDecrement`).

use serde_json::{json, Value};

use crate::crd::status::set_condition;
use crate::error::{ApiError, Cause};
use crate::meta;
use crate::selectors::LabelSelector;

/// The most pods a budget's `status.disruptedPods` may list before evictions are refused: that
/// many approved evictions not yet seen by the disruption controller.
const MAX_DISRUPTED_PODS: usize = 2000;

/// The message of every eviction a budget refuses.
pub(crate) const VIOLATES_BUDGET: &str =
    "Cannot evict pod as it would violate the pod's disruption budget.";

/// Whether the pod's Ready condition is true.
pub(crate) fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn phase(pod: &Value) -> &str {
    meta::str_at(pod, "/status/phase")
}

/// Whether the pod can be deleted without asking its budget: it has finished, has not started
/// (Pending), or is already being deleted; either way no disruption is added.
pub(crate) fn can_ignore_budget(pod: &Value) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed" | "Pending") || meta::is_deleting(pod)
}

/// Whether the delete must be pinned to the resourceVersion read, so that a pod becoming
/// ready meanwhile is not evicted on stale grounds (not needed for finished or deleting pods).
pub(crate) fn should_pin_resource_version(pod: &Value) -> bool {
    !matches!(phase(pod), "Succeeded" | "Failed") && !meta::is_deleting(pod)
}

/// Whether `pdb` guards `pod`: same namespace and a selector matching the pod's labels. In
/// policy/v1 an empty selector selects every pod of the namespace and a missing one none.
pub(crate) fn selects(pdb: &Value, pod: &Value) -> bool {
    if meta::namespace(pdb) != meta::namespace(pod) {
        return false;
    }
    match pdb.pointer("/spec/selector").filter(|s| s.is_object()) {
        None => false,
        Some(selector) => LabelSelector::from_label_selector(selector).matches(meta::labels(pod)),
    }
}

fn status_int(pdb: &Value, field: &str) -> i64 {
    pdb.pointer(&format!("/status/{field}"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// Whether an unready pod may be deleted without using up the budget: always under the
/// `AlwaysAllow` unhealthy-pod policy, else (`IfHealthyBudget`, the default) only while the
/// budget has the healthy pods it wants.
pub(crate) fn unhealthy_may_go(pod: &Value, pdb: &Value) -> bool {
    if is_ready(pod) {
        return false;
    }
    if meta::str_at(pdb, "/spec/unhealthyPodEvictionPolicy") == "AlwaysAllow" {
        return true;
    }
    let desired = status_int(pdb, "desiredHealthy");
    status_int(pdb, "currentHealthy") >= desired && desired > 0
}

/// The 429 of a budget the disruption controller has not caught up with.
pub(crate) fn budget_pending(pdb_name: &str) -> ApiError {
    ApiError::TooManyRequests {
        message: VIOLATES_BUDGET.to_owned(),
        retry_after: 10,
        causes: vec![disruption_budget_cause(format!(
            "The disruption budget {pdb_name} is still being processed by the server."
        ))],
    }
}

fn disruption_budget_cause(message: String) -> Cause {
    Cause {
        reason: "DisruptionBudget",
        message,
        field: String::new(),
    }
}

fn forbidden(pdb_name: &str, why: &str) -> ApiError {
    ApiError::Forbidden(format!(
        "poddisruptionbudget.policy \"{pdb_name}\" is forbidden: {why}"
    ))
}

/// Verifies that `pdb` allows one more disruption and returns it with one fewer allowed and
/// `pod_name` recorded in `status.disruptedPods` at `now` (not recorded for a dry run).
///
/// # Errors
/// 429 when the budget allows no disruption or is not yet processed; 403 when its status is
/// inconsistent (negative allowance, too many unconfirmed disruptions).
pub(crate) fn check_and_decrement(
    pdb: &Value,
    pod_name: &str,
    now: &str,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let name = meta::name(pdb);
    let generation = pdb
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if status_int(pdb, "observedGeneration") < generation {
        return Err(budget_pending(name));
    }
    let allowed = status_int(pdb, "disruptionsAllowed");
    if allowed < 0 {
        return Err(forbidden(name, "pdb disruptions allowed is negative"));
    }
    let disrupted = pdb
        .pointer("/status/disruptedPods")
        .and_then(Value::as_object)
        .map_or(0, serde_json::Map::len);
    if disrupted > MAX_DISRUPTED_PODS {
        return Err(forbidden(
            name,
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
        ));
    }
    if allowed == 0 {
        return Err(ApiError::TooManyRequests {
            message: VIOLATES_BUDGET.to_owned(),
            retry_after: 0,
            causes: vec![disruption_budget_cause(format!(
                "The disruption budget {name} needs {} healthy pods and has {} currently",
                status_int(pdb, "desiredHealthy"),
                status_int(pdb, "currentHealthy")
            ))],
        });
    }
    let mut pdb = pdb.clone();
    if !pdb.get("status").is_some_and(Value::is_object) {
        pdb["status"] = json!({});
    }
    let status = &mut pdb["status"];
    status["disruptionsAllowed"] = json!(allowed - 1);
    if allowed == 1 {
        let observed = status
            .get("observedGeneration")
            .cloned()
            .unwrap_or(json!(0));
        let condition = json!({"type": "DisruptionAllowed", "status": "False",
            "reason": "InsufficientPods", "message": "", "observedGeneration": observed});
        set_condition(status, condition, now);
    }
    if !dry_run {
        if !status.get("disruptedPods").is_some_and(Value::is_object) {
            status["disruptedPods"] = json!({});
        }
        status["disruptedPods"][pod_name] = json!(now);
    }
    Ok(pdb)
}

/// Marks `pod` as about to be disrupted by an eviction (the `DisruptionTarget` condition);
/// `false` when it already was.
pub(crate) fn mark_disruption_target(pod: &mut Value, now: &str) -> bool {
    let before = pod.pointer("/status/conditions").cloned();
    if !pod.get("status").is_some_and(Value::is_object) {
        pod["status"] = json!({});
    }
    let condition = json!({"type": "DisruptionTarget", "status": "True",
        "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"});
    set_condition(&mut pod["status"], condition, now);
    pod.pointer("/status/conditions").cloned() != before
}

/// The answer when more than one budget guards the pod: upstream refuses with a 500 Status.
pub(crate) fn several_budgets_status() -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        "code": 500,
    })
}

/// The answer to an eviction that deleted (or began deleting) the pod.
pub(crate) fn evicted_status() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
}

#[cfg(test)]
#[path = "budget_tests.rs"]
mod tests;
