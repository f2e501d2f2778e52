//! The strategy of one served version of a custom resource: pruning, defaulting and validation
//! from the version's schema, printer columns, and the CRD's scale paths.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{json, Value};

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
    /// The version's schema as OpenAPI v3 publishes it, when it has one.
    pub published: Option<PublishedSchema>,
}

/// A custom resource version's `openAPIV3Schema` as it appears among the OpenAPI v3 components.
#[derive(Debug, Clone)]
pub struct PublishedSchema {
    /// The definition name: the group reversed, the version and the kind
    /// (`com.example.stable.v1.CronTab`), as upstream names it.
    pub name: String,
    /// The schema as the CRD declares it.
    pub schema: Value,
}

impl PublishedSchema {
    /// The published form of `schema` for `kind` at `group`/`version`.
    pub fn new(group: &str, version: &str, kind: &str, schema: Value) -> Self {
        let reversed: Vec<&str> = group.split('.').rev().collect();
        Self {
            name: format!("{}.{version}.{kind}", reversed.join(".")),
            schema,
        }
    }

    /// The component schema: the CRD's schema with the type and metadata fields every object
    /// has, `metadata` referring to ObjectMeta.
    fn component(&self, generator: &mut schemars::SchemaGenerator) -> Value {
        let mut schema = self.schema.clone();
        let Some(map) = schema.as_object_mut() else {
            return schema;
        };
        let object_meta = generator.subschema_for::<ObjectMeta>();
        let mut metadata = serde_json::to_value(object_meta).unwrap_or_else(|_| json!({}));
        if let Some(m) = metadata.as_object_mut() {
            m.insert("description".to_owned(), json!(METADATA_HELP));
        }
        map.entry("type").or_insert_with(|| json!("object"));
        let properties = map.entry("properties").or_insert_with(|| json!({}));
        if let Some(properties) = properties.as_object_mut() {
            properties.insert(
                "apiVersion".to_owned(),
                json!({"type": "string", "description": API_VERSION_HELP}),
            );
            properties.insert(
                "kind".to_owned(),
                json!({"type": "string", "description": KIND_HELP}),
            );
            properties.insert("metadata".to_owned(), metadata);
        }
        schema
    }
}

const API_VERSION_HELP: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_HELP: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const METADATA_HELP: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

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

    fn json_schema(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        let published = self.published.as_ref()?;
        let component = published.component(generator);
        generator
            .definitions_mut()
            .insert(published.name.clone(), component);
        Some(published.name.clone())
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
            published: None,
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

    #[test]
    fn published_schema_is_named_by_reversed_group_and_refers_to_object_meta() {
        let published = PublishedSchema::new(
            "stable.example.com",
            "v1",
            "CronTab",
            json!({"type": "object", "properties": {"spec": {"type": "object"}}}),
        );
        let s = CustomResourceStrategy {
            published: Some(published),
            ..strategy()
        };
        let mut generator = schemars::generate::SchemaSettings::openapi3().into_generator();
        let name = s.json_schema(&mut generator);
        assert_eq!(name.as_deref(), Some("com.example.stable.v1.CronTab"));
        let definitions = generator.take_definitions(true);
        let component = &definitions["com.example.stable.v1.CronTab"];
        assert_eq!(component["properties"]["spec"], json!({"type": "object"}));
        assert_eq!(component["properties"]["kind"]["type"], json!("string"));
        assert!(
            component["properties"]["metadata"]
                .to_string()
                .contains("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
            "{component}"
        );
        assert!(definitions.contains_key("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
    }
}
