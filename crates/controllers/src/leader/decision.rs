//! The leader-election decision core, without I/O: given what we last observed of the Lease,
//! our identity and the time, decide whether to create, acquire, renew, or wait. The same rules
//! as client-go's `LeaderElector.tryAcquireOrRenew`, including its skew-tolerant expiry: a lease
//! expires `leaseDurationSeconds` after *we* first saw its current record, not after the
//! holder's (possibly skewed) `renewTime`.

use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// Timings of leader election; the defaults are upstream's (15 s / 10 s / 2 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElectionConfig {
    /// How long a lease holds without renewal.
    pub lease_duration: Duration,
    /// How long a leader keeps acting after its last successful renewal.
    pub renew_deadline: Duration,
    /// How often candidates try to acquire and leaders renew.
    pub retry_period: Duration,
}

impl Default for ElectionConfig {
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// The fields of a Lease's spec that leader election reads and writes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaseRecord {
    /// Who holds the lease; `None` when nobody does.
    pub holder: Option<String>,
    /// How long the lease holds without renewal, in seconds.
    pub lease_duration_seconds: Option<i32>,
    /// When the current holder acquired it.
    pub acquire_time: Option<Timestamp>,
    /// When the current holder last renewed it.
    pub renew_time: Option<Timestamp>,
    /// How many times the lease changed hands.
    pub transitions: i32,
}

/// A lease record and when we first saw it in that state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The record.
    pub record: LeaseRecord,
    /// When we first observed this exact record.
    pub at: Timestamp,
}

/// Folds the record just read into what we had observed: the observation time only moves
/// when the record changed.
pub fn observe(previous: Option<&Observed>, current: LeaseRecord, now: Timestamp) -> Observed {
    match previous {
        Some(prev) if prev.record == current => prev.clone(),
        _ => Observed {
            record: current,
            at: now,
        },
    }
}

/// What to do with the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No lease exists: create it, held by us.
    Create(LeaseRecord),
    /// The lease is free or expired: take it over.
    Acquire(LeaseRecord),
    /// We hold the lease: renew it.
    Renew(LeaseRecord),
    /// Another candidate holds a live lease.
    Wait {
        /// The current holder.
        holder: String,
        /// When to try again.
        retry_after: Duration,
    },
}

/// Decides, for `identity` at `now`, what to do about the lease last observed as `lease`
/// (`None` when it does not exist).
pub fn decide(
    lease: Option<&Observed>,
    identity: &str,
    now: Timestamp,
    config: &ElectionConfig,
) -> Decision {
    let duration_seconds = i32::try_from(config.lease_duration.as_secs()).unwrap_or(i32::MAX);
    let held_by_us = |acquire_time: Timestamp, transitions: i32| LeaseRecord {
        holder: Some(identity.to_owned()),
        lease_duration_seconds: Some(duration_seconds),
        acquire_time: Some(acquire_time),
        renew_time: Some(now),
        transitions,
    };
    let Some(observed) = lease else {
        return Decision::Create(held_by_us(now, 0));
    };
    let record = &observed.record;
    match record.holder.as_deref() {
        Some(holder) if holder == identity => Decision::Renew(held_by_us(
            record.acquire_time.unwrap_or(now),
            record.transitions,
        )),
        Some(holder) if !expired(observed, now, config) => Decision::Wait {
            holder: holder.to_owned(),
            retry_after: config.retry_period,
        },
        _ => Decision::Acquire(held_by_us(now, record.transitions.saturating_add(1))),
    }
}

/// Whether the observed lease has run out at `now`.
fn expired(observed: &Observed, now: Timestamp, config: &ElectionConfig) -> bool {
    let seconds = observed
        .record
        .lease_duration_seconds
        .filter(|s| *s > 0)
        .map_or(config.lease_duration.as_secs(), |s| s.unsigned_abs().into());
    now.duration_since(observed.at)
        >= SignedDuration::from_secs(seconds.try_into().unwrap_or(i64::MAX))
}

/// Whether a leader whose last successful renewal was at `renewed` may still act at `now`.
pub fn still_leading(renewed: Timestamp, now: Timestamp, config: &ElectionConfig) -> bool {
    let deadline = SignedDuration::try_from(config.renew_deadline).unwrap_or(SignedDuration::MAX);
    now.duration_since(renewed) < deadline
}

/// The record a leader writes when it steps down, so others need not wait for expiry:
/// no holder, a one-second duration, the transition count kept (as client-go's release).
pub fn released(record: &LeaseRecord, now: Timestamp) -> LeaseRecord {
    LeaseRecord {
        holder: None,
        lease_duration_seconds: Some(1),
        acquire_time: Some(now),
        renew_time: Some(now),
        transitions: record.transitions,
    }
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
