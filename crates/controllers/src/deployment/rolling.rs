//! The two rollout strategies, as upstream's `rolling.go` and `recreate.go`: RollingUpdate
//! moves pods from old ReplicaSets to the new one without ever asking for more than
//! `replicas + maxSurge` pods nor leaving fewer than `replicas - maxUnavailable` available;
//! Recreate removes every old pod before the new ReplicaSet is scaled up.

use k8s_openapi::api::core::v1::Pod;

use super::plan::{Sync, Write};
use super::util::{self, desired, max_surge, max_unavailable, observed, replicas};
use crate::workload::pod::controller_of;

impl Sync {
    /// How many replicas the new ReplicaSet `new` should have now.
    pub(super) fn new_rs_new_replicas(&self, new: usize) -> i32 {
        let want = desired(&self.d);
        if !util::is_rolling(&self.d) {
            return want;
        }
        let current: i32 = self.rses.iter().map(replicas).sum();
        let have = replicas(&self.rses[new]);
        let max_total = want + max_surge(&self.d);
        if current >= max_total {
            return have;
        }
        have + (max_total - current).min(want - have).max(0)
    }

    /// One step of a rolling update.
    pub(super) fn rollout_rolling(&mut self) {
        self.sync_revision(true);
        if self.reconcile_new() || self.reconcile_old() {
            self.sync_rollout_status();
            return;
        }
        if self.is_complete() {
            self.cleanup_history();
        }
        self.sync_rollout_status();
    }

    /// Scales the new ReplicaSet towards the desired count within the surge budget.
    fn reconcile_new(&mut self) -> bool {
        let Some(new) = self.new else {
            return false;
        };
        let want = desired(&self.d);
        let have = replicas(&self.rses[new]);
        if have == want {
            return false;
        }
        let to = if have > want {
            want
        } else {
            self.new_rs_new_replicas(new)
        };
        self.scale_if_needed(new, to)
    }

    /// Scales old ReplicaSets down within the unavailability budget: their unhealthy pods
    /// first, then healthy ones.
    fn reconcile_old(&mut self) -> bool {
        let old = self.active_old();
        if self.sum_replicas(&old) == 0 {
            return false;
        }
        let all_pods = self.sum_replicas(&self.all());
        let min_available = desired(&self.d) - max_unavailable(&self.d);
        let new_unavailable = self.new.map_or(0, |n| {
            let rs = &self.rses[n];
            replicas(rs) - observed(rs).1
        });
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return false;
        }
        let cleaned = self.cleanup_unhealthy(&old, max_scaled_down);
        let scaled = self.scale_down_old(&old);
        cleaned + scaled > 0
    }

    /// Scales old ReplicaSets down by their unavailable pods, at most `limit` in all.
    fn cleanup_unhealthy(&mut self, old: &[usize], limit: i32) -> i32 {
        let mut total = 0;
        for &i in old {
            if total >= limit {
                break;
            }
            let have = replicas(&self.rses[i]);
            let available = observed(&self.rses[i]).1;
            if have == 0 || have == available {
                continue;
            }
            let down = (limit - total).min(have - available);
            self.scale_if_needed(i, have - down);
            total += down;
        }
        total
    }

    /// Scales old ReplicaSets down, oldest first, while more than the minimum is available.
    fn scale_down_old(&mut self, old: &[usize]) -> i32 {
        let min_available = desired(&self.d) - max_unavailable(&self.d);
        let available: i32 = self.all().iter().map(|i| observed(&self.rses[*i]).1).sum();
        if available <= min_available {
            return 0;
        }
        let budget = available - min_available;
        let mut total = 0;
        for &i in old {
            if total >= budget {
                break;
            }
            let have = replicas(&self.rses[i]);
            if have == 0 {
                continue;
            }
            let down = have.min(budget - total);
            self.scale_if_needed(i, have - down);
            total += down;
        }
        total
    }

    /// One step of a Recreate rollout.
    pub(super) fn rollout_recreate(&mut self, pods: &[Pod]) {
        self.sync_revision(false);
        let mut scaled = false;
        for i in self.active_old() {
            scaled |= self.scale_if_needed(i, 0);
        }
        if scaled || self.old_pods_running(pods) {
            self.sync_rollout_status();
            return;
        }
        if self.new.is_none() {
            self.sync_revision(true);
        }
        if let Some(new) = self.new {
            self.scale_if_needed(new, desired(&self.d));
        }
        if self.is_complete() {
            self.cleanup_history();
        }
        self.sync_rollout_status();
    }

    /// Whether any pod of an old ReplicaSet may still run (Unknown counts as running).
    fn old_pods_running(&self, pods: &[Pod]) -> bool {
        let old = self.old();
        if old.iter().any(|i| observed(&self.rses[*i]).0 > 0) {
            return true;
        }
        let old_uids: Vec<&str> = old
            .iter()
            .filter_map(|i| self.rses[*i].metadata.uid.as_deref())
            .collect();
        pods.iter().any(|pod| {
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            let owned =
                controller_of(&pod.metadata).is_some_and(|r| old_uids.contains(&r.uid.as_str()));
            owned && !matches!(phase, Some("Succeeded" | "Failed"))
        })
    }

    /// Deletes the oldest fully scaled-down old ReplicaSets beyond `revisionHistoryLimit`.
    pub(super) fn cleanup_history(&mut self) {
        let Some(limit) = self.d.spec.as_ref().and_then(|s| s.revision_history_limit) else {
            return;
        };
        let mut old: Vec<usize> = self
            .old()
            .into_iter()
            .filter(|i| self.rses[*i].metadata.deletion_timestamp.is_none())
            .collect();
        let excess = old
            .len()
            .saturating_sub(usize::try_from(limit).unwrap_or(0));
        old.sort_by(|a, b| util::by_revision(&self.rses[*a], &self.rses[*b]));
        for &i in old.iter().take(excess) {
            let rs = &self.rses[i];
            let observed_generation = rs
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .unwrap_or(0);
            let settled = observed(rs).0 == 0
                && replicas(rs) == 0
                && rs.metadata.generation.unwrap_or(0) <= observed_generation;
            if settled {
                self.plan
                    .writes
                    .push((Write::Delete(rs.clone()), Vec::new()));
            }
        }
    }
}

#[cfg(test)]
#[path = "rolling_tests.rs"]
mod tests;
