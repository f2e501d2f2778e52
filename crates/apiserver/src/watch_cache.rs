//! The watch cache: one store watch on the whole registry, fanned out to every client watch,
//! with a window of recent events so that watches can resume from a resourceVersion.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use rudder_store::{EventKind, Store};
use serde_json::Value;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;
use crate::storage::decode;

/// The whole key space the cache follows.
const REGISTRY_PREFIX: &str = "/registry/";

/// One decoded change.
#[derive(Debug)]
pub struct CachedEvent {
    /// The store revision of the change.
    pub revision: i64,
    /// The store key.
    pub key: String,
    /// Put or delete.
    pub kind: EventKind,
    /// The object after the change (for a delete: its last state, stamped with the delete's revision).
    pub object: Arc<Value>,
    /// The object before the change, if it existed.
    pub prev: Option<Arc<Value>>,
}

/// What the cache sends live: an event, or "the history broke, end every watch".
#[derive(Debug, Clone)]
pub enum Live {
    /// A change.
    Event(Arc<CachedEvent>),
    /// The store watch was lost; clients must re-list.
    Reset,
}

struct Window {
    events: VecDeque<Arc<CachedEvent>>,
    /// Every event with a revision above this is in `events` (or still to come).
    complete_after: i64,
    /// The newest revision seen.
    current: i64,
}

/// The fan-out point for watches.
pub struct WatchCache {
    window: Mutex<Window>,
    live: broadcast::Sender<Live>,
    capacity: usize,
}

/// A subscription: the events to replay, then the live feed.
pub struct Subscription {
    /// Buffered events with revisions above the requested one, in order.
    pub replay: Vec<Arc<CachedEvent>>,
    /// Live events (may repeat some of `replay`; skip revisions already sent).
    pub live: broadcast::Receiver<Live>,
}

impl WatchCache {
    /// An empty cache that has seen everything up to `revision`, keeping `capacity` events.
    pub fn new(revision: i64, capacity: usize) -> Self {
        let (live, _) = broadcast::channel(4096);
        Self {
            window: Mutex::new(Window {
                events: VecDeque::new(),
                complete_after: revision,
                current: revision,
            }),
            live,
            capacity,
        }
    }

    /// Follows the store from the cache's current revision until cancelled, restarting the
    /// store watch if it breaks.
    pub async fn run(self: Arc<Self>, store: Arc<dyn Store>, cancel: CancellationToken) {
        let end = rudder_store::prefix_end(REGISTRY_PREFIX);
        loop {
            let from = self.with_window(|w| w.current) + 1;
            let stream = tokio::select! {
                _ = cancel.cancelled() => return,
                s = store.watch(REGISTRY_PREFIX, &end, from) => s,
            };
            let mut stream = match stream {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "watch cache lost the store history; resetting");
                    self.reset(&store).await;
                    continue;
                }
            };
            loop {
                let next = tokio::select! {
                    _ = cancel.cancelled() => return,
                    n = stream.next() => n,
                };
                match next {
                    Some(Ok(batch)) => {
                        for event in batch {
                            if let Some(cached) = to_cached(event) {
                                self.push(Arc::new(cached));
                            }
                        }
                    }
                    Some(Err(rudder_store::StoreError::WatcherLagged { .. })) => {
                        // Every event before the lag was delivered: resume right after them.
                        break;
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "store watch failed; resetting the watch cache");
                        self.reset(&store).await;
                        break;
                    }
                    None => {
                        if cancel.is_cancelled() {
                            return;
                        }
                        break;
                    }
                }
            }
        }
    }

    fn with_window<T>(&self, f: impl FnOnce(&mut Window) -> T) -> T {
        match self.window.lock() {
            Ok(mut guard) => f(&mut guard),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    async fn reset(&self, store: &Arc<dyn Store>) {
        let current = match store.revisions().await {
            Ok((current, _)) => current,
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                return;
            }
        };
        self.with_window(|w| {
            w.events.clear();
            w.complete_after = current;
            w.current = current;
        });
        let _ = self.live.send(Live::Reset);
    }

    fn push(&self, event: Arc<CachedEvent>) {
        self.with_window(|w| {
            w.current = event.revision;
            w.events.push_back(event.clone());
            while w.events.len() > self.capacity {
                if let Some(evicted) = w.events.pop_front() {
                    w.complete_after = evicted.revision;
                }
            }
            // Sent under the lock so a subscriber sees each event either in its replay or live.
            let _ = self.live.send(Live::Event(event));
        });
    }

    /// The newest revision the cache has seen.
    pub fn current_revision(&self) -> i64 {
        self.with_window(|w| w.current)
    }

    /// Subscribes from `revision`: replays buffered events after it, then follows live ones.
    ///
    /// # Errors
    /// 410 Gone when events after `revision` have left the window.
    pub fn subscribe(&self, revision: i64, key_prefix: &str) -> Result<Subscription, ApiError> {
        self.with_window(|w| {
            if revision < w.complete_after {
                let oldest = w.events.front().map(|e| e.revision).unwrap_or(w.current);
                return Err(ApiError::Gone {
                    requested: revision,
                    oldest,
                });
            }
            let replay = w
                .events
                .iter()
                .filter(|e| e.revision > revision && e.key.starts_with(key_prefix))
                .cloned()
                .collect();
            Ok(Subscription {
                replay,
                live: self.live.subscribe(),
            })
        })
    }
}

fn to_cached(event: rudder_store::Event) -> Option<CachedEvent> {
    let revision = event.kv.mod_revision;
    let prev = event
        .prev
        .as_ref()
        .and_then(|p| decode(&p.key, &p.value, p.mod_revision).ok())
        .map(Arc::new);
    let object = match event.kind {
        EventKind::Put => Arc::new(decode(&event.kv.key, &event.kv.value, revision).ok()?),
        EventKind::Delete => {
            let prev = event.prev.as_ref()?;
            Arc::new(decode(&prev.key, &prev.value, revision).ok()?)
        }
    };
    Some(CachedEvent {
        revision,
        key: event.kv.key,
        kind: event.kind,
        object,
        prev,
    })
}
