//! Which objects server-side apply treats as one value (`x-kubernetes-map-type: atomic`): struct
//! types marked `+structType=atomic` and map fields marked `+mapType=atomic` in Kubernetes
//! v1.33's API types. k8s-openapi's schemas do not carry these, so the schema generator adds them.

use serde_json::{json, Map, Value};

/// Struct definitions replaced whole by apply, by full definition name.
const ATOMIC_STRUCTS: &[&str] = &[
    "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
    "io.k8s.api.core.v1.ConfigMapKeySelector",
    "io.k8s.api.core.v1.LocalObjectReference",
    "io.k8s.api.core.v1.NodeSelector",
    "io.k8s.api.core.v1.NodeSelectorTerm",
    "io.k8s.api.core.v1.ObjectFieldSelector",
    "io.k8s.api.core.v1.ObjectReference",
    "io.k8s.api.core.v1.ResourceFieldSelector",
    "io.k8s.api.core.v1.SecretKeySelector",
    "io.k8s.api.core.v1.SecretReference",
    "io.k8s.api.core.v1.TopologySelectorTerm",
    "io.k8s.api.core.v1.TypedLocalObjectReference",
];

/// Map fields replaced whole by apply: (definition, field).
const ATOMIC_MAP_FIELDS: &[(&str, &str)] = &[
    ("io.k8s.api.core.v1.PodSpec", "nodeSelector"),
    ("io.k8s.api.core.v1.ReplicationControllerSpec", "selector"),
    ("io.k8s.api.core.v1.ServiceSpec", "selector"),
];

/// Adds `x-kubernetes-map-type: atomic` where upstream's published schemas have it.
pub(super) fn add_map_types(schemas: &mut Map<String, Value>) {
    for name in ATOMIC_STRUCTS {
        if let Some(Value::Object(schema)) = schemas.get_mut(*name) {
            schema.insert("x-kubernetes-map-type".to_owned(), json!("atomic"));
        }
    }
    for (name, field) in ATOMIC_MAP_FIELDS {
        if let Some(Value::Object(property)) = schemas
            .get_mut(*name)
            .and_then(|d| d.get_mut("properties"))
            .and_then(|p| p.get_mut(*field))
        {
            property.insert("x-kubernetes-map-type".to_owned(), json!("atomic"));
        }
    }
}
