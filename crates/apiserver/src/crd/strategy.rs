//! The strategy of one served version of a custom resource: pruning, defaulting and validation
//! from the version's schema, printer columns, and the CRD's scale paths.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::schema::{self, Schema};
use super::table::{self, PrinterColumn};
use crate::error::Cause;
use crate::strategy::{check_typed, Checked, NameRule, ScalePaths, SchemaProblem, Strategy};
use crate::table::{Column, IncludeObject};

/// What a custom resource version contributes to the request pipeline.
pub struct CustomResourceStrategy {
    /// The version's `openAPIV3Schema` (always present in apiextensions.k8s.io/v1).
    pub schema: Option<Arc<Schema>>,
    /// The columns after NAME.
    pub columns: Vec<PrinterColumn>,
    /// The scale subresource's paths, when it has one.
    pub scale: Option<ScalePaths>,
    /// Whether status is a subresource (then a create drops the status sent).
    pub status_subresource: bool,
}

impl Strategy for CustomResourceStrategy {
    fn check_schema(&self, obj: &Value) -> Result<Checked, SchemaProblem> {
        let mut normalized = obj.clone();
        let mut unknown = Vec::new();
        if let Some(metadata) = obj.get("metadata").filter(|m| !m.is_null()) {
            let checked = check_typed::<ObjectMeta>(metadata).map_err(|p| SchemaProblem {
                path: schema::child("metadata", &p.path),
                detail: p.detail,
            })?;
            unknown.extend(checked.unknown.iter().map(|u| schema::child("metadata", u)));
            normalized["metadata"] = checked.normalized;
        }
        if let Some(s) = &self.schema {
            unknown.extend(schema::prune(s, &mut normalized, true));
        }
        Ok(Checked {
            normalized,
            unknown,
        })
    }

    fn tracks_generation(&self) -> bool {
        true
    }

    fn default(&self, obj: &mut Value) {
        if let Some(s) = &self.schema {
            schema::apply_defaults(s, obj);
        }
    }

    fn validate(&self, obj: &Value, _old: Option<&Value>) -> Vec<Cause> {
        let Some(s) = &self.schema else {
            return Vec::new();
        };
        let mut body = obj.clone();
        if let Some(map) = body.as_object_mut() {
            // Type and metadata are the server's business, not the schema's.
            map.remove("metadata");
            map.remove("apiVersion");
            map.remove("kind");
        }
        schema::validate(s, &body, "")
    }

    fn name_rule(&self) -> NameRule {
        NameRule::Subdomain
    }

    fn columns(&self) -> &[Column] {
        // Cells come from JSONPaths, which a `Column` cannot carry: see `table`.
        &[]
    }

    fn table(&self, objects: &[Value], include: IncludeObject, list_metadata: Value) -> Value {
        table::table(&self.columns, objects, include, list_metadata)
    }

    fn scale_paths(&self) -> Option<&ScalePaths> {
        self.scale.as_ref()
    }

    fn drops_status_on_create(&self) -> bool {
        self.status_subresource
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strategy() -> CustomResourceStrategy {
        let s = Schema::from_json(
            &json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "replicas": {"type": "integer", "default": 1}}}}}),
        );
        CustomResourceStrategy {
            schema: s.ok().map(Arc::new),
            columns: Vec::new(),
            scale: None,
            status_subresource: true,
        }
    }

    #[test]
    fn schema_check_prunes_unknown_fields_and_metadata_extras() {
        let obj = json!({"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "a", "bogus": 1}, "spec": {"replicas": 2, "x": 1}});
        let checked = strategy().check_schema(&obj).ok();
        assert_eq!(
            checked.as_ref().map(|c| c.unknown.clone()),
            Some(vec!["metadata.bogus".to_owned(), "spec.x".to_owned()])
        );
        assert_eq!(
            checked.map(|c| c.normalized),
            Some(
                json!({"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "a"}, "spec": {"replicas": 2}})
            )
        );
    }

    #[test]
    fn wrong_typed_metadata_is_a_schema_problem() {
        let obj = json!({"metadata": {"name": "a", "labels": "x"}});
        assert_eq!(
            strategy().check_schema(&obj).err().map(|p| p.path),
            Some("metadata.labels".to_owned())
        );
    }

    #[test]
    fn defaults_then_validation_ignore_metadata() {
        let s = strategy();
        let mut obj =
            json!({"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "a"}, "spec": {}});
        s.default(&mut obj);
        assert_eq!(obj["spec"]["replicas"], json!(1));
        assert!(s.validate(&obj, None).is_empty());
        obj["spec"]["replicas"] = json!("two");
        assert_eq!(s.validate(&obj, None).len(), 1);
    }
}
