//! The garbage collector: objects whose owners are all gone are deleted, owners deleted in
//! the foreground wait for their blocking dependents, and owners deleted with the orphan
//! policy release their dependents first.
//!
//! A [`graph::Graph`] of owners and dependents is fed by metadata watches of every type
//! discovery reports as listable, watchable and deletable (rediscovered periodically, so
//! custom resources are covered). Its changes queue nodes on two work queues, as upstream's
//! `attemptToDelete` and `attemptToOrphan`; their workers ([`worker`]) read the objects live
//! and act on what [`decision`] says.

pub mod decision;
pub mod graph;
mod worker;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kube::core::ApiResource;
use kube::runtime::watcher::Event;
use kube::Client;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::events::{EventRecorder, EventType};
use crate::harness::dynamic::{resource_key, MetaObject, MetadataWatches, Observation};
use crate::harness::queue::WorkQueue;
use crate::harness::Backoff;
use crate::namespace::content;
use graph::{Effect, Graph, Identity, Observed};

/// How often the resource types are rediscovered (upstream: 30 s).
const REDISCOVERY: Duration = Duration::from_secs(30);
/// The shortest gap between discoveries asked for by a reference to an unknown kind.
const REDISCOVERY_ON_MISS: Duration = Duration::from_secs(1);
/// Workers per queue.
const WORKERS: usize = 8;
/// How many owners known to be absent are remembered.
const ABSENT_CACHE: usize = 500;
/// The component Events are recorded as.
const COMPONENT: &str = "garbage-collector-controller";

