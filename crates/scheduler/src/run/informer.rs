//! Feeding the cache and the queue from watches of nodes, pods, namespaces, and the storage
//! objects VolumeBinding reads — claims, volumes, classes (kube-runtime watchers, which list,
//! watch, and re-list after errors with backoff). What each change means
//! for the scheduler is decided by pure functions of the shared [`State`].

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::serde::de::DeserializeOwned;
use kube::api::Api;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::{Client, Resource};
use tokio_util::sync::CancellationToken;

use super::{Shared, State};
use crate::pod_info::PodInfo;

/// A change seen by a watch.
enum Change<K> {
    Applied(K),
    Deleted(String),
}

/// Runs one watcher until `stop`, handing every change (and the deletions a re-list reveals)
/// to `handle`, then waking the scheduling loop.
async fn watch<K, F>(api: Api<K>, shared: Arc<Shared>, stop: CancellationToken, handle: F)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static,
    F: Fn(&mut State, Change<K>) + Send,
{
    let key = |k: &K| {
        let m = k.meta();
        match &m.namespace {
            Some(ns) => format!("{ns}/{}", m.name.as_deref().unwrap_or_default()),
            None => m.name.clone().unwrap_or_default(),
        }
    };
    let mut known: HashSet<String> = HashSet::new();
    let mut synced = false;
    let mut relisted: HashSet<String> = HashSet::new();
    let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    loop {
        let event = tokio::select! {
            _ = stop.cancelled() => return,
            e = stream.next() => e,
        };
        let changes = match event {
            None => return,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "scheduler watch failed; retrying");
                continue;
            }
            Some(Ok(Event::Init)) => {
                relisted.clear();
                continue;
            }
            Some(Ok(Event::InitApply(obj))) => {
                relisted.insert(key(&obj));
                vec![Change::Applied(obj)]
            }
            Some(Ok(Event::InitDone)) => {
                let gone: Vec<String> = known.difference(&relisted).cloned().collect();
                known = std::mem::take(&mut relisted);
                if !synced {
                    synced = true;
                    shared.mark_synced();
                }
                gone.into_iter().map(Change::Deleted).collect()
            }
            Some(Ok(Event::Apply(obj))) => {
                known.insert(key(&obj));
                vec![Change::Applied(obj)]
            }
            Some(Ok(Event::Delete(obj))) => {
                let k = key(&obj);
                known.remove(&k);
                vec![Change::Deleted(k)]
            }
        };
        if changes.is_empty() {
            continue;
        }
        {
            let mut state = shared.lock();
            for change in changes {
                handle(&mut state, change);
            }
        }
        shared.wake.notify_one();
    }
}

/// What a pod change means: bound pods go to the cache, pending pods of this scheduler to the
/// queue, finished and deleted pods leave both.
fn on_pod(state: &mut State, change: Change<Pod>, scheduler_name: &str) {
    let now = super::now();
    match change {
        Change::Deleted(key) => {
            state.queue.delete(&key);
            if state.cache.remove_pod(&key) {
                state.queue.cluster_changed(now);
            }
        }
        Change::Applied(pod) => {
            let info = Arc::new(PodInfo::new(Arc::new(pod)));
            let phase = info
                .pod
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .unwrap_or_default();
            if phase == "Succeeded" || phase == "Failed" {
                state.queue.delete(&info.key);
                if state.cache.remove_pod(&info.key) {
                    state.queue.cluster_changed(now);
                }
            } else if !info.node_name().is_empty() {
                state.queue.delete(&info.key);
                let confirms = state.cache.is_assumed(&info.key);
                state.cache.add_bound_pod(info);
                if !confirms {
                    state.queue.cluster_changed(now);
                }
            } else if info.is_terminating() || !ours(&info, scheduler_name) {
                state.queue.delete(&info.key);
            } else if !state.cache.is_assumed(&info.key) {
                state.queue.add(info, now);
            }
        }
    }
}

fn ours(pod: &PodInfo, scheduler_name: &str) -> bool {
    let name = pod
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.scheduler_name.as_deref())
        .unwrap_or("default-scheduler");
    name == scheduler_name
}

fn on_node(state: &mut State, change: Change<Node>) {
    match change {
        Change::Applied(node) => state.cache.upsert_node(Arc::new(node)),
        Change::Deleted(name) => state.cache.remove_node(&name),
    }
    state.queue.cluster_changed(super::now());
}

fn on_namespace(state: &mut State, change: Change<Namespace>) {
    match change {
        Change::Applied(ns) => {
            let name = ns.metadata.name.clone().unwrap_or_default();
            state
                .cache
                .upsert_namespace(&name, ns.metadata.labels.clone().unwrap_or_default());
        }
        Change::Deleted(name) => state.cache.remove_namespace(&name),
    }
}

/// A claim appearing or changing may let waiting pods in (it exists now, or got bound).
fn on_claim(state: &mut State, change: Change<PersistentVolumeClaim>) {
    match change {
        Change::Applied(claim) => {
            state.cache.volumes_mut().upsert_claim(claim);
            state.queue.cluster_changed(super::now());
        }
        Change::Deleted(key) => state.cache.volumes_mut().remove_claim(&key),
    }
}

/// A volume appearing or changing may give waiting claims somewhere to go.
fn on_volume(state: &mut State, change: Change<PersistentVolume>) {
    match change {
        Change::Applied(pv) => {
            state.cache.volumes_mut().upsert_volume(pv);
            state.queue.cluster_changed(super::now());
        }
        Change::Deleted(name) => state.cache.volumes_mut().remove_volume(&name),
    }
}

/// A class appearing or changing may make its claims bindable.
fn on_class(state: &mut State, change: Change<StorageClass>) {
    match change {
        Change::Applied(class) => {
            state.cache.volumes_mut().upsert_class(class);
            state.queue.cluster_changed(super::now());
        }
        Change::Deleted(name) => state.cache.volumes_mut().remove_class(&name),
    }
}

/// How many watches [`run`] runs.
pub const WATCHES: usize = 6;

/// Runs the [`WATCHES`] watches until `stop`.
pub async fn run(
    client: Client,
    shared: Arc<Shared>,
    scheduler_name: String,
    stop: CancellationToken,
) {
    let nodes = watch(
        Api::<Node>::all(client.clone()),
        Arc::clone(&shared),
        stop.clone(),
        on_node,
    );
    let pods = watch(
        Api::<Pod>::all(client.clone()),
        Arc::clone(&shared),
        stop.clone(),
        move |s, c| on_pod(s, c, &scheduler_name),
    );
    let namespaces = watch(
        Api::<Namespace>::all(client.clone()),
        Arc::clone(&shared),
        stop.clone(),
        on_namespace,
    );
    let claims = watch(
        Api::<PersistentVolumeClaim>::all(client.clone()),
        Arc::clone(&shared),
        stop.clone(),
        on_claim,
    );
    let volumes = watch(
        Api::<PersistentVolume>::all(client.clone()),
        Arc::clone(&shared),
        stop.clone(),
        on_volume,
    );
    let classes = watch(Api::<StorageClass>::all(client), shared, stop, on_class);
    tokio::join!(nodes, pods, namespaces, claims, volumes, classes);
}
