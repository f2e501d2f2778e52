//! The scheduling queue, as upstream's: an active queue ordered by the QueueSort plugin (then
//! arrival), a backoff queue pods wait in after a failed attempt (1 s doubling to 10 s), and
//! the unschedulable pods, moved back when the cluster changes or after at most 5 minutes.
//!
//! Pure: time is passed in, and the runtime sleeps until [`SchedulingQueue::next_wakeup`].

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::framework::QueueSort;
use crate::pod_info::PodInfo;

/// Queue timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// Backoff after the first failed attempt.
    pub initial_backoff: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
    /// The longest a pod stays unschedulable without being retried.
    pub max_unschedulable: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            max_unschedulable: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Active,
    Backoff,
    Unschedulable(Instant),
    InFlight { events_seen: u64 },
}

struct Entry {
    info: Arc<PodInfo>,
    attempts: u32,
    seq: u64,
    place: Place,
    backoff_until: Instant,
}

/// Pods waiting to be scheduled.
pub struct SchedulingQueue {
    config: QueueConfig,
    sort: Arc<dyn QueueSort>,
    pods: HashMap<String, Entry>,
    active: BinaryHeap<(i64, Reverse<u64>, String)>,
    backoff: BinaryHeap<Reverse<(Instant, u64, String)>>,
    /// The unschedulable pods by (since, seq), oldest first.
    unschedulable: BTreeMap<(Instant, u64), String>,
    next_seq: u64,
    events: u64,
}

impl SchedulingQueue {
    /// An empty queue ordered by `sort`.
    pub fn new(config: QueueConfig, sort: Arc<dyn QueueSort>) -> Self {
        Self {
            config,
            sort,
            pods: HashMap::new(),
            active: BinaryHeap::new(),
            backoff: BinaryHeap::new(),
            unschedulable: BTreeMap::new(),
            next_seq: 0,
            events: 0,
        }
    }

    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// Drops `key` from the unschedulable index if it is there.
    fn leave_unschedulable(&mut self, key: &str) {
        if let Some(e) = self.pods.get(key) {
            if let Place::Unschedulable(since) = e.place {
                self.unschedulable.remove(&(since, e.seq));
            }
        }
    }

    fn activate(&mut self, key: &str) {
        self.leave_unschedulable(key);
        let seq = self.seq();
        if let Some(e) = self.pods.get_mut(key) {
            e.place = Place::Active;
            e.seq = seq;
            self.active
                .push((self.sort.rank(&e.info), Reverse(seq), key.to_owned()));
        }
    }

    fn send_to_backoff(&mut self, key: &str) {
        self.leave_unschedulable(key);
        let seq = self.seq();
        if let Some(e) = self.pods.get_mut(key) {
            e.place = Place::Backoff;
            e.seq = seq;
            self.backoff
                .push(Reverse((e.backoff_until, seq, key.to_owned())));
        }
    }

    /// Adds a new pending pod, or updates a queued one (an unschedulable pod is retried).
    pub fn add(&mut self, info: Arc<PodInfo>, now: Instant) {
        let key = info.key.clone();
        if let Some(e) = self.pods.get_mut(&key) {
            e.info = info;
            if matches!(e.place, Place::Unschedulable(_)) {
                self.requeue_after_event(&key, now);
            }
            return;
        }
        self.pods.insert(
            key.clone(),
            Entry {
                info,
                attempts: 0,
                seq: 0,
                place: Place::Active,
                backoff_until: now,
            },
        );
        self.activate(&key);
    }

    /// Forgets a pod (deleted, or bound by someone else).
    pub fn delete(&mut self, key: &str) {
        self.leave_unschedulable(key);
        self.pods.remove(key);
    }

    /// Moves due backoff pods and long-unschedulable pods to the active queue, then pops the
    /// pod to schedule next; it is in flight until [`SchedulingQueue::done`] or a requeue.
    pub fn pop(&mut self, now: Instant) -> Option<Arc<PodInfo>> {
        self.flush(now);
        while let Some((_, Reverse(seq), key)) = self.active.pop() {
            let events_seen = self.events;
            if let Some(e) = self
                .pods
                .get_mut(&key)
                .filter(|e| e.seq == seq && e.place == Place::Active)
            {
                e.place = Place::InFlight { events_seen };
                e.attempts += 1;
                return Some(Arc::clone(&e.info));
            }
        }
        None
    }

