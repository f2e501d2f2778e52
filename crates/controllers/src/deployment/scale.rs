//! Scaling a Deployment outside a rollout, as upstream's `sync.go`: when `spec.replicas`
//! changes (or the Deployment is paused) the ReplicaSets are resized in proportion to their
//! sizes, so that a scale during a rolling update keeps its shape.

use std::cmp::Ordering;

use super::plan::Sync;
use super::util::{self, annotation, desired, max_surge, replicas, DESIRED_REPLICAS, MAX_REPLICAS};

impl Sync {
    /// Whether an active ReplicaSet was last sized for another `spec.replicas`.
    pub(super) fn is_scaling_event(&mut self) -> bool {
        self.sync_revision(false);
        let want = desired(&self.d).to_string();
        self.all()
            .iter()
            .map(|i| &self.rses[*i])
            .filter(|rs| util::is_active(rs))
            .any(|rs| annotation(rs, DESIRED_REPLICAS).is_some_and(|d| d != want))
    }

    /// Resizes the ReplicaSets, cleans up history when paused, and writes status.
    pub(super) fn sync_scale(&mut self) {
        self.sync_revision(false);
        self.scale_replica_sets();
        if self.d.spec.as_ref().and_then(|s| s.paused) == Some(true) {
            self.cleanup_history();
        }
        self.sync_status();
    }

    /// The only active ReplicaSet (or the newest when none is active), if there is one such.
    fn active_or_latest(&self) -> Option<usize> {
        let active: Vec<usize> = self
            .all()
            .into_iter()
            .filter(|i| util::is_active(&self.rses[*i]))
            .collect();
        match active.len() {
            0 => self.new.or_else(|| self.old().last().copied()),
            1 => Some(active[0]),
            _ => None,
        }
    }

    fn scale_replica_sets(&mut self) {
        let want = desired(&self.d);
        if let Some(i) = self.active_or_latest() {
            self.scale_if_needed(i, want);
            return;
        }
        if self.new.is_some_and(|n| self.is_saturated(n)) {
            for i in self.active_old() {
                self.scale_if_needed(i, 0);
            }
            return;
        }
        if util::is_rolling(&self.d) {
            self.scale_proportionally();
        }
    }

    /// Whether the new ReplicaSet has, wants and makes available every desired replica.
    fn is_saturated(&self, new: usize) -> bool {
        let rs = &self.rses[new];
        let want = desired(&self.d);
        replicas(rs) == want
            && annotation(rs, DESIRED_REPLICAS) == Some(want.to_string().as_str())
            && util::observed(rs).1 == want
    }

    /// Spreads the difference between the allowed and the current total over the active
    /// ReplicaSets in proportion to their size; the rounding leftover goes to the largest.
    fn scale_proportionally(&mut self) {
        let mut active: Vec<usize> = self
            .all()
            .into_iter()
            .filter(|i| util::is_active(&self.rses[*i]))
            .collect();
        let want = desired(&self.d);
        let allowed = if want > 0 {
            want + max_surge(&self.d)
        } else {
            0
        };
        let to_add = allowed - self.sum_replicas(&active);
        let newer_first = to_add > 0;
        active.sort_by(|a, b| {
            let (ra, rb) = (&self.rses[*a], &self.rses[*b]);
            replicas(rb).cmp(&replicas(ra)).then_with(|| {
                let by_age = util::by_creation(ra, rb);
                if newer_first {
                    by_age.reverse()
                } else {
                    by_age
                }
            })
        });
        let mut added = 0;
        let mut sizes: Vec<(usize, i32)> = Vec::new();
        for &i in &active {
            let part = self.proportion(i, to_add, added);
            sizes.push((i, replicas(&self.rses[i]) + part));
            added += part;
        }
        if let Some(first) = sizes.first_mut() {
            first.1 = (first.1 + to_add - added).max(0);
        }
        for (i, size) in sizes {
            self.scale(i, size);
        }
    }

    /// ReplicaSet `i`'s share of `to_add`, `added` of which is already handed out.
    fn proportion(&self, i: usize, to_add: i32, added: i32) -> i32 {
        let rs = &self.rses[i];
        if replicas(rs) == 0 || to_add == 0 || to_add == added {
            return 0;
        }
        let fraction = self.fraction(i);
        let left = to_add - added;
        match to_add.cmp(&0) {
            Ordering::Greater => fraction.min(left),
            _ => fraction.max(left),
        }
    }

    /// How much ReplicaSet `i` would grow or shrink if it kept its share of the pods.
    fn fraction(&self, i: usize) -> i32 {
        let rs = &self.rses[i];
        let want = desired(&self.d);
        if want == 0 {
            return -replicas(rs);
        }
        let total = want + max_surge(&self.d);
        let annotated = annotation(rs, MAX_REPLICAS)
            .and_then(|v| v.parse::<i32>().ok())
            .unwrap_or_else(|| {
                self.d
                    .status
                    .as_ref()
                    .map_or(0, |s| s.replicas.unwrap_or(0))
            });
        if annotated == 0 {
            return 0;
        }
        let size = f64::from(replicas(rs)) * f64::from(total) / f64::from(annotated);
        // Rounded to the nearest integer, as upstream's `integer.RoundToInt32`.
        size.round() as i32 - replicas(rs)
    }
}

#[cfg(test)]
#[path = "scale_tests.rs"]
mod tests;
