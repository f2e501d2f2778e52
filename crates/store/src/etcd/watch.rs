//! Watches over etcd's watch stream.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use etcd_client::{EventType, WatchOptions, WatchResponse};
use futures::StreamExt;

use super::convert::{backend, Keys, WatchCancelled, WatchEnded};
use super::EtcdStore;
use crate::{Event, EventKind, KeyValue, Revision, StoreError, WatchStream};

const OPERATION: &str = "watching etcd";

/// Starts a watch of `[start, end)` from `revision` and waits until etcd has created it, so every
/// write made after this returns is delivered.
pub(super) async fn start(
    store: &EtcdStore,
    start: &str,
    end: &str,
    revision: Revision,
) -> Result<WatchStream, StoreError> {
    let mut options = WatchOptions::new()
        .with_prev_key()
        .with_start_revision(revision);
    if !end.is_empty() {
        options = options.with_range(store.keys.full_end(end));
    }
    let mut stream = store
        .watch_client()
        .watch(store.keys.full(start), Some(options))
        .await
        .map_err(backend(OPERATION))?;
    let state = State {
        keys: store.keys.clone(),
        compacted: Arc::clone(&store.compacted),
        next: revision,
    };
    // etcd answers a create request first, before any event of the new watcher.
    loop {
        let response = stream.message().await.map_err(backend(OPERATION))?;
        let Some(response) = response else {
            return Err(ended());
        };
        if response.canceled() {
            return Err(state.cancelled(&response));
        }
        if response.created() {
            break;
        }
    }
    let events = futures::stream::unfold(Some((stream, state)), |live| async move {
        let (mut stream, mut state) = live?;
        loop {
            let response = match stream.message().await {
                Ok(Some(response)) => response,
                Ok(None) => return Some((Err(ended()), None)),
                Err(error) => return Some((Err(backend(OPERATION)(error)), None)),
            };
            if response.canceled() || response.compact_revision() != 0 {
                return Some((Err(state.cancelled(&response)), None));
            }
            match state.events(&response) {
                // Progress notifications and empty responses carry no events.
                Ok(events) if events.is_empty() => continue,
                Ok(events) => return Some((Ok(events), Some((stream, state)))),
                Err(error) => return Some((Err(error), None)),
            }
        }
    });
    Ok(events.boxed())
}

fn ended() -> StoreError {
    StoreError::Backend {
        operation: OPERATION,
        source: Box::new(WatchEnded),
    }
}

/// What a live watch tracks between responses.
struct State {
    keys: Keys,
    compacted: Arc<AtomicI64>,
    /// The first revision not yet delivered (0: whatever comes next).
    next: Revision,
}

impl State {
    /// The error ending a watch that etcd cancelled.
    fn cancelled(&self, response: &WatchResponse) -> StoreError {
        let compacted = response.compact_revision();
        if compacted != 0 {
            self.compacted.fetch_max(compacted, Ordering::AcqRel);
            return StoreError::Compacted {
                requested: self.next,
                compacted,
            };
        }
        StoreError::Backend {
            operation: OPERATION,
            source: Box::new(WatchCancelled {
                reason: response.cancel_reason().to_owned(),
            }),
        }
    }

    /// The response's events as the store's, in revision order.
    fn events(&mut self, response: &WatchResponse) -> Result<Vec<Event>, StoreError> {
        let mut events = Vec::with_capacity(response.events().len());
        for event in response.events() {
            let Some(kv) = event.kv() else {
                continue;
            };
            let kind = match event.event_type() {
                EventType::Put => EventKind::Put,
                EventType::Delete => EventKind::Delete,
            };
            let kv = self.key_value(kv)?;
            let prev = event.prev_kv().map(|p| self.key_value(p)).transpose()?;
            self.next = kv.mod_revision + 1;
            events.push(Event { kind, kv, prev });
        }
        Ok(events)
    }

    fn key_value(&self, kv: &etcd_client::KeyValue) -> Result<KeyValue, StoreError> {
        self.keys.key_value(kv.clone())
    }
}
