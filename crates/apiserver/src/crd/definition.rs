//! From a CustomResourceDefinition to the resource types the registry serves: one per served
//! version, all sharing one storage prefix.

use std::sync::Arc;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionNames, CustomResourceDefinitionVersion,
};
use serde_json::Value;

use super::schema::{CompileError, Schema};
use super::strategy::{CustomResourceStrategy, PublishedSchema};
use super::table::PrinterColumn;
use crate::registry::{ResourceType, Subresources};
use crate::strategy::ScalePaths;

/// Decodes a stored CRD.
///
/// # Errors
/// When the object does not decode as a CustomResourceDefinition.
pub fn decode(obj: &Value) -> Result<CustomResourceDefinition, serde_json::Error> {
    serde_json::from_value(obj.clone())
}

/// Upstream's version ordering: GA before beta before alpha, higher numbers first, then any
/// other names alphabetically.
pub fn version_priority(name: &str) -> (u8, i64, i64, String) {
    let parsed = name.strip_prefix('v').and_then(|rest| {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let major: i64 = rest[..digits].parse().ok()?;
        let tail = &rest[digits..];
        let (level, minor) = if tail.is_empty() {
            (0, 0)
        } else if let Some(n) = tail.strip_prefix("beta") {
            (1, n.parse().ok()?)
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (2, n.parse().ok()?)
        } else {
            return None;
        };
        Some((level, -major, -minor))
    });
    match parsed {
        Some((level, major, minor)) => (level, major, minor, String::new()),
        None => (3, 0, 0, name.to_owned()),
    }
}

/// A JSONPath like `.spec.replicas` as a JSON pointer (`/spec/replicas`).
pub fn pointer_of(path: &str) -> String {
    path.split('.')
        .filter(|s| !s.is_empty())
        .fold(String::new(), |acc, seg| format!("{acc}/{seg}"))
}

/// The resource types of `crd`'s served versions, named by its accepted `names`, in
/// discovery order (preferred version first).
///
/// # Errors
/// [`CompileError`] when a version's schema does not compile (validation keeps such CRDs out).
pub fn resource_types(
    crd: &CustomResourceDefinition,
    names: &CustomResourceDefinitionNames,
) -> Result<Vec<Arc<ResourceType>>, CompileError> {
    let spec = &crd.spec;
    let mut versions: Vec<&CustomResourceDefinitionVersion> =
        spec.versions.iter().filter(|v| v.served).collect();
    versions.sort_by_key(|v| version_priority(&v.name));
    let mut out = Vec::new();
    for version in versions {
        out.push(Arc::new(resource_type(crd, names, version)?));
    }
    Ok(out)
}

fn resource_type(
    crd: &CustomResourceDefinition,
    names: &CustomResourceDefinitionNames,
    version: &CustomResourceDefinitionVersion,
) -> Result<ResourceType, CompileError> {
    let props = version
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref());
    let schema = match props {
        Some(props) => Some(Arc::new(Schema::compile(props, "openAPIV3Schema")?)),
        None => None,
    };
    let published = props
        .and_then(|p| serde_json::to_value(p).ok())
        .map(|p| PublishedSchema::new(&crd.spec.group, &version.name, &names.kind, p));
    let subresources = version.subresources.as_ref();
    let scale = subresources
        .and_then(|s| s.scale.as_ref())
        .map(|s| ScalePaths {
            spec_replicas: pointer_of(&s.spec_replicas_path),
            status_replicas: pointer_of(&s.status_replicas_path),
            label_selector: s.label_selector_path.as_deref().map(pointer_of),
        });
    let status = subresources.is_some_and(|s| s.status.is_some());
    let mut columns: Vec<PrinterColumn> = version
        .additional_printer_columns
        .iter()
        .flatten()
        .filter_map(PrinterColumn::new)
        .collect();
    if version.additional_printer_columns.is_none() {
        columns.extend(PrinterColumn::age());
    }
    let group = crd.spec.group.clone();
    let plural = names.plural.clone();
    Ok(ResourceType {
        storage_prefix: format!("/registry/{group}/{plural}"),
        group,
        version: version.name.clone(),
        plural,
        singular: names
            .singular
            .clone()
            .unwrap_or_else(|| names.kind.to_lowercase()),
        kind: names.kind.clone(),
        namespaced: crd.spec.scope == "Namespaced",
        short_names: names.short_names.clone().unwrap_or_default(),
        categories: names.categories.clone().unwrap_or_default(),
        subresources: Subresources {
            status,
            scale: scale.is_some(),
            binding: false,
            eviction: false,
        },
        strategy: Arc::new(CustomResourceStrategy {
            schema,
            columns,
            scale,
            status_subresource: status,
            published,
        }),
        conversion: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_sort_ga_then_beta_then_alpha_then_others() {
        let mut v = vec![
            "v1alpha1", "foo", "v1beta1", "v2", "v1", "v10beta3", "v1beta2",
        ];
        v.sort_by_key(|n| version_priority(n));
        assert_eq!(
            v,
            vec!["v2", "v1", "v10beta3", "v1beta2", "v1beta1", "v1alpha1", "foo"]
        );
    }

    #[test]
    fn served_versions_become_types_sharing_one_storage_prefix() {
        let crd = decode(&json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "crontabs.stable.example.com"},
            "spec": {"group": "stable.example.com", "scope": "Namespaced",
                "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": ["ct"]},
                "versions": [
                    {"name": "v1beta1", "served": true, "storage": false, "schema": {"openAPIV3Schema": {"type": "object"}}},
                    {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object"}},
                     "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}}},
                    {"name": "v0", "served": false, "storage": false}
                ]}
        }));
        let crd = match crd {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let types = resource_types(&crd, &crd.spec.names).unwrap_or_default();
        let summary: Vec<(String, String, bool)> = types
            .iter()
            .map(|t| {
                (
                    t.version.clone(),
                    t.storage_prefix.clone(),
                    t.subresources.scale,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "v1".to_owned(),
                    "/registry/stable.example.com/crontabs".to_owned(),
                    true
                ),
                (
                    "v1beta1".to_owned(),
                    "/registry/stable.example.com/crontabs".to_owned(),
                    false
                ),
            ]
        );
        assert_eq!(types[0].short_names, vec!["ct".to_owned()]);
        assert!(types[0].namespaced);
    }
}
