//! A work queue for controllers whose work items are not objects of one watched type (the
//! garbage collector's graph nodes): upstream's rate-limited work queue. An item queued twice
//! is processed once; an item is never processed by two workers at once (one added while it
//! is processed runs again afterwards); a failed item comes back after the harness's
//! per-item [`Backoff`].

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Backoff;

/// The queue's bookkeeping, behind one lock.
struct State<T> {
    ready: VecDeque<T>,
    queued: HashSet<T>,
    active: HashSet<T>,
    again: HashSet<T>,
    failures: HashMap<T, u32>,
    delayed: BTreeMap<(Instant, u64), T>,
    sequence: u64,
}

impl<T: Eq + Hash + Clone> State<T> {
    fn add(&mut self, item: T) -> bool {
        if self.active.contains(&item) {
            self.again.insert(item);
            false
        } else if self.queued.insert(item.clone()) {
            self.ready.push_back(item);
            true
        } else {
            false
        }
    }

    /// Moves the delayed items that are due to the ready list; the next due time, if any.
    fn promote(&mut self, now: Instant) -> Option<Instant> {
        while let Some(entry) = self.delayed.first_entry() {
            if entry.key().0 > now {
                return Some(entry.key().0);
            }
            let item = entry.remove();
            self.add(item);
        }
        None
    }
}

/// A deduplicating, rate-limited queue of work items.
pub struct WorkQueue<T> {
    state: Mutex<State<T>>,
    wake: Notify,
    backoff: Backoff,
}

impl<T> WorkQueue<T>
where
    T: Eq + Hash + Clone + Debug + Send + 'static,
{
    /// An empty queue retrying failed items after `backoff`.
    pub fn new(backoff: Backoff) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                ready: VecDeque::new(),
                queued: HashSet::new(),
                active: HashSet::new(),
                again: HashSet::new(),
                failures: HashMap::new(),
                delayed: BTreeMap::new(),
                sequence: 0,
            }),
            wake: Notify::new(),
            backoff,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item` unless it is already waiting.
    pub fn add(&self, item: T) {
        if self.lock().add(item) {
            self.wake.notify_one();
        }
    }

    /// Queues `item` once `delay` has passed.
    pub fn add_after(&self, item: T, delay: Duration) {
        {
            let mut state = self.lock();
            state.sequence = state.sequence.wrapping_add(1);
            let key = (Instant::now() + delay, state.sequence);
            state.delayed.insert(key, item);
        }
        self.wake.notify_one();
    }

    /// How many items wait (ready or delayed); for tests and logs.
    pub fn len(&self) -> usize {
        let state = self.lock();
        state.ready.len() + state.delayed.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next item to work on, or `None` once `shutdown` is cancelled.
    async fn next(&self, shutdown: &CancellationToken) -> Option<T> {
        loop {
            let due = {
                let mut state = self.lock();
                let due = state.promote(Instant::now());
                if let Some(item) = state.ready.pop_front() {
                    state.queued.remove(&item);
                    state.active.insert(item.clone());
                    return Some(item);
                }
                due
            };
            let sleep = async {
                match due {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return None,
                () = self.wake.notified() => {}
                () = sleep => {}
            }
        }
    }

    /// Ends the work on `item`: a failure queues it again after its backoff; an addition
    /// made while it was processed queues it now.
    fn done(&self, item: &T, failed: bool) {
        let retry = {
            let mut state = self.lock();
            state.active.remove(item);
            let retry = if failed {
                let count = state.failures.entry(item.clone()).or_insert(0);
                *count = count.saturating_add(1);
                Some(self.backoff.delay(*count))
            } else {
                state.failures.remove(item);
                None
            };
            let again = state.again.remove(item);
            let readded = again && retry.is_none() && state.add(item.clone());
            (retry, readded)
        };
        match retry {
            (Some(delay), _) => self.add_after(item.clone(), delay),
            (None, true) => self.wake.notify_one(),
            (None, false) => {}
        }
    }

    /// Runs `workers` workers calling `handle` on queued items until `shutdown` is
    /// cancelled; items in progress finish first.
    pub async fn run<F, Fut, E>(
        self: Arc<Self>,
        name: &'static str,
        workers: usize,
        handle: F,
        shutdown: CancellationToken,
    ) where
        F: Fn(T) -> Fut + Send + Sync,
        Fut: Future<Output = Result<(), E>> + Send,
        E: std::error::Error,
    {
        let worker = |_| async {
            while let Some(item) = self.next(&shutdown).await {
                let result = handle(item.clone()).await;
                if let Err(error) = &result {
                    tracing::warn!(
                        queue = name,
                        ?item,
                        %error,
                        cause = ?std::error::Error::source(error).map(ToString::to_string),
                        "work item failed"
                    );
                }
                self.done(&item, result.is_err());
            }
        };
        futures::future::join_all((0..workers.max(1)).map(worker)).await;
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
