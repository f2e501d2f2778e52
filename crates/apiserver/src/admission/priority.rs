//! Upstream's Priority admission: a new pod's `spec.priorityClassName` is resolved to
//! `spec.priority` and `spec.preemptionPolicy` from its scheduling.k8s.io PriorityClass; a pod
//! naming no class gets the global default class (the lowest-valued one if several claim it),
//! or priority 0 when there is none. An unknown class, or a priority or preemption policy in the
//! spec that differs from the class's, is 403 Forbidden. Updates keep the stored values.

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::allocators::WriteHook;
use crate::error::ApiError;
use crate::meta;
use crate::storage::{Objects, ReadAt};

/// The policy when a class names none (and when no class applies).
const PREEMPT_LOWER_PRIORITY: &str = "PreemptLowerPriority";

/// The built-in classes every cluster has: name, value, description.
pub const SYSTEM_PRIORITY_CLASSES: &[(&str, i64, &str)] = &[
    (
        "system-node-critical",
        2_000_001_000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
    (
        "system-cluster-critical",
        2_000_000_000,
        "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    ),
];

/// Resolves pods' priorities from PriorityClasses.
pub struct Priority {
    objects: Objects,
    prefix: String,
}

impl Priority {
    /// Reads PriorityClasses from `objects` under `prefix` (their storage prefix).
    pub fn new(objects: Objects, prefix: String) -> Self {
        Self { objects, prefix }
    }

    async fn class(&self, name: &str) -> Result<Option<Value>, ApiError> {
        let stored = self.objects.get(&format!("{}{name}", self.prefix)).await?;
        Ok(stored.map(|s| s.object))
    }

    async fn classes(&self) -> Result<Vec<Value>, ApiError> {
        let page = self
            .objects
            .list(&self.prefix, 0, None, ReadAt::Latest, &|_, _| Ok(true))
            .await?;
        page.decoded(&self.prefix)
    }
}

/// What a pod gets: the class to record (if any), its value and preemption policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The class name to set (the default class's when the pod named none).
    pub class: Option<String>,
    /// `spec.priority`.
    pub priority: i64,
    /// `spec.preemptionPolicy`.
    pub preemption_policy: String,
}

impl Resolved {
    fn of(class: &Value) -> Self {
        Self {
            class: Some(meta::name(class).to_owned()),
            priority: class.get("value").and_then(Value::as_i64).unwrap_or(0),
            preemption_policy: class
                .get("preemptionPolicy")
                .and_then(Value::as_str)
                .unwrap_or(PREEMPT_LOWER_PRIORITY)
                .to_owned(),
        }
    }
}

/// The global default class among `classes`: the lowest value among those marked, as upstream
/// picks when a race left several.
pub fn default_class(classes: &[Value]) -> Resolved {
    classes
        .iter()
        .filter(|c| c.get("globalDefault").and_then(Value::as_bool) == Some(true))
        .map(Resolved::of)
        .min_by_key(|r| r.priority)
        .unwrap_or(Resolved {
            class: None,
            priority: 0,
            preemption_policy: PREEMPT_LOWER_PRIORITY.to_owned(),
        })
}

/// Writes `resolved` into `pod`.
///
/// # Errors
/// 403 when the spec already holds a different priority or preemption policy.
pub fn apply(pod: &mut Value, resolved: Resolved) -> Result<(), ApiError> {
    let name = meta::name(pod).to_owned();
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    let forbidden =
        |what: String| ApiError::Forbidden(format!("pods \"{name}\" is forbidden: {what}"));
    if let Some(given) = spec.get("priority").and_then(Value::as_i64) {
        if given != resolved.priority {
            return Err(forbidden(format!(
                "the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {} from the given PriorityClass name",
                resolved.priority
            )));
        }
    }
    if let Some(given) = spec.get("preemptionPolicy").and_then(Value::as_str) {
        if given != resolved.preemption_policy {
            return Err(forbidden(format!(
                "the string value of PreemptionPolicy ({given}) must not be provided in pod spec; priority admission controller computed {} from the given PriorityClass name",
                resolved.preemption_policy
            )));
        }
    }
    if let Some(class) = resolved.class {
        spec.insert("priorityClassName".to_owned(), json!(class));
    }
    spec.insert("priority".to_owned(), json!(resolved.priority));
    spec.insert(
        "preemptionPolicy".to_owned(),
        json!(resolved.preemption_policy),
    );
    Ok(())
}

#[async_trait]
impl WriteHook for Priority {
    async fn before_create(&self, obj: &mut Value) -> Result<(), ApiError> {
        let named = meta::str_at(obj, "/spec/priorityClassName").to_owned();
        let resolved = if named.is_empty() {
            default_class(&self.classes().await?)
        } else {
            match self.class(&named).await? {
                Some(class) => Resolved::of(&class),
                None => {
                    return Err(ApiError::Forbidden(format!(
                        "pods \"{}\" is forbidden: no PriorityClass with name {named} was found",
                        meta::name(obj)
                    )))
                }
            }
        };
        apply(obj, resolved)
    }

    /// Priorities are set once, at creation: an update keeps the stored ones.
    async fn before_update(&self, old: &Value, new: &mut Value) -> Result<(), ApiError> {
        let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        for field in ["priority", "preemptionPolicy"] {
            match old.pointer(&format!("/spec/{field}")) {
                Some(v) => spec.insert(field.to_owned(), v.clone()),
                None => spec.remove(field),
            };
        }
        Ok(())
    }

    async fn release(&self, _obj: &Value, _kept: Option<&Value>) {}
}

#[cfg(test)]
#[path = "priority_tests.rs"]
mod tests;
