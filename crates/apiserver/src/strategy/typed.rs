//! The strategy of a built-in type, checked against its k8s-openapi struct.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::{schema, Checked, NameRule, SchemaProblem, Strategy};
use crate::error::Cause;
use crate::table::Column;

/// The per-kind functions of a built-in type; every field has a do-nothing default.
#[derive(Clone, Copy)]
pub struct Hooks {
    /// Upstream's defaulting.
    pub defaults: fn(&mut Value),
    /// Kind-specific validation.
    pub validate: fn(&Value, Option<&Value>) -> Vec<Cause>,
    /// How names must look.
    pub name_rule: NameRule,
    /// `kubectl get` columns.
    pub columns: &'static [Column],
    /// Whether `metadata.generation` counts spec changes.
    pub generation: bool,
}

impl Default for Hooks {
    fn default() -> Self {
        Self {
            defaults: |_| {},
            validate: |_, _| Vec::new(),
            name_rule: NameRule::Subdomain,
            columns: crate::table::DEFAULT_COLUMNS,
            generation: false,
        }
    }
}

/// A strategy for the k8s-openapi type `K`.
pub struct Typed<K> {
    hooks: Hooks,
    _kind: PhantomData<fn() -> K>,
}

/// Builds the strategy of `K` with `hooks`.
pub fn typed<K>(hooks: Hooks) -> Typed<K> {
    Typed {
        hooks,
        _kind: PhantomData,
    }
}

impl<K> Strategy for Typed<K>
where
    K: DeserializeOwned + Serialize + k8s_openapi::Resource + schemars::JsonSchema,
{
    fn check_schema(&self, obj: &Value) -> Result<Checked, SchemaProblem> {
        schema::check_typed::<K>(obj)
    }

    fn tracks_generation(&self) -> bool {
        self.hooks.generation
    }

    fn default(&self, obj: &mut Value) {
        (self.hooks.defaults)(obj)
    }

    fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        (self.hooks.validate)(obj, old)
    }

    fn name_rule(&self) -> NameRule {
        self.hooks.name_rule
    }

    fn columns(&self) -> &[Column] {
        self.hooks.columns
    }

    fn json_schema(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        generator.subschema_for::<K>();
        Some(K::schema_name().into_owned())
    }
}
