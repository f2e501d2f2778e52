//! The task that serves custom resources: it lists CRDs at start, then follows their changes
//! through the watch cache, and on each change rebuilds the registry, writes CRD status and
//! clears the custom resources of CRDs being deleted.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::cleanup;
use super::definition::resource_types;
use super::definition_strategy::DefinitionStrategy;
use super::status::{self, CLEANUP_FINALIZER};
use super::ControllerError;
use crate::error::ApiError;
use crate::handlers::ApiState;
use crate::meta;
use crate::registry::ResourceType;
use crate::storage::{ReadAt, Stored};
use crate::watch_cache::{CachedEvent, Live};

/// Where CRDs are stored.
pub const DEFINITIONS_PREFIX: &str = "/registry/apiextensions.k8s.io/customresourcedefinitions/";

/// How many queued events one reconcile takes at most.
const BATCH: usize = 1024;

/// The CRD controller's state.
pub struct Controller {
    state: Arc<ApiState>,
    /// The registry's types without any custom resource.
    base: Vec<Arc<ResourceType>>,
    /// Every CRD, by name.
    definitions: BTreeMap<String, Stored>,
    /// The newest store revision applied.
    applied: i64,
}

/// Whether `rt` is the CustomResourceDefinition type itself.
pub fn is_definition(rt: &ResourceType) -> bool {
    rt.group == "apiextensions.k8s.io" && rt.plural == "customresourcedefinitions"
}

/// The registry's current types with CRD validation added to the CustomResourceDefinition type.
fn with_definition_strategy(types: &[Arc<ResourceType>]) -> Vec<Arc<ResourceType>> {
    types
        .iter()
        .map(|rt| {
            if !is_definition(rt) {
                return rt.clone();
            }
            Arc::new(ResourceType {
                group: rt.group.clone(),
                version: rt.version.clone(),
                plural: rt.plural.clone(),
                singular: rt.singular.clone(),
                kind: rt.kind.clone(),
                namespaced: rt.namespaced,
                short_names: rt.short_names.clone(),
                categories: rt.categories.clone(),
                subresources: rt.subresources,
                storage_prefix: rt.storage_prefix.clone(),
                strategy: Arc::new(DefinitionStrategy::new(rt.strategy.clone())),
                conversion: None,
            })
        })
        .collect()
}

