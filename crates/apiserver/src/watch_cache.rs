//! The watch cache: one store watch on the whole registry, fanned out to every client watch,
//! with a window of recent events so that watches can resume from a resourceVersion, and the
//! current state of every object so that lists are served without reading the store.
//!
//! Objects stay in the stored JSON bytes ([`RawObject`]), shared with the store's own copy
//! (a `Bytes` is reference-counted): the state, the window and the store hold one allocation
//! per object version. Decoding happens only where a reader needs a value (selectors, Table
//! output, conversion).

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use rudder_store::{EventKind, RangeRequest, Revision, Store, StoreError};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;
use crate::raw::RawObject;
use crate::storage::{paginate, Keep, Page};

/// The whole key space the cache follows.
const REGISTRY_PREFIX: &str = "/registry/";

/// How long a list waits for the cache to catch up with the store before reading the store.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(3);

/// One change.
#[derive(Debug)]
pub struct CachedEvent {
    /// The store revision of the change.
    pub revision: i64,
    /// The store key.
    pub key: Arc<str>,
    /// Put or delete.
    pub kind: EventKind,
    /// The object after the change (for a delete: its last state, with the delete's revision).
    pub object: RawObject,
    /// The object before the change, if it existed.
    pub prev: Option<RawObject>,
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
    /// Every live key's object at `current`.
    state: BTreeMap<Arc<str>, RawObject>,
}

/// The fan-out point for watches, and the source of lists.
pub struct WatchCache {
    window: Mutex<Window>,
    live: broadcast::Sender<Live>,
    /// The newest revision applied, for lists waiting to be consistent.
    applied: watch::Sender<i64>,
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
    /// A cache over `store` keeping `capacity` events, holding the state at the oldest
    /// revision the window can cover (so a watch resumed after a restart continues without a
    /// gap); [`WatchCache::run`] then replays the history after it.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn load(store: &Arc<dyn Store>, capacity: usize) -> Result<Self, ApiError> {
        let (current, compacted) = store.revisions().await?;
        let start = compacted.max(current - capacity as i64).max(0);
        let (state, revision) = match read_state(store, Some(start)).await {
            Ok(loaded) => loaded,
            // Compacted meanwhile: start from the newest state, without history.
            Err(StoreError::Compacted { .. }) => read_state(store, None).await?,
            Err(e) => return Err(e.into()),
        };
        let (live, _) = broadcast::channel(4096);
        Ok(Self {
            window: Mutex::new(Window {
                events: VecDeque::new(),
                complete_after: revision,
                current: revision,
                state,
            }),
            live,
            applied: watch::Sender::new(revision),
            capacity,
        })
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
                    Some(Ok(batch)) => self.push(batch),
                    Some(Err(StoreError::WatcherLagged { .. })) => {
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
        let (state, revision) = match read_state(store, None).await {
            Ok(loaded) => loaded,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                return;
            }
        };
        self.with_window(|w| {
            w.events.clear();
            w.complete_after = revision;
            w.current = revision;
            w.state = state;
            let _ = self.live.send(Live::Reset);
        });
        self.applied.send_replace(revision);
    }

    /// Applies one batch of store events to the state and the window, and sends them live.
    fn push(&self, batch: Vec<rudder_store::Event>) {
        let revision = self.with_window(|w| {
            for event in batch {
                let event = Arc::new(to_cached(event, &w.state));
                w.current = event.revision;
                match event.kind {
                    EventKind::Put => {
                        w.state.insert(event.key.clone(), event.object.clone());
                    }
                    EventKind::Delete => {
                        w.state.remove(&event.key);
                    }
                }
                w.events.push_back(event.clone());
                while w.events.len() > self.capacity {
                    if let Some(evicted) = w.events.pop_front() {
                        w.complete_after = evicted.revision;
                    }
                }
                // Sent under the lock so a subscriber sees each event either in its replay or live.
                let _ = self.live.send(Live::Event(event));
            }
            w.current
        });
        self.applied.send_replace(revision);
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

    /// Lists the objects under `prefix` that pass `keep`, at most `limit` (0: all), once the
    /// cache has seen revision `at_least`. `Ok(None)` when it has not within a few seconds:
    /// the caller reads the store instead.
    ///
    /// # Errors
    /// What `keep` returns.
    pub async fn list(
        &self,
        prefix: &str,
        limit: usize,
        at_least: Revision,
        keep: Keep<'_>,
    ) -> Result<Option<Page>, ApiError> {
        let mut applied = self.applied.subscribe();
        let caught_up = applied.wait_for(|r| *r >= at_least);
        if !matches!(
            tokio::time::timeout(CATCH_UP_TIMEOUT, caught_up).await,
            Ok(Ok(_))
        ) {
            tracing::warn!(
                revision = at_least,
                "the watch cache did not catch up with the store; listing from the store"
            );
            return Ok(None);
        }
        let end = rudder_store::prefix_end(prefix);
        let (revision, candidates) = self.with_window(|w| {
            let range = w
                .state
                .range::<str, _>((Bound::Included(prefix), Bound::Excluded(end.as_str())));
            let candidates: Vec<(Arc<str>, RawObject)> =
                range.map(|(k, v)| (k.clone(), v.clone())).collect();
            (w.current, candidates)
        });
        paginate(prefix, revision, limit, candidates, keep).map(Some)
    }
}

/// Reads every object under the registry at `revision` (`None`: the newest), with the
/// revision read. Revision 0, before the first write, holds nothing.
async fn read_state(
    store: &Arc<dyn Store>,
    revision: Option<Revision>,
) -> Result<(BTreeMap<Arc<str>, RawObject>, Revision), StoreError> {
    if revision == Some(0) {
        return Ok((BTreeMap::new(), 0));
    }
    let request = RangeRequest {
        revision: revision.unwrap_or(0),
        ..RangeRequest::prefix(REGISTRY_PREFIX)
    };
    let response = store.range(request).await?;
    let state = response
        .kvs
        .into_iter()
        .map(|kv| {
            let object = RawObject::indexed(kv.value, kv.mod_revision);
            (Arc::from(kv.key), object)
        })
        .collect();
    Ok((state, response.revision))
}

/// The cached form of a store event; the previous version, and the key, are shared with the
/// state when it holds them (the same revision of a key is the same bytes).
fn to_cached(event: rudder_store::Event, state: &BTreeMap<Arc<str>, RawObject>) -> CachedEvent {
    let revision = event.kv.mod_revision;
    let known = state.get_key_value(event.kv.key.as_str());
    let key = known.map_or_else(|| Arc::from(event.kv.key), |(k, _)| k.clone());
    let prev = event.prev.map(|p| match known {
        Some((_, object)) if object.revision == p.mod_revision => object.clone(),
        _ => RawObject::indexed(p.value, p.mod_revision),
    });
    let object = match (event.kind, &prev) {
        (EventKind::Delete, Some(prev)) => prev.at(revision),
        _ => RawObject::indexed(event.kv.value, revision),
    };
    CachedEvent {
        revision,
        key,
        kind: event.kind,
        object,
        prev,
    }
}
