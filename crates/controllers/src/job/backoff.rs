//! The delay before a Job replaces failed pods: a base delay doubling with each failure since
//! the last success, capped (upstream: 10 s up to 6 min), counted from the last failure.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// The delays of pod-failure back-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delays {
    /// The delay after the first failure.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Delays {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(10),
            max: Duration::from_secs(360),
        }
    }
}

impl Delays {
    /// The back-off after `failures` consecutive failures (none for zero).
    pub fn after(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let mut delay = self.base;
        for _ in 1..failures {
            delay = delay.saturating_mul(2);
            if delay >= self.max {
                return self.max;
            }
        }
        delay.min(self.max)
    }
}

/// What the controller remembers of one Job's failures (kept in memory, as upstream).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Record {
    /// Pod failures since the last success.
    pub failures_after_last_success: u32,
    /// When the last of them happened.
    pub last_failure: Option<Timestamp>,
}

impl Record {
    /// The record after the newly finished pods, given by their finish times.
    pub fn advance(self, mut succeeded: Vec<Timestamp>, mut failed: Vec<Timestamp>) -> Self {
        succeeded.sort();
        failed.sort();
        let Some(last_success) = succeeded.last() else {
            return match failed.last() {
                None => self,
                Some(last) => Self {
                    failures_after_last_success: self
                        .failures_after_last_success
                        .saturating_add(u32::try_from(failed.len()).unwrap_or(u32::MAX)),
                    last_failure: Some(*last),
                },
            };
        };
        let after: Vec<&Timestamp> = failed.iter().filter(|t| *t > last_success).collect();
        Self {
            failures_after_last_success: u32::try_from(after.len()).unwrap_or(u32::MAX),
            last_failure: after.last().map(|t| **t),
        }
    }

    /// How long pod creation still waits at `now` (zero when it may go ahead).
    pub fn remaining(&self, delays: &Delays, now: Timestamp) -> Duration {
        let Some(last) = self.last_failure else {
            return Duration::ZERO;
        };
        let backoff = delays.after(self.failures_after_last_success);
        let elapsed = now.duration_since(last);
        let elapsed = Duration::try_from(elapsed).unwrap_or(Duration::ZERO);
        backoff.saturating_sub(elapsed)
    }
}

/// When a pod finished: its containers' last termination, else the time its Ready condition
/// went false, else its deletion (minus the grace period), else its creation.
pub fn finished_at(pod: &Pod) -> Timestamp {
    let status = pod.status.as_ref();
    let containers = status.and_then(|s| s.container_statuses.as_deref());
    let from_containers = containers.filter(|c| !c.is_empty()).and_then(|statuses| {
        statuses
            .iter()
            .map(|c| {
                c.state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref())
                    .and_then(|t| t.finished_at.as_ref())
                    .map(|t| t.0)
            })
            .collect::<Option<Vec<_>>>()
            .and_then(|times| times.into_iter().max())
    });
    let from_ready = || {
        status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready" && c.status == "False"))
            .and_then(|c| c.last_transition_time.as_ref())
            .map(|t| t.0)
    };
    let from_deletion = || {
        let at = pod.metadata.deletion_timestamp.as_ref()?.0;
        let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(0);
        at.checked_sub(SignedDuration::from_secs(grace)).ok()
    };
    from_containers
        .or_else(from_ready)
        .or_else(from_deletion)
        .or_else(|| pod.metadata.creation_timestamp.as_ref().map(|t| t.0))
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    #[test]
    fn delays_double_from_the_base_up_to_the_cap() {
        let d = Delays::default();
        let got: Vec<u64> = (0..8).map(|n| d.after(n).as_secs()).collect();
        assert_eq!(got, vec![0, 10, 20, 40, 80, 160, 320, 360]);
        assert_eq!(d.after(500).as_secs(), 360);
    }

    #[test]
    fn failures_accumulate_until_a_success() {
        let r = Record::default().advance(vec![], vec![at(5), at(1)]);
        assert_eq!(r.failures_after_last_success, 2);
        assert_eq!(r.last_failure, Some(at(5)));
        let r = r.advance(vec![], vec![at(9)]);
        assert_eq!(r.failures_after_last_success, 3);
        let r = r.advance(vec![at(10)], vec![]);
        assert_eq!(r, Record::default());
    }

    #[test]
    fn only_failures_after_the_last_success_count() {
        let r = Record {
            failures_after_last_success: 4,
            last_failure: Some(at(0)),
        }
        .advance(vec![at(10)], vec![at(5), at(12), at(15)]);
        assert_eq!(r.failures_after_last_success, 2);
        assert_eq!(r.last_failure, Some(at(15)));
    }

    #[test]
    fn remaining_time_counts_from_the_last_failure() {
        let d = Delays::default();
        let r = Record {
            failures_after_last_success: 2,
            last_failure: Some(at(0)),
        };
        assert_eq!(r.remaining(&d, at(5)).as_secs(), 15);
        assert_eq!(r.remaining(&d, at(25)), Duration::ZERO);
        assert_eq!(Record::default().remaining(&d, at(0)), Duration::ZERO);
    }
}
