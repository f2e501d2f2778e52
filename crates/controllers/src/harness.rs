//! The reconcile harness every controller runs on: kube-runtime's `Controller` (watcher,
//! reflector, scheduler) with a per-object exponential backoff after failures, logging, and
//! a graceful stop on a `CancellationToken`.
//!
//! A controller supplies only `async fn(Arc<Obj>, Arc<Ctx>) -> Result<Action, E>` and, where
//! other kinds should wake it, the mappings from those kinds to its own objects.
//!
//! Controllers whose work is not one typed object per reconcile (the garbage collector) use
//! the harness's other pieces: [`dynamic`] watches over types found at run time, and the
//! deduplicating, rate-limited [`queue`].

pub mod dynamic;
pub mod queue;

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use k8s_openapi::serde::de::DeserializeOwned;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller, Error as ControllerError};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Resource, ResourceExt};
use tokio_util::sync::CancellationToken;

use crate::informer::SharedInformer;

/// Per-object retry delays after failed reconciles: upstream's item exponential failure rate
/// limiter (5 ms doubling per consecutive failure, capped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(5),
            max: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The delay before retrying after `failures` consecutive failures (1 for the first).
    pub fn delay(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << exponent)
            .map_or(self.max, |d| d.min(self.max))
    }
}

/// A controller's context wrapped with the harness's own bookkeeping.
struct Harnessed<K: Resource, C> {
    name: &'static str,
    ctx: Arc<C>,
    backoff: Backoff,
    failures: Mutex<HashMap<ObjectRef<K>, u32>>,
}

impl<K, C> Harnessed<K, C>
where
    K: Resource,
    K::DynamicType: Eq + Hash + Clone,
{
    fn succeeded(&self, key: &ObjectRef<K>) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    fn failed(&self, key: ObjectRef<K>) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let count = failures.entry(key).or_insert(0);
        *count = count.saturating_add(1);
        self.backoff.delay(*count)
    }
}

/// What to do when an object is deleted: called with its namespace (empty for cluster-scoped
/// objects) and name, after it left the cache.
type OnDeleted = Arc<dyn Fn(String, String) -> BoxFuture<'static, ()> + Send + Sync>;

/// One controller: the kube-runtime `Controller` it runs on, and its name for logs.
pub struct Harness<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    name: &'static str,
    controller: Controller<K>,
    backoff: Backoff,
    on_deleted: Option<OnDeleted>,
    /// The API of the reconciled objects, when the harness made the controller.
    api: Option<Api<K>>,
    /// The caches reconciles read, each resolving once it has listed.
    caches: Vec<BoxFuture<'static, ()>>,
}

