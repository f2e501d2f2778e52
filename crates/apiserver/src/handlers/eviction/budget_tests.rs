use serde_json::{json, Value};

use super::*;

const NOW: &str = "2026-01-01T00:00:00Z";

fn pod(phase: &str, ready: bool) -> Value {
    json!({
        "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}},
        "status": {"phase": phase, "conditions": [
            {"type": "Ready", "status": if ready { "True" } else { "False" }}
        ]},
    })
}

fn pdb(allowed: i64, current: i64, desired: i64) -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "shop", "generation": 1},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "minAvailable": desired},
        "status": {"observedGeneration": 1, "disruptionsAllowed": allowed,
            "currentHealthy": current, "desiredHealthy": desired, "expectedPods": current},
    })
}

fn causes(err: &ApiError) -> Vec<String> {
    match err {
        ApiError::TooManyRequests { causes, .. } => {
            causes.iter().map(|c| c.message.clone()).collect()
        }
        other => panic!("expected a 429, got {other:?}"),
    }
}

#[test]
fn finished_pending_and_terminating_pods_skip_the_budget() {
    assert!(can_ignore_budget(&pod("Succeeded", false)));
    assert!(can_ignore_budget(&pod("Failed", false)));
    assert!(can_ignore_budget(&pod("Pending", false)));
    assert!(!can_ignore_budget(&pod("Running", true)));
    let mut deleting = pod("Running", true);
    deleting["metadata"]["deletionTimestamp"] = json!(NOW);
    assert!(can_ignore_budget(&deleting));
    assert!(!should_pin_resource_version(&deleting));
    assert!(should_pin_resource_version(&pod("Pending", false)));
}

#[test]
fn budgets_select_pods_of_their_namespace_by_labels_and_empty_selects_all() {
    let p = pod("Running", true);
    assert!(selects(&pdb(1, 2, 1), &p));
    let mut other_ns = pdb(1, 2, 1);
    other_ns["metadata"]["namespace"] = json!("other");
    assert!(!selects(&other_ns, &p));
    let mut everything = pdb(1, 2, 1);
    everything["spec"]["selector"] = json!({});
    assert!(selects(&everything, &p));
    let mut none = pdb(1, 2, 1);
    none["spec"].as_object_mut().map(|s| s.remove("selector"));
    assert!(!selects(&none, &p));
}

#[test]
fn decrement_takes_one_disruption_and_records_the_pod() {
    let out = check_and_decrement(&pdb(2, 3, 1), "web-1", NOW, false).unwrap();
    assert_eq!(out["status"]["disruptionsAllowed"], 1);
    assert_eq!(out["status"]["disruptedPods"]["web-1"], NOW);
    assert!(out["status"].get("conditions").is_none());
}

#[test]
fn taking_the_last_disruption_sets_disruption_allowed_false() {
    let out = check_and_decrement(&pdb(1, 2, 1), "web-1", NOW, false).unwrap();
    assert_eq!(out["status"]["disruptionsAllowed"], 0);
    let condition = &out["status"]["conditions"][0];
    assert_eq!(condition["type"], "DisruptionAllowed");
    assert_eq!(condition["status"], "False");
    assert_eq!(condition["reason"], "InsufficientPods");
    assert_eq!(condition["lastTransitionTime"], NOW);
}

#[test]
fn dry_run_decrements_without_recording_the_pod() {
    let out = check_and_decrement(&pdb(2, 3, 1), "web-1", NOW, true).unwrap();
    assert_eq!(out["status"]["disruptionsAllowed"], 1);
    assert!(out["status"].get("disruptedPods").is_none());
}

#[test]
fn no_allowed_disruption_is_a_429_naming_the_budget_counts() {
    let err = check_and_decrement(&pdb(0, 1, 1), "web-1", NOW, false).unwrap_err();
    assert_eq!(err.code(), http::StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(err.to_string(), VIOLATES_BUDGET);
    assert_eq!(
        causes(&err),
        ["The disruption budget web needs 1 healthy pods and has 1 currently"]
    );
    let status = err.to_status();
    assert_eq!(status["reason"], "TooManyRequests");
    assert_eq!(status["details"]["causes"][0]["reason"], "DisruptionBudget");
}

#[test]
fn an_unprocessed_budget_generation_is_a_429_to_retry() {
    let mut stale = pdb(3, 3, 0);
    stale["metadata"]["generation"] = json!(2);
    let err = check_and_decrement(&stale, "web-1", NOW, false).unwrap_err();
    assert_eq!(
        causes(&err),
        ["The disruption budget web is still being processed by the server."]
    );
    assert_eq!(err.to_status()["details"]["retryAfterSeconds"], 10);
}

#[test]
fn a_negative_allowance_is_forbidden() {
    let err = check_and_decrement(&pdb(-1, 0, 1), "web-1", NOW, false).unwrap_err();
    assert_eq!(err.code(), http::StatusCode::FORBIDDEN);
}

#[test]
fn unready_pods_go_freely_only_while_the_budget_is_healthy_or_always_allowed() {
    let unready = pod("Running", false);
    assert!(unhealthy_may_go(&unready, &pdb(0, 2, 2)));
    assert!(!unhealthy_may_go(&unready, &pdb(0, 1, 2)));
    assert!(!unhealthy_may_go(&pod("Running", true), &pdb(0, 2, 2)));
    let mut always = pdb(0, 0, 2);
    always["spec"]["unhealthyPodEvictionPolicy"] = json!("AlwaysAllow");
    assert!(unhealthy_may_go(&unready, &always));
}

#[test]
fn the_disruption_target_condition_is_added_once() {
    let mut p = pod("Running", true);
    assert!(mark_disruption_target(&mut p, NOW));
    let conditions = p["status"]["conditions"].as_array().unwrap();
    let target = conditions
        .iter()
        .find(|c| c["type"] == "DisruptionTarget")
        .unwrap();
    assert_eq!(target["reason"], "EvictionByEvictionAPI");
    assert_eq!(target["status"], "True");
    assert!(!mark_disruption_target(&mut p, "2026-01-01T00:01:00Z"));
}
