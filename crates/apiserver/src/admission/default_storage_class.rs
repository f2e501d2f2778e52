//! Upstream's DefaultStorageClass admission: a PersistentVolumeClaim created without a
//! StorageClass (neither `spec.storageClassName` nor the beta annotation) gets the default
//! class, the one annotated `storageclass.kubernetes.io/is-default-class: "true"` (the newest
//! when several are, as upstream since 1.28). An explicit `""` asks for no class and stays.

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::allocators::WriteHook;
use crate::error::ApiError;
use crate::meta;
use crate::storage::{Objects, ReadAt};

/// The annotation marking the default StorageClass.
pub const IS_DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";
/// Its beta spelling, still honoured.
const BETA_IS_DEFAULT_CLASS: &str = "storageclass.beta.kubernetes.io/is-default-class";
/// The beta annotation naming a claim's class.
const BETA_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

/// Fills in the default StorageClass of new claims.
pub struct DefaultStorageClass {
    objects: Objects,
    prefix: String,
}

impl DefaultStorageClass {
    /// Reads StorageClasses from `objects` under `prefix` (their storage prefix).
    pub fn new(objects: Objects, prefix: String) -> Self {
        Self { objects, prefix }
    }
}

/// Whether a StorageClass is marked default.
fn is_default(class: &Value) -> bool {
    [IS_DEFAULT_CLASS, BETA_IS_DEFAULT_CLASS].iter().any(|key| {
        class
            .pointer(&format!("/metadata/annotations/{}", key.replace('/', "~1")))
            .and_then(Value::as_str)
            == Some("true")
    })
}

/// The default class among `classes`: the newest marked one, ties by name.
pub fn default_class(classes: &[Value]) -> Option<&str> {
    classes
        .iter()
        .filter(|c| is_default(c))
        .max_by(|a, b| {
            let created = |c: &Value| meta::str_at(c, "/metadata/creationTimestamp").to_owned();
            created(a)
                .cmp(&created(b))
                .then_with(|| meta::name(b).cmp(meta::name(a)))
        })
        .map(meta::name)
}

/// Whether a claim already says which class it wants (possibly none, with `""`).
fn names_class(claim: &Value) -> bool {
    let field = claim
        .pointer("/spec/storageClassName")
        .is_some_and(|v| !v.is_null());
    let beta = format!("/metadata/annotations/{}", BETA_CLASS.replace('/', "~1"));
    field || claim.pointer(&beta).is_some()
}

#[async_trait]
impl WriteHook for DefaultStorageClass {
    async fn before_create(&self, obj: &mut Value) -> Result<(), ApiError> {
        if names_class(obj) {
            return Ok(());
        }
        let page = self
            .objects
            .list(&self.prefix, 0, None, ReadAt::Latest, &|_, _| Ok(true))
            .await?;
        let classes = page.decoded(&self.prefix)?;
        if let Some(class) = default_class(&classes) {
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                spec.insert("storageClassName".to_owned(), json!(class));
            }
        }
        Ok(())
    }

    async fn before_update(&self, _old: &Value, _new: &mut Value) -> Result<(), ApiError> {
        Ok(())
    }

    async fn release(&self, _obj: &Value, _kept: Option<&Value>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str, created: &str, default: bool) -> Value {
        json!({"metadata": {"name": name, "creationTimestamp": created,
            "annotations": {IS_DEFAULT_CLASS: if default { "true" } else { "false" }}}})
    }

    #[test]
    fn the_newest_default_class_wins() {
        let classes = [
            class("old", "2024-01-01T00:00:00Z", true),
            class("plain", "2025-01-01T00:00:00Z", false),
            class("new", "2024-06-01T00:00:00Z", true),
        ];
        assert_eq!(default_class(&classes), Some("new"));
        assert_eq!(default_class(&classes[1..2]), None);
    }

    #[test]
    fn claims_naming_a_class_or_none_keep_it() {
        assert!(names_class(&json!({"spec": {"storageClassName": ""}})));
        assert!(names_class(
            &json!({"metadata": {"annotations": {BETA_CLASS: "x"}}, "spec": {}})
        ));
        assert!(!names_class(&json!({"spec": {"storageClassName": null}})));
        assert!(!names_class(&json!({"spec": {}})));
    }
}