impl<K> Harness<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    /// A controller reconciling every object `api` lists and watches.
    pub fn new(name: &'static str, api: Api<K>) -> Self {
        let controller = Controller::new(api.clone(), watcher::Config::default());
        Self {
            api: Some(api),
            ..Self::from_controller(name, controller)
        }
    }

    /// A harness around a prepared `Controller` (tests feed one from an in-memory stream).
    pub fn from_controller(name: &'static str, controller: Controller<K>) -> Self {
        Self {
            name,
            controller,
            backoff: Backoff::default(),
            on_deleted: None,
            api: None,
            caches: Vec::new(),
        }
    }

    /// The cache of the reconciled objects (for mappings from other kinds to them).
    pub fn store(&self) -> Store<K> {
        self.controller.store()
    }

    /// Calls `cleanup(namespace, name)` when a reconciled object is deleted (a reconcile
    /// never sees it): for what the object implied but does not own, as a Service's
    /// Endpoints. Deletions come from a watch of the reconciled type beside the
    /// controller's, so only a harness made by [`Harness::new`] reports them.
    #[must_use]
    pub fn on_deleted<F, Fut>(mut self, cleanup: F) -> Self
    where
        F: Fn(String, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.on_deleted = Some(Arc::new(move |ns, name| Box::pin(cleanup(ns, name))));
        self
    }

    /// Also reconciles the objects `mapper` names whenever an object of `api` changes.
    #[must_use]
    pub fn watches<O, I>(
        mut self,
        api: Api<O>,
        wc: watcher::Config,
        mapper: impl Fn(O) -> I + Sync + Send + 'static,
    ) -> Self
    where
        O: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static,
        I: 'static + IntoIterator<Item = ObjectRef<K>>,
        I::IntoIter: Send,
    {
        self.controller = self.controller.watches(api, wc, mapper);
        self
    }

    /// Also reconciles the objects `mapper` names whenever an object of `api` changes (added,
    /// modified or deleted), keeping every such object in the returned cache, which controllers
    /// read instead of listing from the API server on each reconcile.
    #[must_use]
    pub fn watches_cached<O, I>(
        mut self,
        api: Api<O>,
        wc: watcher::Config,
        mapper: impl Fn(O) -> I + Sync + Send + 'static,
    ) -> (Self, Store<O>)
    where
        O: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        I: 'static + IntoIterator<Item = ObjectRef<K>>,
        I::IntoIter: Send,
    {
        let (reader, writer) = reflector::store();
        let stream = reflector::reflector(writer, watcher(api, wc))
            .default_backoff()
            .touched_objects();
        self.controller = self.controller.watches_stream(stream, mapper);
        self.waits_for(&reader);
        (self, reader)
    }

    /// Also reconciles the objects `mapper` names whenever an object `informer` caches changes
    /// (added, modified or deleted), and returns that shared cache.
    #[must_use]
    pub fn watches_shared<O, I>(
        mut self,
        informer: &SharedInformer<O>,
        mapper: impl Fn(&O) -> I + Sync + Send + 'static,
    ) -> (Self, Store<O>)
    where
        O: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        I: 'static + IntoIterator<Item = ObjectRef<K>>,
        I::IntoIter: Send,
    {
        self.controller = self
            .controller
            .watches_shared_stream(informer.subscribe(), move |o: Arc<O>| mapper(&o));
        self.caches.push(Box::pin(informer.listed()));
        (self, informer.store())
    }

    /// Holds every reconcile until `cache` has listed, as upstream's controllers wait for
    /// their informers to sync: a reconcile reading an empty cache would act on nothing seen.
    /// Only for a cache this harness alone waits on: the store's readiness wakes only the
    /// last of several waiters (shared caches use [`SharedInformer::listed`]).
    fn waits_for<O>(&mut self, cache: &Store<O>)
    where
        O: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    {
        let cache = cache.clone();
        self.caches.push(Box::pin(async move {
            // An error means the cache's writer is gone: the controller is stopping.
            let _ = cache.wait_until_ready().await;
        }));
    }

    /// Replaces the retry delays after failures.
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Runs `reconcile` for every changed object until `shutdown` is cancelled, then lets
    /// reconciles in flight finish.
    pub async fn run<C, F, Fut, E>(self, reconcile: F, ctx: Arc<C>, shutdown: CancellationToken)
    where
        C: Send + Sync + 'static,
        F: Fn(Arc<K>, Arc<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Action, E>> + Send + 'static,
        E: std::error::Error + Send + Sync + 'static,
    {
        let name = self.name;
        let state = Arc::new(Harnessed {
            name,
            ctx,
            backoff: self.backoff,
            failures: Mutex::new(HashMap::new()),
        });
        let reconcile = Arc::new(reconcile);
        let synced = futures::future::join_all(self.caches)
            .map(move |_| tracing::info!(controller = name, "caches synced"))
            .boxed()
            .shared();
        let deletions = match (self.on_deleted, self.api) {
            (Some(cleanup), Some(api)) => {
                futures::future::Either::Left(watch_deletions(api, cleanup, shutdown.clone()))
            }
            _ => futures::future::Either::Right(std::future::ready(())),
        };
        tracing::info!(controller = name, "controller starting");
        let controller = self
            .controller
            .graceful_shutdown_on(shutdown.clone().cancelled_owned())
            .run(
                move |obj: Arc<K>, state: Arc<Harnessed<K, C>>| {
                    let reconcile = Arc::clone(&reconcile);
                    let synced = synced.clone();
                    async move {
                        synced.await;
                        let key = ObjectRef::from_obj(obj.as_ref());
                        let result = reconcile(obj, Arc::clone(&state.ctx)).await;
                        if result.is_ok() {
                            state.succeeded(&key);
                        }
                        result
                    }
                },
                error_policy,
                state,
            )
            .for_each(move |result| {
                match result {
                    Ok(_) | Err(ControllerError::ReconcilerFailed(..)) => {}
                    Err(ControllerError::ObjectNotFound(obj)) => {
                        tracing::debug!(controller = name, %obj, "object gone before its reconcile");
                    }
                    Err(e) => tracing::warn!(controller = name, error = %e, "controller queue error"),
                }
                std::future::ready(())
            });
        futures::future::join(controller, deletions).await;
        tracing::info!(controller = name, "controller stopped");
    }
}

/// Calls `cleanup` for every object of `api` deleted, until `shutdown`.
async fn watch_deletions<K>(api: Api<K>, cleanup: OnDeleted, shutdown: CancellationToken)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let mut events = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .take_until(shutdown.cancelled_owned())
        .boxed();
    while let Some(event) = events.next().await {
        if let Ok(watcher::Event::Delete(obj)) = event {
            cleanup(obj.namespace().unwrap_or_default(), obj.name_any()).await;
        }
    }
}

fn error_policy<K, C, E>(obj: Arc<K>, error: &E, state: Arc<Harnessed<K, C>>) -> Action
where
    K: Resource<DynamicType = ()>,
    E: std::error::Error,
{
    let key = ObjectRef::from_obj(obj.as_ref());
    let delay = state.failed(key.clone());
    tracing::warn!(
        controller = state.name,
        object = %key,
        error = %error,
        cause = ?std::error::Error::source(error).map(ToString::to_string),
        retry_in_ms = delay.as_millis() as u64,
        "reconcile failed"
    );
    Action::requeue(delay)
}

#[cfg(test)]
#[path = "harness_tests.rs"]
mod tests;
