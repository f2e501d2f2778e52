//! Recording `core/v1` Events about the objects a component acts on, as upstream's
//! controllers do (client-go's event recorder): one Event per distinct
//! (object, type, reason, message), and a repeat within the aggregation window bumps that
//! Event's `count` and `lastTimestamp` instead of writing a new one.
//!
//! Events are best effort: a failure to record one is logged and never fails a reconcile.

use std::collections::{HashMap, HashSet};
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

/// The most entries each of a correlator's memories keeps before forgetting stale ones.
const REMEMBERED: usize = 4096;

/// Similar Events (differing only in message) about one object beyond which they are
/// combined into one aggregate Event (upstream: 10 in the aggregation window).
const AGGREGATE_AFTER: usize = 10;

/// What an aggregate Event's message starts with, as upstream's.
const AGGREGATE_PREFIX: &str = "(combined from similar events): ";

/// How many Events one source may write about one object at once (upstream's spam burst).
const SPAM_BURST: f64 = 25.0;

/// How long the spam filter takes to allow one more Event about an object (upstream: one
/// every 5 minutes).
const SPAM_REFILL: SignedDuration = SignedDuration::from_secs(300);

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

/// The object an Event is about, as the spam filter and aggregation tell objects apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ObjectKey {
    namespace: String,
    uid: String,
    name: String,
    kind: String,
    api_version: String,
}

impl ObjectKey {
    fn of(regarding: &ObjectReference) -> Self {
        let field = |v: &Option<String>| v.clone().unwrap_or_default();
        Self {
            namespace: field(&regarding.namespace),
            uid: field(&regarding.uid),
            name: field(&regarding.name),
            kind: field(&regarding.kind),
            api_version: field(&regarding.api_version),
        }
    }
}

/// Events that differ only in their message: what aggregation groups.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SimilarKey {
    object: ObjectKey,
    event_type: EventType,
    reason: String,
}

/// What makes two occurrences the same Event: similar events with the same message, or the
/// aggregate Event of a group (`message: None`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct EventKey {
    similar: SimilarKey,
    message: Option<String>,
}

/// An Event already written: its name, how often it happened, and when it was first seen.
#[derive(Debug, Clone)]
struct Recorded {
    name: String,
    count: i32,
    first: Timestamp,
}

/// The distinct messages seen recently in a group of similar events.
#[derive(Debug, Clone)]
struct Similar {
    messages: HashSet<String>,
    last: Timestamp,
}

/// The spam filter's token bucket for one object.
#[derive(Debug, Clone, Copy)]
struct Budget {
    tokens: f64,
    at: Timestamp,
}

impl Budget {
    /// The bucket at `now`, refilled at one Event per [`SPAM_REFILL`] up to [`SPAM_BURST`].
    fn refilled(self, now: Timestamp) -> Self {
        let elapsed = now.duration_since(self.at).as_secs_f64().max(0.0);
        Self {
            tokens: (self.tokens + elapsed / SPAM_REFILL.as_secs_f64()).min(SPAM_BURST),
            at: now,
        }
    }
}

