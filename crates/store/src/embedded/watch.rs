//! Watchers: each has a bounded channel the writer thread feeds after every commit group.
//!
//! A watcher is registered while the caller holds the index's read lock, after its history
//! replay was read, with `from` set to the first revision the replay did not cover. The writer
//! publishes a group only after applying it under the write lock, and each watcher takes only
//! events at or after its `from`: so every event reaches a watcher exactly once, from the replay
//! or from the channel.
//!
//! A watcher whose channel is full is not waited for (that would stall every writer behind one
//! slow reader): it is dropped, and its stream, after delivering what was buffered, ends with
//! [`StoreError::WatcherLagged`] naming the revision to resume from.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};

use futures::StreamExt;
use tokio::sync::mpsc;

use super::index::in_range;
use crate::{Event, Revision, StoreError, WatchStream};

/// Replayed history is delivered in batches of at most this many events.
const REPLAY_BATCH: usize = 1024;

/// Why a watch stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndReason {
    /// The watcher's channel was full when `next_revision` was published.
    Lagged { next_revision: Revision },
    /// The store shut down.
    Closed,
}

impl EndReason {
    fn into_error(self) -> StoreError {
        match self {
            EndReason::Lagged { next_revision } => StoreError::WatcherLagged { next_revision },
            EndReason::Closed => StoreError::Closed,
        }
    }
}

struct Watcher {
    id: u64,
    start: String,
    end: String,
    from: Revision,
    sender: mpsc::Sender<Vec<Event>>,
    ended: Arc<OnceLock<EndReason>>,
}

#[derive(Default)]
struct Watchers {
    next_id: u64,
    live: Vec<Watcher>,
    closed: bool,
}

/// The set of live watchers.
#[derive(Default)]
pub(crate) struct Registry {
    watchers: Mutex<Watchers>,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Watchers> {
        self.watchers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a watcher of `[start, end)` that first yields `replay` and then every published event
    /// with revision `>= from`. Call with the index's read lock held (see the module docs).
    ///
    /// # Errors
    /// [`StoreError::Closed`] once the store has shut down.
    pub(crate) fn register(
        self: &Arc<Self>,
        start: &str,
        end: &str,
        from: Revision,
        replay: Vec<Event>,
        capacity: usize,
    ) -> Result<WatchStream, StoreError> {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let ended = Arc::new(OnceLock::new());
        let mut watchers = self.lock();
        if watchers.closed {
            return Err(StoreError::Closed);
        }
        let id = watchers.next_id;
        watchers.next_id += 1;
        watchers.live.push(Watcher {
            id,
            start: start.to_owned(),
            end: end.to_owned(),
            from,
            sender,
            ended: Arc::clone(&ended),
        });
        drop(watchers);
        let mut replay = replay.into_iter();
        let replay = std::iter::from_fn(|| {
            Some(replay.by_ref().take(REPLAY_BATCH).collect::<Vec<_>>()).filter(|b| !b.is_empty())
        })
        .collect();
        let state = StreamState {
            replay,
            receiver,
            ended,
            _unregister: Unregister {
                registry: Arc::downgrade(self),
                id,
            },
            finished: false,
        };
        Ok(futures::stream::unfold(state, next_item).boxed())
    }

    /// Sends each watcher the events of one applied commit group that it watches.
    pub(crate) fn publish(&self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        self.lock().live.retain(|watcher| {
            let batch: Vec<Event> = events
                .iter()
                .filter(|e| e.kv.mod_revision >= watcher.from)
                .filter(|e| in_range(&e.kv.key, &watcher.start, &watcher.end))
                .cloned()
                .collect();
            let Some(first) = batch.first().map(|e| e.kv.mod_revision) else {
                return true;
            };
            match watcher.sender.try_send(batch) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    let _ = watcher.ended.set(EndReason::Lagged {
                        next_revision: first,
                    });
                    tracing::warn!(
                        watcher = watcher.id,
                        next_revision = first,
                        "ending a watch whose buffer is full"
                    );
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }

    /// Ends every watch with [`StoreError::Closed`] and refuses new ones.
    pub(crate) fn close(&self) {
        let mut watchers = self.lock();
        watchers.closed = true;
        for watcher in watchers.live.drain(..) {
            let _ = watcher.ended.set(EndReason::Closed);
        }
    }

    /// How many watchers are registered.
    pub(crate) fn len(&self) -> usize {
        self.lock().live.len()
    }
}

/// Removes its watcher from the registry when the stream is dropped.
struct Unregister {
    registry: Weak<Registry>,
    id: u64,
}

impl Drop for Unregister {
    fn drop(&mut self) {
        if let Some(registry) = self.registry.upgrade() {
            registry.lock().live.retain(|watcher| watcher.id != self.id);
        }
    }
}

struct StreamState {
    replay: VecDeque<Vec<Event>>,
    receiver: mpsc::Receiver<Vec<Event>>,
    ended: Arc<OnceLock<EndReason>>,
    _unregister: Unregister,
    finished: bool,
}

async fn next_item(
    mut state: StreamState,
) -> Option<(Result<Vec<Event>, StoreError>, StreamState)> {
    if state.finished {
        return None;
    }
    if let Some(batch) = state.replay.pop_front() {
        return Some((Ok(batch), state));
    }
    match state.receiver.recv().await {
        Some(batch) => Some((Ok(batch), state)),
        None => {
            state.finished = true;
            let reason = state.ended.get().copied().unwrap_or(EndReason::Closed);
            Some((Err(reason.into_error()), state))
        }
    }
}
