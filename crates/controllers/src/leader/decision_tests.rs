#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::*;
use crate::clock::{Clock, FakeClock};

fn clock() -> FakeClock {
    FakeClock::new(Timestamp::from_second(1_700_000_000).unwrap())
}

fn secs(n: i64) -> SignedDuration {
    SignedDuration::from_secs(n)
}

fn held_by(holder: &str, at: Timestamp) -> LeaseRecord {
    LeaseRecord {
        holder: Some(holder.to_owned()),
        lease_duration_seconds: Some(15),
        acquire_time: Some(at),
        renew_time: Some(at),
        transitions: 3,
    }
}

#[test]
fn missing_lease_is_created_held_by_us_with_upstream_duration() {
    let clock = clock();
    let decision = decide(None, "me", clock.now(), &ElectionConfig::default());
    let Decision::Create(record) = decision else {
        panic!("expected Create, got {decision:?}");
    };
    assert_eq!(record.holder.as_deref(), Some("me"));
    assert_eq!(record.lease_duration_seconds, Some(15));
    assert_eq!(record.acquire_time, Some(clock.now()));
    assert_eq!(record.renew_time, Some(clock.now()));
    assert_eq!(record.transitions, 0);
}

#[test]
fn our_own_lease_is_renewed_keeping_acquire_time_and_transitions() {
    let clock = clock();
    let acquired = clock.now();
    let observed = observe(None, held_by("me", acquired), clock.now());
    clock.advance(secs(2));
    let decision = decide(
        Some(&observed),
        "me",
        clock.now(),
        &ElectionConfig::default(),
    );
    assert_eq!(
        decision,
        Decision::Renew(LeaseRecord {
            renew_time: Some(clock.now()),
            ..held_by("me", acquired)
        })
    );
}

#[test]
fn live_lease_of_another_holder_makes_us_wait_a_retry_period() {
    let clock = clock();
    let observed = observe(None, held_by("other", clock.now()), clock.now());
    clock.advance(secs(14));
    let decision = decide(
        Some(&observed),
        "me",
        clock.now(),
        &ElectionConfig::default(),
    );
    assert_eq!(
        decision,
        Decision::Wait {
            holder: "other".to_owned(),
            retry_after: Duration::from_secs(2)
        }
    );
}

#[test]
fn lease_unchanged_for_its_duration_is_acquired_with_one_more_transition() {
    let clock = clock();
    let record = held_by("other", clock.now());
    let first = observe(None, record.clone(), clock.now());
    clock.advance(secs(15));
    let again = observe(Some(&first), record, clock.now());
    assert_eq!(
        again.at, first.at,
        "an unchanged record keeps its observation time"
    );
    let Decision::Acquire(taken) =
        decide(Some(&again), "me", clock.now(), &ElectionConfig::default())
    else {
        panic!("expected Acquire");
    };
    assert_eq!(taken.holder.as_deref(), Some("me"));
    assert_eq!(taken.transitions, 4);
    assert_eq!(taken.acquire_time, Some(clock.now()));
}

#[test]
fn expiry_counts_from_our_observation_not_the_holders_skewed_renew_time() {
    let clock = clock();
    // The holder's clock runs an hour behind ours: its renewTime looks long expired.
    let skewed = held_by("other", clock.now().checked_sub(secs(3600)).unwrap());
    let observed = observe(None, skewed, clock.now());
    clock.advance(secs(5));
    assert!(matches!(
        decide(
            Some(&observed),
            "me",
            clock.now(),
            &ElectionConfig::default()
        ),
        Decision::Wait { .. }
    ));
}

#[test]
fn renewed_record_resets_the_observation_time() {
    let clock = clock();
    let first = observe(None, held_by("other", clock.now()), clock.now());
    clock.advance(secs(10));
    let renewed = LeaseRecord {
        renew_time: Some(clock.now()),
        ..first.record.clone()
    };
    let second = observe(Some(&first), renewed, clock.now());
    assert_eq!(second.at, clock.now());
    clock.advance(secs(10));
    assert!(matches!(
        decide(Some(&second), "me", clock.now(), &ElectionConfig::default()),
        Decision::Wait { .. }
    ));
}

#[test]
fn released_lease_is_acquired_at_once() {
    let clock = clock();
    let gone = released(&held_by("other", clock.now()), clock.now());
    assert_eq!(gone.holder, None);
    assert_eq!(gone.lease_duration_seconds, Some(1));
    let observed = observe(None, gone, clock.now());
    let Decision::Acquire(taken) = decide(
        Some(&observed),
        "me",
        clock.now(),
        &ElectionConfig::default(),
    ) else {
        panic!("expected Acquire");
    };
    assert_eq!(taken.transitions, 4);
}

#[test]
fn leader_keeps_acting_until_the_renew_deadline_passes() {
    let clock = clock();
    let renewed = clock.now();
    let config = ElectionConfig::default();
    clock.advance(secs(9));
    assert!(still_leading(renewed, clock.now(), &config));
    clock.advance(secs(1));
    assert!(!still_leading(renewed, clock.now(), &config));
}