/// What recording one occurrence should do, decided without I/O.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Create this new Event.
    Create(Box<Event>),
    /// Bump the Event `name` to `count` occurrences, last seen `at`, saying `message`.
    Bump {
        /// The Event's name.
        name: String,
        /// Its namespace.
        namespace: String,
        /// The new count.
        count: i32,
        /// The new lastTimestamp.
        at: Timestamp,
        /// The message of the latest occurrence.
        message: String,
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
        let Some(write) = self.correlator.plan(regarding, event_type, reason, message) else {
            return;
        };
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
                message,
            } => {
                let api: Api<Event> = Api::namespaced(self.client.clone(), namespace);
                let patch =
                    json!({ "count": count, "lastTimestamp": Time(*at), "message": message });
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

/// What a correlator remembers, bounded by [`REMEMBERED`] entries per map.
#[derive(Default)]
struct Memory {
    recorded: HashMap<EventKey, Recorded>,
    similar: HashMap<SimilarKey, Similar>,
    budgets: HashMap<ObjectKey, Budget>,
}

/// The I/O-free part of a recorder, after client-go's event correlator: it names new
/// Events, folds repeats into recent ones, combines more than [`AGGREGATE_AFTER`] similar
/// Events (same object, type and reason, different messages) into one, and lets one source
/// write at most [`SPAM_BURST`] Events about an object, then one per [`SPAM_REFILL`].
pub struct Correlator {
    component: String,
    host: String,
    clock: Arc<dyn Clock>,
    memory: Mutex<Memory>,
}

impl Correlator {
    /// A correlator for Events written as `component` running on `host`.
    pub fn new(component: &str, host: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            component: component.to_owned(),
            host: host.to_owned(),
            clock,
            memory: Mutex::new(Memory::default()),
        }
    }

    /// Decides whether this occurrence makes a new Event, bumps a recent one, or is dropped
    /// by the spam filter (`None`), and remembers it.
    pub fn plan(
        &self,
        regarding: &ObjectReference,
        event_type: EventType,
        reason: &str,
        message: &str,
    ) -> Option<Write> {
        let now = self.clock.now();
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        memory.forget_old(now);
        let similar = SimilarKey {
            object: ObjectKey::of(regarding),
            event_type,
            reason: reason.to_owned(),
        };
        let (key, message) = if memory.aggregates(&similar, message, now) {
            let key = EventKey {
                similar: similar.clone(),
                message: None,
            };
            (key, format!("{AGGREGATE_PREFIX}{message}"))
        } else {
            let key = EventKey {
                similar: similar.clone(),
                message: Some(message.to_owned()),
            };
            (key, message.to_owned())
        };
        let allowed = memory.take_token(&similar.object, now);
        let recent = memory
            .recorded
            .get_mut(&key)
            .filter(|seen| now.duration_since(seen.first) < AGGREGATION_WINDOW);
        if let Some(seen) = recent {
            seen.count = seen.count.saturating_add(1);
            return allowed.then(|| Write::Bump {
                name: seen.name.clone(),
                namespace: event_namespace(regarding),
                count: seen.count,
                at: now,
                message,
            });
        }
        if !allowed {
            return None;
        }
        let event = self.new_event(regarding, event_type, reason, &message, now);
        let name = event.metadata.name.clone().unwrap_or_default();
        memory.recorded.insert(
            key,
            Recorded {
                name,
                count: 1,
                first: now,
            },
        );
        Some(Write::Create(Box::new(event)))
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

impl Memory {
    /// Notes `message` in its group of similar events; whether the group now has enough
    /// distinct messages to be combined into one aggregate Event.
    fn aggregates(&mut self, similar: &SimilarKey, message: &str, now: Timestamp) -> bool {
        let group = self
            .similar
            .entry(similar.clone())
            .or_insert_with(|| Similar {
                messages: HashSet::new(),
                last: now,
            });
        if now.duration_since(group.last) > AGGREGATION_WINDOW {
            group.messages.clear();
        }
        group.last = now;
        group.messages.insert(message.to_owned());
        if group.messages.len() < AGGREGATE_AFTER {
            return false;
        }
        // Keep the set below the threshold, so that every further new message aggregates
        // and memory stays bounded.
        if let Some(any) = group.messages.iter().next().cloned() {
            group.messages.remove(&any);
        }
        true
    }

    /// Takes one token from `object`'s spam budget; `false` when it has none left.
    fn take_token(&mut self, object: &ObjectKey, now: Timestamp) -> bool {
        let budget = self.budgets.get(object).map_or(
            Budget {
                tokens: SPAM_BURST,
                at: now,
            },
            |b| b.refilled(now),
        );
        let allowed = budget.tokens >= 1.0;
        let tokens = if allowed {
            budget.tokens - 1.0
        } else {
            budget.tokens
        };
        self.budgets
            .insert(object.clone(), Budget { tokens, ..budget });
        allowed
    }

    /// Drops what no longer affects a decision once a map has grown past [`REMEMBERED`].
    fn forget_old(&mut self, now: Timestamp) {
        let recent = |at: Timestamp| now.duration_since(at) < AGGREGATION_WINDOW;
        if self.recorded.len() >= REMEMBERED {
            self.recorded.retain(|_, seen| recent(seen.first));
        }
        if self.similar.len() >= REMEMBERED {
            self.similar.retain(|_, group| recent(group.last));
        }
        if self.budgets.len() >= REMEMBERED {
            self.budgets
                .retain(|_, budget| budget.refilled(now).tokens < SPAM_BURST);
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
