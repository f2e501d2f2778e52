//! Metadata-only watches over resource types chosen at run time (from discovery), merged into
//! one channel: what a controller that follows every type (the garbage collector) watches
//! through. Each watch is kube-runtime's watcher over `Api<PartialObjectMeta<_>>` (which
//! kube-rs asks for metadata only) with its default reconnect backoff; the set follows
//! discovery through [`MetadataWatches::sync`].

use std::collections::HashMap;

use futures::StreamExt;
use kube::api::{Api, DynamicObject, PartialObjectMeta};
use kube::core::ApiResource;
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// An object's metadata, as metadata watches deliver it.
pub type MetaObject = PartialObjectMeta<DynamicObject>;

/// How many observations may wait for the consumer before watches pause.
const CHANNEL_CAPACITY: usize = 1024;

/// One watch event, with the resource type it came from.
#[derive(Debug)]
pub struct Observation {
    /// The resource type watched.
    pub resource: ApiResource,
    /// What the watch saw.
    pub event: watcher::Event<MetaObject>,
}

/// The key a watched type is known by: the same group and plural at another version is
/// another watch.
pub fn resource_key(resource: &ApiResource) -> String {
    format!(
        "{}/{}/{}",
        resource.group, resource.version, resource.plural
    )
}

/// A changing set of cluster-wide metadata watches feeding one channel.
pub struct MetadataWatches {
    client: Client,
    sender: mpsc::Sender<Observation>,
    running: HashMap<String, CancellationToken>,
    tasks: JoinSet<()>,
    shutdown: CancellationToken,
}

impl MetadataWatches {
    /// No watches yet; observations of those [`sync`](Self::sync) starts arrive on the
    /// returned receiver. Every watch stops when `shutdown` is cancelled.
    pub fn new(client: Client, shutdown: CancellationToken) -> (Self, mpsc::Receiver<Observation>) {
        let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
        let watches = Self {
            client,
            sender,
            running: HashMap::new(),
            tasks: JoinSet::new(),
            shutdown,
        };
        (watches, receiver)
    }

    /// Whether `resource` is watched.
    pub fn is_watching(&self, resource: &ApiResource) -> bool {
        self.running.contains_key(&resource_key(resource))
    }

    /// Watches exactly `wanted`: starts the watches missing, stops those no longer wanted.
    pub fn sync(&mut self, wanted: &[ApiResource]) {
        let wanted_keys: HashMap<String, &ApiResource> =
            wanted.iter().map(|r| (resource_key(r), r)).collect();
        self.running.retain(|k, token| {
            let keep = wanted_keys.contains_key(k);
            if !keep {
                tracing::debug!(resource = %k, "stopping a metadata watch");
                token.cancel();
            }
            keep
        });
        for (k, resource) in wanted_keys {
            if self.running.contains_key(&k) {
                continue;
            }
            let token = self.shutdown.child_token();
            self.running.insert(k, token.clone());
            self.tasks.spawn(watch(
                self.client.clone(),
                resource.clone(),
                self.sender.clone(),
                token,
            ));
            tracing::debug!(resource = %resource_key(resource), "starting a metadata watch");
        }
        // Reap the watches that ended.
        while self.tasks.try_join_next().is_some() {}
    }

    /// Stops every watch and waits for them.
    pub async fn stop(mut self) {
        for token in self.running.values() {
            token.cancel();
        }
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Forwards one type's watch events until `stop` is cancelled or the consumer is gone.
async fn watch(
    client: Client,
    resource: ApiResource,
    sender: mpsc::Sender<Observation>,
    stop: CancellationToken,
) {
    let api: Api<MetaObject> = Api::all_with(client, &resource);
    let mut events = watcher(api, watcher::Config::default())
        .default_backoff()
        .take_until(stop.clone().cancelled_owned())
        .boxed();
    while let Some(event) = events.next().await {
        match event {
            Ok(event) => {
                let observation = Observation {
                    resource: resource.clone(),
                    event,
                };
                tokio::select! {
                    sent = sender.send(observation) => if sent.is_err() { return },
                    () = stop.cancelled() => return,
                }
            }
            Err(error) => {
                tracing::debug!(resource = %resource_key(&resource), %error, "metadata watch failed; retrying");
            }
        }
    }
}
