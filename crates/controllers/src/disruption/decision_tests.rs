#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::*;

fn at(secs: i64) -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_secs(secs)
}

fn pod(name: &str, ready: bool) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        status: Some(PodStatus {
            conditions: Some(vec![PodCondition {
                type_: "Ready".to_owned(),
                status: if ready { "True" } else { "False" }.to_owned(),
                ..PodCondition::default()
            }]),
            ..PodStatus::default()
        }),
        ..Pod::default()
    }
}

fn pdb(min: Option<IntOrString>, max: Option<IntOrString>) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: ObjectMeta {
            name: Some("web".to_owned()),
            generation: Some(3),
            ..ObjectMeta::default()
        },
        spec: Some(PodDisruptionBudgetSpec {
            min_available: min,
            max_unavailable: max,
            ..PodDisruptionBudgetSpec::default()
        }),
        status: None,
    }
}

#[test]
fn integer_min_available_expects_the_selected_pods() {
    let budget = pdb(Some(IntOrString::Int(2)), None);
    assert!(!needs_scale(&budget));
    assert_eq!(
        counts(&budget, 3, 0),
        Counts {
            expected: 3,
            desired_healthy: 2
        }
    );
}

#[test]
fn max_unavailable_and_percentages_count_against_the_controllers_scale() {
    let max = pdb(None, Some(IntOrString::String("30%".to_owned())));
    assert!(needs_scale(&max));
    // 30% of 5 rounds up to 2 unavailable.
    assert_eq!(
        counts(&max, 4, 5),
        Counts {
            expected: 5,
            desired_healthy: 3
        }
    );
    let min = pdb(Some(IntOrString::String("50%".to_owned())), None);
    assert!(needs_scale(&min));
    assert_eq!(
        counts(&min, 1, 3),
        Counts {
            expected: 3,
            desired_healthy: 2
        }
    );
}

#[test]
fn status_allows_the_healthy_pods_above_the_desired() {
    let budget = pdb(Some(IntOrString::Int(1)), None);
    let pods = [pod("a", true), pod("b", true), pod("c", false)];
    let refs: Vec<&Pod> = pods.iter().collect();
    let (status, recheck, _) = status(&budget, &refs, counts(&budget, 3, 0), at(0));
    assert_eq!(status.current_healthy, 2);
    assert_eq!(status.desired_healthy, 1);
    assert_eq!(status.expected_pods, 3);
    assert_eq!(status.disruptions_allowed, 1);
    assert_eq!(status.observed_generation, Some(3));
    assert_eq!(recheck, None);
    let condition = &status.conditions.unwrap()[0];
    assert_eq!(
        (condition.status.as_str(), condition.reason.as_str()),
        ("True", "SufficientPods")
    );
}

#[test]
fn no_expected_pods_allow_no_disruption() {
    let budget = pdb(None, None);
    let (status, _, _) = status(&budget, &[], counts(&budget, 0, 0), at(0));
    assert_eq!(status.disruptions_allowed, 0);
    assert_eq!(status.conditions.unwrap()[0].reason, "InsufficientPods");
}

#[test]
fn just_evicted_pods_do_not_count_until_overdue() {
    let mut budget = pdb(Some(IntOrString::Int(1)), None);
    budget.status = Some(PodDisruptionBudgetStatus {
        disrupted_pods: Some(BTreeMap::from([
            ("a".to_owned(), Time(at(100))),
            ("gone".to_owned(), Time(at(100))),
        ])),
        ..PodDisruptionBudgetStatus::default()
    });
    let pods = [pod("a", true), pod("b", true)];
    let refs: Vec<&Pod> = pods.iter().collect();
    let (fresh, recheck, overdue) = status(&budget, &refs, counts(&budget, 2, 0), at(110));
    assert_eq!(fresh.current_healthy, 1);
    assert_eq!(fresh.disruptions_allowed, 0);
    assert_eq!(
        fresh.disrupted_pods.unwrap().keys().collect::<Vec<_>>(),
        ["a"]
    );
    assert_eq!(recheck, Some(at(220)));
    assert!(overdue.is_empty());
    let (late, _, overdue) = status(&budget, &refs, counts(&budget, 2, 0), at(221));
    assert_eq!(late.current_healthy, 2);
    assert_eq!(late.disrupted_pods, None);
    assert_eq!(overdue, ["a"]);
}

#[test]
fn the_condition_keeps_its_transition_time_while_its_status_holds() {
    let budget = pdb(Some(IntOrString::Int(0)), None);
    let pods = [pod("a", true)];
    let refs: Vec<&Pod> = pods.iter().collect();
    let (first, _, _) = status(&budget, &refs, counts(&budget, 1, 0), at(1));
    let mut again = budget.clone();
    again.status = Some(first);
    let (second, _, _) = status(&again, &refs, counts(&again, 1, 0), at(9));
    assert_eq!(
        second.conditions.unwrap()[0].last_transition_time,
        Time(at(1))
    );
}

#[test]
fn a_failed_sync_allows_nothing_and_says_why() {
    let budget = pdb(None, Some(IntOrString::Int(1)));
    let status = fail_safe(&budget, "found no controllers for pod \"a\"", at(0));
    assert_eq!(status.disruptions_allowed, 0);
    let condition = &status.conditions.unwrap()[0];
    assert_eq!(condition.reason, "SyncFailed");
    assert_eq!(condition.message, "found no controllers for pod \"a\"");
}