/// Why working on a graph node failed (the node is retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No served resource type has this kind.
    #[error("no resource type is known for {api_version} {kind}")]
    UnknownKind {
        /// The reference's apiVersion.
        api_version: String,
        /// The reference's kind.
        kind: String,
    },
    /// Reading an object failed.
    #[error("reading {identity}")]
    Get {
        /// The object.
        identity: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Deleting an object failed.
    #[error("deleting {identity}")]
    Delete {
        /// The object.
        identity: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Writing an object's owner references or finalizers failed.
    #[error("updating the metadata of {identity}")]
    Patch {
        /// The object.
        identity: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// A served type, as the collector resolves owner references.
#[derive(Debug, Clone)]
struct Mapping {
    resource: ApiResource,
    namespaced: bool,
}

/// What the collector's loops and workers share.
struct Shared {
    client: Client,
    graph: Mutex<Graph>,
    /// Served types by (group, kind).
    mapper: Mutex<HashMap<(String, String), Mapping>>,
    /// Owners known to be absent, by (namespace, uid).
    absent: Mutex<HashSet<(String, String)>>,
    /// Watched types whose first list has not completed.
    unsynced: Mutex<HashSet<String>>,
    /// Asks for a discovery now: a reference named a kind the mapper does not know (a
    /// custom resource defined since the last discovery, as upstream's resetting mapper).
    rediscover: Notify,
    deletes: Arc<WorkQueue<String>>,
    orphans: Arc<WorkQueue<String>>,
    recorder: EventRecorder,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Queues the work `effects` call for and records the events they report.
    async fn dispatch(&self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::AttemptToDelete(uid) => self.deletes.add(uid),
                Effect::AttemptToOrphan(uid) => self.orphans.add(uid),
                Effect::InvalidOwnerNamespace { dependent, owner } => {
                    let message = format!(
                        "ownerRef {owner} does not resolve to an object in namespace {}",
                        dependent.namespace
                    );
                    let regarding = k8s_openapi::api::core::v1::ObjectReference {
                        api_version: Some(dependent.api_version.clone()),
                        kind: Some(dependent.kind.clone()),
                        name: Some(dependent.name.clone()),
                        namespace: Some(dependent.namespace.clone()).filter(|n| !n.is_empty()),
                        uid: Some(dependent.uid.clone()),
                        ..Default::default()
                    };
                    self.recorder
                        .publish_ref(
                            &regarding,
                            EventType::Warning,
                            "OwnerRefInvalidNamespace",
                            &message,
                        )
                        .await;
                }
            }
        }
    }

    /// The served type of `identity`'s group and kind.
    fn mapping(&self, api_version: &str, kind: &str) -> Result<Mapping, Error> {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        lock(&self.mapper)
            .get(&(group.to_owned(), kind.to_owned()))
            .cloned()
            .ok_or_else(|| {
                self.rediscover.notify_one();
                Error::UnknownKind {
                    api_version: api_version.to_owned(),
                    kind: kind.to_owned(),
                }
            })
    }

    fn remember_absent(&self, namespace: &str, uid: &str) {
        let mut absent = lock(&self.absent);
        if absent.len() >= ABSENT_CACHE {
            absent.clear();
        }
        absent.insert((namespace.to_owned(), uid.to_owned()));
    }
}

/// Runs the garbage collector until `shutdown` is cancelled.
pub async fn run(client: Client, clock: Arc<dyn Clock>, shutdown: CancellationToken) {
    let (watches, observations) = MetadataWatches::new(client.clone(), shutdown.clone());
    let shared = Arc::new(Shared {
        recorder: EventRecorder::new(client.clone(), COMPONENT, "kube-controller-manager", clock),
        client,
        graph: Mutex::new(Graph::default()),
        mapper: Mutex::new(HashMap::new()),
        absent: Mutex::new(HashSet::new()),
        unsynced: Mutex::new(HashSet::new()),
        rediscover: Notify::new(),
        deletes: WorkQueue::new(Backoff::default()),
        orphans: WorkQueue::new(Backoff::default()),
    });
    tracing::info!(controller = "garbagecollector", "controller starting");
    let deleter = Arc::clone(&shared);
    let orphaner = Arc::clone(&shared);
    tokio::join!(
        discover(Arc::clone(&shared), watches, shutdown.clone()),
        build_graph(Arc::clone(&shared), observations, shutdown.clone()),
        Arc::clone(&shared.deletes).run(
            "garbagecollector-attempt-to-delete",
            WORKERS,
            move |uid| worker::attempt_to_delete(Arc::clone(&deleter), uid),
            shutdown.clone(),
        ),
        Arc::clone(&shared.orphans).run(
            "garbagecollector-attempt-to-orphan",
            WORKERS,
            move |uid| worker::attempt_to_orphan(Arc::clone(&orphaner), uid),
            shutdown.clone(),
        ),
    );
    tracing::info!(controller = "garbagecollector", "controller stopped");
}

/// Discovers the served types now, every [`REDISCOVERY`] and when a reference names an
/// unknown kind, keeping the mapper and the set of watches current, until `shutdown`.
async fn discover(shared: Arc<Shared>, mut watches: MetadataWatches, shutdown: CancellationToken) {
    loop {
        match content::discover(&shared.client).await {
            Ok(resources) => {
                let mapper = resources
                    .iter()
                    .map(|r| {
                        let mapping = Mapping {
                            resource: content::api_resource(r),
                            namespaced: r.namespaced,
                        };
                        ((r.group.clone(), r.kind.clone()), mapping)
                    })
                    .collect();
                *lock(&shared.mapper) = mapper;
                let wanted: Vec<ApiResource> = decision::watched(&resources)
                    .into_iter()
                    .map(content::api_resource)
                    .collect();
                let starting = wanted.iter().filter(|r| !watches.is_watching(r));
                let mut unsynced = lock(&shared.unsynced);
                unsynced.extend(starting.map(resource_key));
                let keys: HashSet<String> = wanted.iter().map(resource_key).collect();
                unsynced.retain(|k| keys.contains(k));
                drop(unsynced);
                watches.sync(&wanted);
            }
            Err(error) => tracing::warn!(%error, "garbage collector discovery failed"),
        }
        // At most one discovery per REDISCOVERY_ON_MISS, however often it is asked for.
        let wait = async {
            tokio::time::sleep(REDISCOVERY_ON_MISS).await;
            tokio::select! {
                () = tokio::time::sleep(REDISCOVERY - REDISCOVERY_ON_MISS) => {}
                () = shared.rediscover.notified() => {}
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = wait => {}
        }
    }
    watches.stop().await;
}

/// Applies watch observations to the graph and dispatches what they imply, until `shutdown`.
async fn build_graph(
    shared: Arc<Shared>,
    mut observations: mpsc::Receiver<Observation>,
    shutdown: CancellationToken,
) {
    let mut listing: HashMap<String, HashSet<String>> = HashMap::new();
    loop {
        let observation = tokio::select! {
            () = shutdown.cancelled() => break,
            next = observations.recv() => match next {
                Some(observation) => observation,
                None => break,
            },
        };
        let resource = &observation.resource;
        let key = resource_key(resource);
        let observed = |obj: &MetaObject| {
            Observed::from_meta(&resource.api_version, &resource.kind, &obj.metadata)
        };
        let effects = match &observation.event {
            Event::Init => {
                listing.insert(key, HashSet::new());
                Vec::new()
            }
            Event::InitApply(obj) => {
                let obj = observed(obj);
                listing
                    .entry(key)
                    .or_default()
                    .insert(obj.identity.uid.clone());
                lock(&shared.graph).observe(&obj)
            }
            Event::InitDone => {
                let seen = listing.remove(&key).unwrap_or_default();
                lock(&shared.unsynced).remove(&key);
                lock(&shared.graph).relisted(&resource.group, &resource.kind, &seen)
            }
            Event::Apply(obj) => lock(&shared.graph).observe(&observed(obj)),
            Event::Delete(obj) => {
                let uid = obj.metadata.uid.clone().unwrap_or_default();
                lock(&shared.graph).remove(&uid, false)
            }
        };
        shared.dispatch(effects).await;
    }
}

/// Forgets a node the API server says does not exist, and dispatches what that implies.
async fn virtual_delete(shared: &Shared, identity: &Identity) {
    let effects = lock(&shared.graph).remove(&identity.uid, true);
    shared.dispatch(effects).await;
}
