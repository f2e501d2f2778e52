//! Recording `core/v1` Events about the objects a component acts on, as upstream's
//! controllers do (client-go's event recorder): one Event per distinct
//! (object, type, reason, message), and a repeat within the aggregation window bumps that
//! Event's `count` and `lastTimestamp` instead of writing a new one.
//!
//! Events are best effort: a failure to record one is logged and never fails a reconcile.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use serde_json::json;

use crate::clock::Clock;

/// How long a recorded Event keeps absorbing repeats (upstream's correlator: 10 minutes).
const AGGREGATION_WINDOW: SignedDuration = SignedDuration::from_secs(600);

/// The most distinct Events remembered for aggregation before the oldest are forgotten.
const REMEMBERED: usize = 4096;

/// Whether an Event reports normal operation or something a user should look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// `Normal`.
    Normal,
    /// `Warning`.
    Warning,
}

impl EventType {
    /// The wire value of the Event's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "Normal",
            Self::Warning => "Warning",
        }
    }
}

/// An Event a decision core asks for, recorded by the controller's I/O side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Normal or Warning.
    pub kind: EventType,
    /// The reason.
    pub reason: &'static str,
    /// The message.
    pub message: String,
}

impl Note {
    /// A `Normal` Event.
    pub fn normal(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: EventType::Normal,
            reason,
            message: message.into(),
        }
    }

    /// A `Warning` Event.
    pub fn warning(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: EventType::Warning,
            reason,
            message: message.into(),
        }
    }
}

/// What makes two Events the same Event for aggregation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct EventKey {
    namespace: String,
    uid: String,
    name: String,
    kind: String,
    event_type: EventType,
    reason: String,
    message: String,
}

/// An Event already written: its name, how often it happened, and when it was first seen.
#[derive(Debug, Clone)]
struct Recorded {
    name: String,
    count: i32,
    first: Timestamp,
}

/// What recording one occurrence should do, decided without I/O.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Create this new Event.
    Create(Box<Event>),
    /// Bump the Event `name` to `count` occurrences, last seen `at`.
    Bump {
        /// The Event's name.
        name: String,
        /// Its namespace.
        namespace: String,
        /// The new count.
        count: i32,
        /// The new lastTimestamp.
        at: Timestamp,
    },
}

/// Records Events for one component (`source.component`, `reportingComponent`).
#[derive(Clone)]
pub struct EventRecorder {
    client: Client,
    correlator: Arc<Correlator>,
}

impl EventRecorder {
    /// A recorder writing Events as `component` running on `host`.
    pub fn new(client: Client, component: &str, host: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            correlator: Arc::new(Correlator::new(component, host, clock)),
        }
    }

    /// Records that `reason` happened to `object`, with a human-readable `message`.
    pub async fn publish<K>(&self, object: &K, event_type: EventType, reason: &str, message: &str)
    where
        K: Resource<DynamicType = ()>,
    {
        let regarding = object.object_ref(&());
        self.publish_ref(&regarding, event_type, reason, message)
            .await;
    }

    /// Records that `reason` happened to the object `regarding` names.
    pub async fn publish_ref(
        &self,
        regarding: &ObjectReference,
        event_type: EventType,
        reason: &str,
        message: &str,
    ) {
        let write = self.correlator.plan(regarding, event_type, reason, message);
        let result = match &write {
            Write::Create(event) => {
                let namespace = event.metadata.namespace.as_deref().unwrap_or("default");
                let api: Api<Event> = Api::namespaced(self.client.clone(), namespace);
                api.create(&PostParams::default(), event).await.map(drop)
            }
            Write::Bump {
                name,
                namespace,
                count,
                at,
            } => {
                let api: Api<Event> = Api::namespaced(self.client.clone(), namespace);
                let patch = json!({ "count": count, "lastTimestamp": Time(*at) });
                api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(drop)
            }
        };
        if let Err(error) = result {
            tracing::debug!(%error, reason, "could not record an event");
        }
    }
}

/// The I/O-free part of a recorder: it names new Events and folds repeats into recent ones.
pub struct Correlator {
    component: String,
    host: String,
    clock: Arc<dyn Clock>,
    recorded: Mutex<HashMap<EventKey, Recorded>>,
}

impl Correlator {
    /// A correlator for Events written as `component` running on `host`.
    pub fn new(component: &str, host: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            component: component.to_owned(),
            host: host.to_owned(),
            clock,
            recorded: Mutex::new(HashMap::new()),
        }
    }

    /// Decides whether this occurrence makes a new Event or bumps a recent identical one,
    /// and remembers it.
    pub fn plan(
        &self,
        regarding: &ObjectReference,
        event_type: EventType,
        reason: &str,
        message: &str,
    ) -> Write {
        let now = self.clock.now();
        let key = EventKey {
            namespace: regarding.namespace.clone().unwrap_or_default(),
            uid: regarding.uid.clone().unwrap_or_default(),
            name: regarding.name.clone().unwrap_or_default(),
            kind: regarding.kind.clone().unwrap_or_default(),
            event_type,
            reason: reason.to_owned(),
            message: message.to_owned(),
        };
        let mut recorded = self.recorded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(seen) = recorded.get_mut(&key) {
            if now.duration_since(seen.first) < AGGREGATION_WINDOW {
                seen.count = seen.count.saturating_add(1);
                return Write::Bump {
                    name: seen.name.clone(),
                    namespace: event_namespace(regarding),
                    count: seen.count,
                    at: now,
                };
            }
        }
        if recorded.len() >= REMEMBERED {
            recorded.retain(|_, seen| now.duration_since(seen.first) < AGGREGATION_WINDOW);
        }
        let event = self.new_event(regarding, event_type, reason, message, now);
        let name = event.metadata.name.clone().unwrap_or_default();
        recorded.insert(
            key,
            Recorded {
                name,
                count: 1,
                first: now,
            },
        );
        Write::Create(Box::new(event))
    }

    fn new_event(
        &self,
        regarding: &ObjectReference,
        event_type: EventType,
        reason: &str,
        message: &str,
        now: Timestamp,
    ) -> Event {
        let object_name = regarding.name.as_deref().unwrap_or("unknown");
        // Upstream names Events `<object>.<hex nanoseconds>`.
        let name = format!("{object_name}.{:x}", now.as_nanosecond());
        Event {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: Some(event_namespace(regarding)),
                ..ObjectMeta::default()
            },
            involved_object: regarding.clone(),
            type_: Some(event_type.as_str().to_owned()),
            reason: Some(reason.to_owned()),
            message: Some(message.to_owned()),
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: None::<MicroTime>,
            source: Some(EventSource {
                component: Some(self.component.clone()),
                host: None,
            }),
            reporting_component: Some(self.component.clone()),
            reporting_instance: Some(self.host.clone()),
            ..Event::default()
        }
    }
}

/// Events about cluster-scoped objects live in `default`, as upstream's.
fn event_namespace(regarding: &ObjectReference) -> String {
    regarding
        .namespace
        .clone()
        .filter(|ns| !ns.is_empty())
        .unwrap_or_else(|| "default".to_owned())
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