    fn flush(&mut self, now: Instant) {
        while let Some(Reverse((at, seq, key))) = self.backoff.peek().cloned() {
            if at > now {
                break;
            }
            self.backoff.pop();
            if self
                .pods
                .get(&key)
                .is_some_and(|e| e.seq == seq && e.place == Place::Backoff)
            {
                self.activate(&key);
            }
        }
        while let Some((&(since, _), key)) = self.unschedulable.first_key_value() {
            if now.saturating_duration_since(since) < self.config.max_unschedulable {
                break;
            }
            let key = key.clone();
            self.activate(&key);
        }
    }

    /// The backoff after `attempts` failed attempts.
    pub fn backoff_for(&self, attempts: u32) -> Duration {
        let exponent = attempts.saturating_sub(1).min(16);
        self.config
            .initial_backoff
            .saturating_mul(1 << exponent)
            .min(self.config.max_backoff)
    }

    /// A popped pod was scheduled (or is no longer ours): it leaves the queue.
    pub fn done(&mut self, key: &str) {
        self.pods.remove(key);
    }

    /// A popped pod fit no node: it waits in the unschedulable pods for a cluster change, or
    /// in backoff if the cluster changed while it was being scheduled.
    pub fn unschedulable(&mut self, key: &str, now: Instant) {
        let backoff = self.pods.get(key).map(|e| self.backoff_for(e.attempts));
        let events = self.events;
        let seq = self.seq();
        let Some(e) = self.pods.get_mut(key) else {
            return;
        };
        e.backoff_until = now + backoff.unwrap_or_default();
        match e.place {
            Place::InFlight { events_seen } if events_seen != events => self.send_to_backoff(key),
            Place::Unschedulable(_) => {}
            _ => {
                e.place = Place::Unschedulable(now);
                e.seq = seq;
                self.unschedulable.insert((now, seq), key.to_owned());
            }
        }
    }

    /// A popped pod failed for another reason (binding failed, API error): it backs off.
    pub fn retry(&mut self, key: &str, now: Instant) {
        let backoff = self
            .pods
            .get(key)
            .map(|e| self.backoff_for(e.attempts))
            .unwrap_or_default();
        if let Some(e) = self.pods.get_mut(key) {
            e.backoff_until = now + backoff;
            self.send_to_backoff(key);
        }
    }

    fn requeue_after_event(&mut self, key: &str, now: Instant) {
        match self.pods.get(key) {
            Some(e) if e.backoff_until > now => self.send_to_backoff(key),
            Some(_) => self.activate(key),
            None => {}
        }
    }

    /// The cluster changed (a node appeared or changed, a pod went away, a claim, volume or
    /// storage class appeared or changed): every unschedulable pod is retried, after its
    /// backoff.
    pub fn cluster_changed(&mut self, now: Instant) {
        self.events += 1;
        let waiting: Vec<String> = self.unschedulable.values().cloned().collect();
        for key in waiting {
            self.requeue_after_event(&key, now);
        }
    }

    /// When the queue next has work that is not ready yet (a backoff ending, an unschedulable
    /// pod's time running out).
    pub fn next_wakeup(&self) -> Option<Instant> {
        let backoff = self.backoff.peek().map(|Reverse((at, _, _))| *at);
        let unschedulable = self
            .unschedulable
            .first_key_value()
            .map(|((since, _), _)| *since + self.config.max_unschedulable);
        backoff.into_iter().chain(unschedulable).min()
    }

    /// Counts of pods (active, backoff, unschedulable, in flight), for tests and metrics.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for e in self.pods.values() {
            match e.place {
                Place::Active => c.0 += 1,
                Place::Backoff => c.1 += 1,
                Place::Unschedulable(_) => c.2 += 1,
                Place::InFlight { .. } => c.3 += 1,
            }
        }
        c
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
