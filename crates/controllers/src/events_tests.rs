use std::sync::Arc;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::{Correlator, EventType, Write};
use crate::clock::FakeClock;

fn pod(name: &str) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".to_owned()),
        kind: Some("Pod".to_owned()),
        name: Some(name.to_owned()),
        namespace: Some("shop".to_owned()),
        uid: Some(format!("uid-{name}")),
        ..ObjectReference::default()
    }
}

fn correlator() -> (Arc<FakeClock>, Correlator) {
    let clock = Arc::new(FakeClock::new(Timestamp::UNIX_EPOCH));
    let correlator = Correlator::new("default-scheduler", "host-a", clock.clone());
    (clock, correlator)
}

#[test]
fn first_occurrence_creates_an_event_about_the_object() {
    let (_, correlator) = correlator();
    let Some(Write::Create(event)) =
        correlator.plan(&pod("web"), EventType::Warning, "Failed", "no")
    else {
        panic!("expected a new event");
    };
    assert_eq!(event.metadata.namespace.as_deref(), Some("shop"));
    assert!(event
        .metadata
        .name
        .as_deref()
        .unwrap_or("")
        .starts_with("web."));
    assert_eq!(event.involved_object.name.as_deref(), Some("web"));
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    assert_eq!(event.count, Some(1));
    let source = event.source.unwrap_or_default();
    assert_eq!(source.component.as_deref(), Some("default-scheduler"));
    assert_eq!(event.reporting_instance.as_deref(), Some("host-a"));
}

#[test]
fn repeat_within_the_window_bumps_the_count_of_the_same_event() {
    let (clock, correlator) = correlator();
    let Some(Write::Create(first)) =
        correlator.plan(&pod("web"), EventType::Normal, "Pulled", "ok")
    else {
        panic!("expected a new event");
    };
    clock.advance(SignedDuration::from_secs(30));
    let second = correlator.plan(&pod("web"), EventType::Normal, "Pulled", "ok");
    assert_eq!(
        second,
        Some(Write::Bump {
            name: first.metadata.name.clone().unwrap_or_default(),
            namespace: "shop".to_owned(),
            count: 2,
            at: Timestamp::UNIX_EPOCH + SignedDuration::from_secs(30),
            message: "ok".to_owned(),
        })
    );
}

#[test]
fn different_message_or_object_makes_a_new_event() {
    let (_, correlator) = correlator();
    correlator.plan(&pod("web"), EventType::Normal, "Pulled", "ok");
    let other_message = correlator.plan(&pod("web"), EventType::Normal, "Pulled", "again");
    let other_object = correlator.plan(&pod("db"), EventType::Normal, "Pulled", "ok");
    assert!(matches!(other_message, Some(Write::Create(_))));
    assert!(matches!(other_object, Some(Write::Create(_))));
}

#[test]
fn repeat_after_the_window_starts_a_new_event() {
    let (clock, correlator) = correlator();
    correlator.plan(&pod("web"), EventType::Normal, "Pulled", "ok");
    clock.advance(SignedDuration::from_secs(601));
    let later = correlator.plan(&pod("web"), EventType::Normal, "Pulled", "ok");
    assert!(matches!(later, Some(Write::Create(_))));
}

#[test]
fn events_about_cluster_scoped_objects_go_to_default() {
    let (_, correlator) = correlator();
    let node = ObjectReference {
        kind: Some("Node".to_owned()),
        name: Some("sim-0".to_owned()),
        ..ObjectReference::default()
    };
    let Some(Write::Create(event)) = correlator.plan(&node, EventType::Normal, "Ready", "up")
    else {
        panic!("expected a new event");
    };
    assert_eq!(event.metadata.namespace.as_deref(), Some("default"));
}

fn replica_set() -> ObjectReference {
    ObjectReference {
        api_version: Some("apps/v1".to_owned()),
        kind: Some("ReplicaSet".to_owned()),
        name: Some("web-5d8f".to_owned()),
        namespace: Some("shop".to_owned()),
        uid: Some("uid-rs".to_owned()),
        ..ObjectReference::default()
    }
}

fn created(correlator: &Correlator, pod: usize) -> Option<Write> {
    correlator.plan(
        &replica_set(),
        EventType::Normal,
        "SuccessfulCreate",
        &format!("Created pod: web-{pod}"),
    )
}

#[test]
fn the_tenth_similar_event_starts_one_combined_event_that_later_ones_bump() {
    let (_, correlator) = correlator();
    for pod in 0..9 {
        assert!(matches!(created(&correlator, pod), Some(Write::Create(_))));
    }
    let Some(Write::Create(combined)) = created(&correlator, 9) else {
        panic!("expected the combined event");
    };
    assert_eq!(
        combined.message.as_deref(),
        Some("(combined from similar events): Created pod: web-9")
    );
    let Some(Write::Bump {
        name,
        count,
        message,
        ..
    }) = created(&correlator, 10)
    else {
        panic!("expected a bump of the combined event");
    };
    assert_eq!(Some(name), combined.metadata.name);
    assert_eq!(count, 2);
    assert_eq!(
        message,
        "(combined from similar events): Created pod: web-10"
    );
}

#[test]
fn one_object_gets_at_most_25_writes_then_one_per_five_minutes() {
    let (clock, correlator) = correlator();
    let written = (0..1000)
        .filter(|pod| created(&correlator, *pod).is_some())
        .count();
    assert_eq!(written, 25);
    clock.advance(SignedDuration::from_secs(299));
    assert_eq!(created(&correlator, 1000), None);
    clock.advance(SignedDuration::from_secs(1));
    let Some(Write::Bump { count, .. }) = created(&correlator, 1001) else {
        panic!("expected the refilled budget to bump the combined event");
    };
    // Every occurrence since the combined event was created is counted, dropped ones too.
    assert_eq!(count, 1002 - 9);
}

#[test]
fn the_spam_budget_is_per_object() {
    let (_, correlator) = correlator();
    for _ in 0..30 {
        created(&correlator, 0);
    }
    let other = correlator.plan(&pod("web"), EventType::Normal, "Pulled", "ok");
    assert!(matches!(other, Some(Write::Create(_))));
}
