//! Shared informers, as upstream's `SharedInformerFactory`: one watch and one cache of a
//! resource type for every controller of the manager, instead of a watch (and a decoded copy of
//! every object) per controller.
//!
//! Each subscriber is told of every change — additions, modifications and deletions — after
//! the cache has applied it, so what a subscriber reads from the cache is never older than the
//! change that woke it. Subscribers have unbounded queues, as upstream's listeners do: a slow
//! controller never holds the watch back or makes another miss an event.
//!
//! Readiness is the informer's own signal, not the reflector store's: kube-runtime's
//! `Store::wait_until_ready` wakes only the last of several tasks waiting on one store, and a
//! shared store has a waiter per controller.

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use futures::channel::mpsc;
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::serde::de::DeserializeOwned;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, Resource};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

type Subscribers<K> = Arc<Mutex<Vec<mpsc::UnboundedSender<Arc<K>>>>>;

/// One shared watch and cache of a resource type.
pub struct SharedInformer<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    store: Store<K>,
    subscribers: Subscribers<K>,
    /// True once the first list is in the cache.
    listed: watch::Receiver<bool>,
}

impl<K> Clone for SharedInformer<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            subscribers: Arc::clone(&self.subscribers),
            listed: self.listed.clone(),
        }
    }
}

/// The informers the manager's controllers share.
#[derive(Clone)]
pub struct Informers {
    /// Every pod.
    pub pods: SharedInformer<Pod>,
    /// Every node.
    pub nodes: SharedInformer<Node>,
}

impl Informers {
    /// Starts them, until `shutdown`.
    pub fn start(client: &Client, shutdown: &CancellationToken) -> Self {
        Self {
            pods: SharedInformer::start(Api::all(client.clone()), shutdown.clone()),
            nodes: SharedInformer::start(Api::all(client.clone()), shutdown.clone()),
        }
    }
}

impl<K> SharedInformer<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    /// Starts watching every object of `api` until `shutdown` is cancelled.
    pub fn start(api: Api<K>, shutdown: CancellationToken) -> Self {
        let events = watcher(api, watcher::Config::default())
            .default_backoff()
            .take_until(shutdown.cancelled_owned());
        Self::from_events(events)
    }

    /// An informer fed by `events`, a watcher's stream (tests feed one from memory).
    pub fn from_events<S>(events: S) -> Self
    where
        S: Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    {
        let (store, writer) = reflector::store();
        let subscribers: Subscribers<K> = Arc::default();
        let (listed_tx, listed) = watch::channel(false);
        tokio::spawn(feed(events, writer, Arc::clone(&subscribers), listed_tx));
        Self {
            store,
            subscribers,
            listed,
        }
    }

    /// The cache; it holds everything once [`SharedInformer::listed`] has resolved.
    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }

    /// Resolves once the first list is in the cache, or when the informer has stopped. Any
    /// number of tasks may wait at once.
    pub fn listed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut listed = self.listed.clone();
        async move {
            // An error means the feed has stopped: the controllers are stopping too.
            let _ = listed.wait_for(|done| *done).await;
        }
    }

    /// Every change from now on, after the cache has applied it, preceded by every object the
    /// cache holds now (a late subscriber misses nothing; a change may come twice).
    pub fn subscribe(&self) -> impl Stream<Item = Arc<K>> + Send + 'static {
        let (sender, receiver) = mpsc::unbounded();
        let mut subscribers = lock(&self.subscribers);
        for object in self.store.state() {
            let _ = sender.unbounded_send(object);
        }
        subscribers.push(sender);
        receiver
    }
}

fn lock<K>(
    subscribers: &Subscribers<K>,
) -> std::sync::MutexGuard<'_, Vec<mpsc::UnboundedSender<Arc<K>>>> {
    subscribers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Applies each watch event to the cache, then tells the subscribers. Objects of a (re)list are
/// told once the whole list is in the cache.
async fn feed<K, S>(
    events: S,
    mut writer: reflector::store::Writer<K>,
    subscribers: Subscribers<K>,
    listed_tx: watch::Sender<bool>,
) where
    K: Resource<DynamicType = ()> + Clone + 'static,
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
{
    let mut events = std::pin::pin!(events);
    let mut listed: Vec<Arc<K>> = Vec::new();
    while let Some(event) = events.next().await {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(kind = K::kind(&()).as_ref(), %error, "shared watch failed; retrying");
                continue;
            }
        };
        writer.apply_watcher_event(&event);
        let changed = match event {
            watcher::Event::Apply(object) | watcher::Event::Delete(object) => {
                vec![Arc::new(object)]
            }
            watcher::Event::Init => {
                listed.clear();
                continue;
            }
            watcher::Event::InitApply(object) => {
                listed.push(Arc::new(object));
                continue;
            }
            watcher::Event::InitDone => {
                listed_tx.send_replace(true);
                std::mem::take(&mut listed)
            }
        };
        let mut subscribers = lock(&subscribers);
        subscribers.retain(|s| {
            changed
                .iter()
                .all(|o| s.unbounded_send(Arc::clone(o)).is_ok())
        });
    }
}

#[cfg(test)]
#[path = "informer_tests.rs"]
mod tests;
