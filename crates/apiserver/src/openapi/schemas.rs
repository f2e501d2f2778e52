//! The component schemas of every served type, generated from the types' schemars
//! implementations and completed with the Kubernetes extensions clients rely on.

use std::collections::{BTreeSet, HashMap};

use schemars::generate::SchemaSettings;
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};

use super::patch_meta::TABLE;
use crate::registry::Index;

/// Where `$ref`s point.
pub(super) const REF_PREFIX: &str = "#/components/schemas/";

/// The definition name of the meta/v1 Status kind, used by error responses.
pub(super) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
/// The definition name of the meta/v1 DeleteOptions body.
pub(super) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
/// The definition name of a PATCH body.
pub(super) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
/// The definition name of the `/scale` subresource's kind.
pub(super) const SCALE: &str = "io.k8s.api.autoscaling.v1.Scale";

/// Group, version and kind of a served type.
pub type Gvk = (String, String, String);

/// Every definition reachable from the served kinds, and each kind's root definition.
pub struct Definitions {
    /// Component schemas by definition name, with patch and GVK extensions.
    pub schemas: Map<String, Value>,
    /// The root definition name of each served kind.
    pub roots: HashMap<Gvk, String>,
}

/// Generates the definitions of every type in `index`.
pub fn generate(index: &Index) -> Definitions {
    let mut generator: SchemaGenerator = SchemaSettings::openapi3().into_generator();
    let mut roots = HashMap::new();
    for t in &index.types {
        if let Some(root) = t.strategy.json_schema(&mut generator) {
            roots.insert((t.group.clone(), t.version.clone(), t.kind.clone()), root);
        }
    }
    use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
    generator.subschema_for::<meta::Status>();
    generator.subschema_for::<meta::DeleteOptions>();
    generator.subschema_for::<meta::Patch>();
    generator.subschema_for::<meta::ListMeta>();
    generator.subschema_for::<k8s_openapi::api::autoscaling::v1::Scale>();
    let mut schemas = generator.take_definitions(true);
    add_patch_metadata(&mut schemas);
    super::map_meta::add_map_types(&mut schemas);
    let mut gvks: Vec<(&str, &str, &str, &str)> = roots
        .iter()
        .map(|((g, v, k), root)| (g.as_str(), v.as_str(), k.as_str(), root.as_str()))
        .collect();
    gvks.push(("autoscaling", "v1", "Scale", SCALE));
    gvks.push(("", "v1", "Status", STATUS));
    for (group, version, kind, root) in gvks {
        add_gvk(
            &mut schemas,
            root,
            json!({"group": group, "kind": kind, "version": version}),
        );
    }
    Definitions { schemas, roots }
}

/// Marks `root` as the schema of the kind `gvk` (a kind may be served at several versions).
fn add_gvk(schemas: &mut Map<String, Value>, root: &str, gvk: Value) {
    let Some(Value::Object(schema)) = schemas.get_mut(root) else {
        return;
    };
    let entry = schema
        .entry("x-kubernetes-group-version-kind")
        .or_insert_with(|| json!([]));
    if let Value::Array(list) = entry {
        if !list.contains(&gvk) {
            list.push(gvk);
        }
    }
}

/// Adds `x-kubernetes-patch-*` and `x-kubernetes-list-*` to the fields that have them upstream.
fn add_patch_metadata(schemas: &mut Map<String, Value>) {
    for (prefix, definitions) in TABLE {
        for (name, fields) in *definitions {
            let Some(properties) = schemas
                .get_mut(&format!("{prefix}.{name}"))
                .and_then(|d| d.get_mut("properties"))
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for (field, strategy, merge_key, list_type, map_keys) in *fields {
                let Some(Value::Object(property)) = properties.get_mut(*field) else {
                    continue;
                };
                let mut set = |key: &str, value: &str| {
                    if !value.is_empty() {
                        property.insert(key.to_owned(), json!(value));
                    }
                };
                set("x-kubernetes-patch-strategy", strategy);
                set("x-kubernetes-patch-merge-key", merge_key);
                set("x-kubernetes-list-type", list_type);
                if !map_keys.is_empty() {
                    property.insert("x-kubernetes-list-map-keys".to_owned(), json!(map_keys));
                }
            }
        }
    }
}

/// The definitions reachable from `roots` through `$ref`s, by name, sorted.
pub fn reachable<'a>(schemas: &'a Map<String, Value>, roots: &[&str]) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = roots.to_vec();
    while let Some(name) = stack.pop() {
        let Some((name, schema)) = schemas.get_key_value(name) else {
            continue;
        };
        if seen.insert(name.as_str()) {
            collect_refs(schema, &mut stack);
        }
    }
    seen
}

fn collect_refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(target)) => {
                        out.extend(target.strip_prefix(REF_PREFIX));
                    }
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
