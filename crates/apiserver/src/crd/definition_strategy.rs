//! The CustomResourceDefinition type's own strategy: the built-in typed checks, plus upstream's
//! CRD defaulting and validation. Missing required fields reach validation (422 with field
//! paths) instead of failing the typed decode (400).

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::validation::{default_definition, validate_definition};
use crate::error::Cause;
use crate::strategy::{Checked, NameRule, ScalePaths, SchemaProblem, Strategy};
use crate::table::{Column, IncludeObject};

/// Wraps the built-in strategy of CustomResourceDefinition.
pub struct DefinitionStrategy {
    inner: Arc<dyn Strategy>,
}

impl DefinitionStrategy {
    /// Adds CRD validation and defaulting to `inner`.
    pub fn new(inner: Arc<dyn Strategy>) -> Self {
        Self { inner }
    }
}

/// Sets `map[key]` to `value` when it is missing or null.
fn placeholder(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_owned(), value);
    }
}

/// Gives the fields the typed decode insists on an empty value, so validation can say they are
/// required.
fn fill_required(obj: &mut Value) {
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    placeholder(root, "spec", json!({}));
    let Some(spec) = root.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    for key in ["group", "scope"] {
        placeholder(spec, key, json!(""));
    }
    placeholder(spec, "names", json!({}));
    placeholder(spec, "versions", json!([]));
    if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
        placeholder(names, "plural", json!(""));
        placeholder(names, "kind", json!(""));
    }
    if let Some(conversion) = spec.get_mut("conversion").and_then(Value::as_object_mut) {
        placeholder(conversion, "strategy", json!(""));
    }
    for version in spec
        .get_mut("versions")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
    {
        placeholder(version, "name", json!(""));
        placeholder(version, "served", json!(false));
        placeholder(version, "storage", json!(false));
        if let Some(scale) = version
            .get_mut("subresources")
            .and_then(|s| s.get_mut("scale"))
            .and_then(Value::as_object_mut)
        {
            placeholder(scale, "specReplicasPath", json!(""));
            placeholder(scale, "statusReplicasPath", json!(""));
        }
        for column in version
            .get_mut("additionalPrinterColumns")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            for key in ["name", "type", "jsonPath"] {
                placeholder(column, key, json!(""));
            }
        }
    }
}

impl Strategy for DefinitionStrategy {
    fn check_schema(&self, obj: &Value) -> Result<Checked, SchemaProblem> {
        let mut filled = obj.clone();
        fill_required(&mut filled);
        self.inner.check_schema(&filled)
    }

    fn tracks_generation(&self) -> bool {
        self.inner.tracks_generation()
    }

    fn default(&self, obj: &mut Value) {
        self.inner.default(obj);
        default_definition(obj);
    }

    fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        let mut causes = self.inner.validate(obj, old);
        causes.extend(validate_definition(obj, old));
        causes
    }

    fn name_rule(&self) -> NameRule {
        self.inner.name_rule()
    }

    fn columns(&self) -> &[Column] {
        self.inner.columns()
    }

    fn table(&self, objects: &[Value], include: IncludeObject, list_metadata: Value) -> Value {
        self.inner.table(objects, include, list_metadata)
    }

    fn scale_paths(&self) -> Option<&ScalePaths> {
        self.inner.scale_paths()
    }

    fn drops_status_on_create(&self) -> bool {
        self.inner.drops_status_on_create()
    }

    fn json_schema(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        self.inner.json_schema(generator)
    }
}
