//! Expectations, as upstream's `ControllerExpectations`: a controller's in-memory record of the
//! pods it has created or deleted but not yet seen through its watch, so that a lagging cache
//! never makes it create or delete the same pods twice. A controller whose expectations are
//! pending only updates status; they clear as the watch catches up, or after a timeout (upstream:
//! five minutes) in case an event was lost.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// How long pending expectations hold before they are given up on.
pub const EXPECTATIONS_TIMEOUT: SignedDuration = SignedDuration::from_secs(300);

/// What one controller key waits to see.
#[derive(Debug, Default)]
struct Pending {
    /// UIDs of created pods not yet observed.
    creates: HashSet<String>,
    /// Creates issued whose answer has not come back yet.
    in_flight: usize,
    /// UIDs of deleted pods still present in the cache.
    deletes: HashSet<String>,
    /// When these expectations were raised.
    since: Option<Timestamp>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.creates.is_empty() && self.deletes.is_empty() && self.in_flight == 0
    }
}

/// Expectations of every object one controller manages, by `namespace/name` key.
#[derive(Debug, Default)]
pub struct Expectations {
    pending: Mutex<HashMap<String, Pending>>,
}

impl Expectations {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Pending>) -> T) -> T {
        f(&mut self.pending.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Records that `count` creates are about to be sent for `key`.
    pub fn expect_creates(&self, key: &str, count: usize, now: Timestamp) {
        self.with(|p| {
            let entry = p.entry(key.to_owned()).or_default();
            entry.since.get_or_insert(now);
            entry.in_flight += count;
        });
    }

    /// Records the answer to one create: the pod's UID when it was made, `None` when it failed.
    /// `seen` says whether the cache already holds that pod (its event beat the answer).
    pub fn created(&self, key: &str, uid: Option<&str>, seen: impl FnOnce(&str) -> bool) {
        self.with(|p| {
            if let Some(entry) = p.get_mut(key) {
                entry.in_flight = entry.in_flight.saturating_sub(1);
                if let Some(uid) = uid.filter(|uid| !seen(uid)) {
                    entry.creates.insert(uid.to_owned());
                }
            }
        });
    }

    /// Records that the pods with these UIDs are being deleted for `key`.
    pub fn expect_deletes<'a>(
        &self,
        key: &str,
        uids: impl IntoIterator<Item = &'a str>,
        now: Timestamp,
    ) {
        self.with(|p| {
            let entry = p.entry(key.to_owned()).or_default();
            entry.since.get_or_insert(now);
            entry.deletes.extend(uids.into_iter().map(str::to_owned));
        });
    }

    /// Records that a delete of `uid` failed, so it will not be observed.
    pub fn delete_failed(&self, key: &str, uid: &str) {
        self.with(|p| {
            if let Some(entry) = p.get_mut(key) {
                entry.deletes.remove(uid);
            }
        });
    }

    /// Records a pod event seen through the watch for the controller `key`.
    pub fn observe(&self, key: &str, uid: &str, terminating: bool) {
        self.with(|p| {
            if let Some(entry) = p.get_mut(key) {
                entry.creates.remove(uid);
                if terminating {
                    entry.deletes.remove(uid);
                }
            }
        });
    }

    /// Whether `key` may act on what its cache shows: nothing it wrote is still unseen, or its
    /// expectations have timed out. `live` says whether the cache still holds a pod (by UID)
    /// that is not being deleted; pods gone from it satisfy their delete expectations.
    pub fn satisfied(&self, key: &str, now: Timestamp, live: impl Fn(&str) -> bool) -> bool {
        self.with(|p| {
            let Some(entry) = p.get_mut(key) else {
                return true;
            };
            entry.deletes.retain(|uid| live(uid));
            let expired = entry
                .since
                .is_some_and(|since| now.duration_since(since) > EXPECTATIONS_TIMEOUT);
            if entry.is_empty() || expired {
                if expired {
                    tracing::info!(key, "expectations timed out; acting on the cache as it is");
                }
                p.remove(key);
                return true;
            }
            false
        })
    }

    /// [`Expectations::satisfied`] against `pods`, every cached pod of the controller's
    /// namespace.
    pub fn satisfied_by(&self, key: &str, now: Timestamp, pods: &[Pod]) -> bool {
        let live: HashSet<&str> = pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter_map(|p| p.metadata.uid.as_deref())
            .collect();
        self.satisfied(key, now, |uid| live.contains(uid))
    }

    /// Forgets `key` (its object was deleted).
    pub fn forget(&self, key: &str) {
        self.with(|p| p.remove(key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::UNIX_EPOCH + SignedDuration::from_secs(secs)
    }

    #[test]
    fn creates_hold_until_each_new_pod_is_observed() {
        let e = Expectations::default();
        e.expect_creates("ns/rs", 2, t(0));
        assert!(
            !e.satisfied("ns/rs", t(1), |_| true),
            "answers still in flight"
        );
        e.created("ns/rs", Some("a"), |_| false);
        e.created("ns/rs", Some("b"), |_| false);
        e.observe("ns/rs", "a", false);
        assert!(!e.satisfied("ns/rs", t(1), |_| true));
        e.observe("ns/rs", "b", false);
        assert!(e.satisfied("ns/rs", t(1), |_| true));
    }

    #[test]
    fn a_pod_seen_before_its_create_answer_is_not_waited_for() {
        let e = Expectations::default();
        e.expect_creates("ns/rs", 1, t(0));
        e.created("ns/rs", Some("a"), |uid| uid == "a");
        assert!(e.satisfied("ns/rs", t(0), |_| true));
    }

    #[test]
    fn failed_creates_are_not_waited_for() {
        let e = Expectations::default();
        e.expect_creates("ns/rs", 1, t(0));
        e.created("ns/rs", None, |_| false);
        assert!(e.satisfied("ns/rs", t(0), |_| true));
    }

    #[test]
    fn deletes_hold_until_the_pod_is_gone_or_terminating() {
        let e = Expectations::default();
        e.expect_deletes("ns/rs", ["a", "b"], t(0));
        assert!(!e.satisfied("ns/rs", t(1), |_| true));
        e.observe("ns/rs", "a", true);
        assert!(!e.satisfied("ns/rs", t(1), |uid| uid == "b"));
        assert!(e.satisfied("ns/rs", t(1), |_| false));
    }

    #[test]
    fn expectations_expire_after_five_minutes() {
        let e = Expectations::default();
        e.expect_creates("ns/rs", 3, t(0));
        assert!(!e.satisfied("ns/rs", t(300), |_| true));
        assert!(e.satisfied("ns/rs", t(301), |_| true));
    }

    #[test]
    fn unknown_keys_are_satisfied() {
        let e = Expectations::default();
        assert!(e.satisfied("ns/other", t(0), |_| true));
        e.expect_creates("ns/rs", 1, t(0));
        e.forget("ns/rs");
        assert!(e.satisfied("ns/rs", t(0), |_| true));
    }
}