/// Lists the CRDs, serves their resources, then follows changes until `shutdown`.
///
/// # Errors
/// When the initial list or subscription fails.
pub async fn start(
    state: Arc<ApiState>,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, ApiError> {
    let base = with_definition_strategy(&state.registry.index().types);
    let mut controller = Controller {
        state,
        base,
        definitions: BTreeMap::new(),
        applied: 0,
    };
    let live = controller.resync().await?;
    Ok(tokio::spawn(controller.run(live, shutdown)))
}

impl Controller {
    /// Reads every CRD afresh and acts on them; returns the live feed that follows.
    async fn resync(&mut self) -> Result<broadcast::Receiver<Live>, ApiError> {
        let page = self
            .state
            .objects
            .list(DEFINITIONS_PREFIX, 0, None, ReadAt::Latest, &|_, _| {
                Ok(true)
            })
            .await?;
        self.definitions = page
            .items
            .iter()
            .map(|raw| {
                let object = raw.decode(DEFINITIONS_PREFIX)?;
                let stored = Stored {
                    mod_revision: raw.revision,
                    object,
                };
                Ok((meta::name(&stored.object).to_owned(), stored))
            })
            .collect::<Result<_, ApiError>>()?;
        self.applied = page.revision;
        let subscription = self
            .state
            .watch_cache
            .subscribe(page.revision, "/registry/")?;
        let replay: Vec<Arc<CachedEvent>> = subscription.replay;
        self.apply(&replay);
        self.reconcile().await;
        let all: HashSet<String> = self.definitions.keys().cloned().collect();
        self.clean_up(&all).await;
        Ok(subscription.live)
    }

    async fn run(mut self, mut live: broadcast::Receiver<Live>, shutdown: CancellationToken) {
        loop {
            let first = tokio::select! {
                _ = shutdown.cancelled() => return,
                next = live.recv() => next,
            };
            let mut events = Vec::new();
            let mut lost = false;
            let mut next = first;
            loop {
                match next {
                    Ok(Live::Event(e)) => events.push(e),
                    Ok(Live::Reset) | Err(broadcast::error::RecvError::Lagged(_)) => lost = true,
                    Err(broadcast::error::RecvError::Closed) => return,
                }
                if events.len() >= BATCH {
                    break;
                }
                match live.try_recv() {
                    Ok(item) => next = Ok(item),
                    Err(broadcast::error::TryRecvError::Lagged(n)) => {
                        next = Err(broadcast::error::RecvError::Lagged(n))
                    }
                    Err(_) => break,
                }
            }
            if lost {
                live = self.resync_until_done(&shutdown).await;
                continue;
            }
            let (changed, touched) = self.apply(&events);
            if changed {
                self.reconcile().await;
            }
            let todo: HashSet<String> = if changed {
                self.definitions.keys().cloned().collect()
            } else {
                touched
            };
            self.clean_up(&todo).await;
        }
    }

    async fn resync_until_done(
        &mut self,
        shutdown: &CancellationToken,
    ) -> broadcast::Receiver<Live> {
        loop {
            match self.resync().await {
                Ok(live) => return live,
                Err(source) => {
                    tracing::warn!(error = %ControllerError::ResyncFailed { source }, "retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return broadcast::channel(1).1,
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
            }
        }
    }

    /// Applies changes: returns whether a CRD changed and which terminating CRDs saw changes
    /// to their custom resources.
    fn apply(&mut self, events: &[Arc<CachedEvent>]) -> (bool, HashSet<String>) {
        let mut changed = false;
        let mut touched = HashSet::new();
        for event in events {
            if event.revision <= self.applied {
                continue;
            }
            self.applied = event.revision;
            if let Some(name) = event.key.strip_prefix(DEFINITIONS_PREFIX) {
                changed = true;
                match event.kind {
                    rudder_store::EventKind::Put => match event.object.decode(&event.key) {
                        Ok(object) => {
                            let stored = Stored {
                                object,
                                mod_revision: event.revision,
                            };
                            self.definitions.insert(name.to_owned(), stored);
                        }
                        Err(error) => tracing::warn!(%error, "ignoring an undecodable CRD"),
                    },
                    rudder_store::EventKind::Delete => {
                        self.definitions.remove(name);
                    }
                }
                continue;
            }
            for (name, stored) in &self.definitions {
                if meta::is_deleting(&stored.object) && cleanup::owns(&stored.object, &event.key) {
                    touched.insert(name.clone());
                }
            }
        }
        (changed, touched)
    }

    /// Rebuilds the registry, then writes the status each CRD should have.
    async fn reconcile(&mut self) {
        let objects: Vec<&Value> = self.definitions.values().map(|s| &s.object).collect();
        let decisions = status::plan(&objects, &meta::now_rfc3339());
        let mut types = self.base.clone();
        for decision in &decisions {
            let Some(names) = &decision.accepted else {
                continue;
            };
            match resource_types(&decision.crd, names) {
                Ok(served) => types.extend(served),
                Err(source) => tracing::warn!(
                    error = %ControllerError::SchemaUnusable { name: decision.name.clone(), source },
                    "custom resource not served"
                ),
            }
        }
        // The registry changes before `Established` is written, so clients that wait for the
        // condition find the resources.
        self.state.registry.replace_all(types);
        for decision in decisions {
            let Some(stored) = self.definitions.get(&decision.name) else {
                continue;
            };
            if stored.object.get("status") == Some(&decision.status) {
                continue;
            }
            let mut updated = stored.object.clone();
            updated["status"] = decision.status;
            let key = format!("{DEFINITIONS_PREFIX}{}", decision.name);
            // A lost race is fine: the winner's change arrives as an event and is reconciled.
            if let Err(source) = self
                .state
                .objects
                .update(&key, &updated, stored.mod_revision)
                .await
            {
                tracing::warn!(error = %ControllerError::StatusWriteFailed { name: decision.name, source }, "CRD status not written");
            }
        }
    }

    /// Deletes the custom resources of the named CRDs being deleted, then lets the CRDs go.
    async fn clean_up(&self, names: &HashSet<String>) {
        for name in names {
            let Some(stored) = self.definitions.get(name) else {
                continue;
            };
            if !meta::is_deleting(&stored.object)
                || !meta::finalizers(&stored.object)
                    .iter()
                    .any(|f| f == CLEANUP_FINALIZER)
            {
                continue;
            }
            let key = format!("{DEFINITIONS_PREFIX}{name}");
            if let Err(source) = cleanup::run(&self.state.objects, &key, stored).await {
                tracing::warn!(error = %ControllerError::CleanupFailed { name: name.clone(), source }, "will retry on the next change");
            }
        }
    }
}
